package scan

import (
	"cmp"
	"slices"
)

// maxCands bounds the candidates a lane follows at once; see the package
// doc.
const maxCands = 32

// A Span is a range [Start, End) of stream offsets.
type Span struct{ Start, End int64 }

// Spans is a set of matched ranges, kept sorted and merged: ranges that
// overlap or touch become one. Popped ranges stay at the front of list
// until they are half of it, so that popping each of k ranges costs O(k)
// in all, not O(k²) (a job printing a secret's value on every line).
//
// A range that starts before more than a few of those held (the base64
// pass after the text lanes over the same piece, a second layer of
// patterns) waits in pend, and the next read merges them all at once: inserting each in place
// cost a walk and a move of every later range, O(k²) for a piece holding
// k of each (a redaction trial: 6.5 s for 1 MiB).
type Spans struct {
	list []Span
	head int    // list[:head] are popped
	pend []Span // added out of order, not yet in list
	tmp  []Span // settle's scratch
}

// Add adds the range [start, end).
func (s *Spans) Add(start, end int64) {
	l, h := s.list, s.head
	i := len(l)
	for i > h && l[i-1].Start > start {
		if len(l)-i == maxWalk {
			s.pend = append(s.pend, Span{start, end})
			return
		}
		i--
	}
	// l[h:i] start at or before start; merge with the last of them if it
	// reaches start, then with every following range that begins by end.
	if i > h && l[i-1].End >= start {
		i--
		start = l[i].Start
		end = max(end, l[i].End)
	}
	j := i
	for j < len(l) && l[j].Start <= end {
		end = max(end, l[j].End)
		j++
	}
	s.list = slices.Replace(l, i, j, Span{start, end})
}

// maxWalk is how many later ranges Add steps back over to put a range in
// place (a lane reporting a match a little late, as usual); one that
// starts before more waits in pend.
const maxWalk = 8

// settle merges the ranges added out of order into list, in one pass.
func (s *Spans) settle() {
	if len(s.pend) == 0 {
		return
	}
	slices.SortFunc(s.pend, func(a, b Span) int { return cmp.Compare(a.Start, b.Start) })
	live := s.list[s.head:]
	out := s.tmp[:0]
	i, j := 0, 0
	for i < len(live) || j < len(s.pend) {
		var sp Span
		if j == len(s.pend) || i < len(live) && live[i].Start <= s.pend[j].Start {
			sp, i = live[i], i+1
		} else {
			sp, j = s.pend[j], j+1
		}
		if k := len(out); k > 0 && out[k-1].End >= sp.Start {
			out[k-1].End = max(out[k-1].End, sp.End)
			continue
		}
		out = append(out, sp)
	}
	s.tmp = s.list[:0]
	s.list, s.head, s.pend = out, 0, s.pend[:0]
}

// First returns the earliest range, if any.
func (s *Spans) First() (Span, bool) {
	s.settle()
	if s.head == len(s.list) {
		return Span{}, false
	}
	return s.list[s.head], true
}

// Pop removes the earliest range.
func (s *Spans) Pop() {
	s.settle()
	s.head++
	switch {
	case s.head >= len(s.list):
		s.Reset()
	case s.head >= 64 && 2*s.head >= len(s.list):
		n := copy(s.list, s.list[s.head:])
		s.list, s.head = s.list[:n], 0
	}
}

// Reset removes every range.
func (s *Spans) Reset() { s.list, s.head, s.pend = s.list[:0], 0, s.pend[:0] }

// A cand follows the patterns pats[lo:hi], which all begin with the d
// bytes seen since start and are all longer than d.
type cand struct {
	lo, hi int32
	d      uint32
	start  int64
}

// A lane matches one decoded view of the stream: the automaton's state,
// the candidates past an anchor, and where each of the last bytes it was
// fed began in the stream.
type lane struct {
	raw   bool // the raw lane: byte i of the stream is the i-th fed, so no ring
	st    int32
	cands []cand
	// wild stands for more candidates than maxCands: from wildStart, all
	// is masked for wildLeft more bytes (reported as they come).
	wild      bool
	wildStart int64
	wildLeft  int
	ring      [16]int64 // ring[i&15]: stream offset where the i-th byte fed began
	n         uint32    // bytes fed
	// hitEnd is where the last match the lane reported ended (base64
	// lanes use it to expect the padding after it).
	hitEnd int64
}

