package scan

// All returns the ranges held, earliest first, for the tests. The slice
// is the set's own until its next change.
func (s *Spans) All() []Span {
	s.settle()
	return s.list[s.head:]
}