// push feeds the lane byte b, decoded from the stream range [start, end).
func (l *lane) push(s *Set, b byte, start, end int64, out *Spans) {
	if !l.idle(s, b) {
		l.step(s, b, start, end, out)
	}
}

// idle reports whether b leaves the lane at rest, at the root without a
// candidate: then no later match reaches back to b, and feeding it can be
// skipped.
func (l *lane) idle(s *Set, b byte) bool {
	return s.idle[b] && l.st == 0 && len(l.cands) == 0 && !l.wild
}

// step feeds b to a lane that it does not leave at rest.
func (l *lane) step(s *Set, b byte, start, end int64, out *Spans) {
	if b == '+' {
		b = ' '
	}
	if !l.raw {
		l.ring[l.n&15] = start
		l.n++
	}
	if len(l.cands) > 0 {
		l.advance(s, b, end, out)
	}
	if l.wild {
		// Mask as it goes, so that nothing is held for it.
		out.Add(l.wildStart, end)
		l.wildStart = end
		l.wildLeft--
		l.wild = l.wildLeft > 0
	}
	t, hit := s.step(l.st, b)
	l.st = t
	if hit {
		l.hit(s, t, end, out)
	}
}

// hit handles reaching node t, which ends a pattern or an anchor.
func (l *lane) hit(s *Set, t int32, end int64, out *Spans) {
	if k := s.outLen[t]; k != 0 {
		out.Add(l.startOf(int(k), end), end)
		l.hitEnd = end
	}
	if t < s.levels[anchorLen] {
		return
	}
	g := s.groups[t-s.levels[anchorLen]]
	if g.lo == g.hi {
		return
	}
	start := l.startOf(anchorLen, end)
	if !l.wild && len(l.cands) < maxCands {
		l.cands = append(l.cands, cand{g.lo, g.hi, anchorLen, start})
		return
	}
	// Too many to follow: mask from the first of them for as long as the
	// longest pattern, and from now on extend that instead.
	if !l.wild {
		l.wild, l.wildStart = true, start
		for _, c := range l.cands {
			l.wildStart = min(l.wildStart, c.start)
		}
		l.cands = l.cands[:0]
	}
	l.wildLeft = s.maxLen - anchorLen
}

// startOf returns where the k-th last byte fed began, the last one
// ending at end.
func (l *lane) startOf(k int, end int64) int64 {
	if l.raw {
		return end - int64(k)
	}
	return l.ring[(l.n-uint32(k))&15]
}

// advance moves every candidate on by b, which ends at stream offset end.
func (l *lane) advance(s *Set, b byte, end int64, out *Spans) {
	j := 0
	for _, c := range l.cands {
		alive, matched := s.narrow(&c, b)
		if matched {
			out.Add(c.start, end)
			l.hitEnd = end
		}
		if alive {
			l.cands[j] = c
			j++
		}
	}
	l.cands = l.cands[:j]
}

// hold returns the earliest stream offset where a match in progress may
// begin, or h if that is earlier; end is where the last byte fed ended,
// if the automaton is past the root.
func (l *lane) hold(s *Set, h, end int64) int64 {
	for _, c := range l.cands {
		h = min(h, c.start)
	}
	if l.wild {
		h = min(h, l.wildStart)
	}
	if d := s.depth(l.st); d > 0 {
		h = min(h, l.startOf(d, end))
	}
	return h
}

// finish reports what the lane masks for candidates it could not follow,
// and resets it: the stream ends, or this view of it does.
func (l *lane) finish(last int64, out *Spans) {
	if l.wild {
		out.Add(l.wildStart, last)
	}
	l.reset()
}

func (l *lane) reset() {
	l.st, l.cands, l.wild, l.n, l.hitEnd = 0, l.cands[:0], false, 0, 0
}

// copyRaw makes l the same as the raw lane, whose bytes up to offset at
// it has been fed, with the ring a view needs.
func (l *lane) copyRaw(raw *lane, at int64) {
	cands := append(l.cands[:0], raw.cands...)
	*l = *raw
	l.raw, l.cands, l.n = false, cands, 16
	for k := range 16 {
		l.ring[k] = at - 16 + int64(k)
	}
}
