package scan

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// refSpans is Spans as a plain sorted, merged list popped by copying:
// the model the test compares against.
type refSpans []Span

func (r *refSpans) add(start, end int64) {
	l := append(*r, Span{start, end})
	slices.SortFunc(l, func(a, b Span) int { return int(a.Start - b.Start) })
	out := l[:0]
	for _, sp := range l {
		if n := len(out); n > 0 && out[n-1].End >= sp.Start {
			out[n-1].End = max(out[n-1].End, sp.End)
			continue
		}
		out = append(out, sp)
	}
	*r = out
}

// TestSpansPopAdd: adds (mostly in stream order, as the lanes report
// them, sometimes before ranges already held) and pops, past the
// compaction of popped ranges, keep the ranges a plain sorted, merged
// list keeps.
func TestSpansPopAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var s Spans
		var ref refSpans
		pos := int64(0)
		for step := range 2000 {
			switch r := rng.IntN(10); {
			case r < 6:
				start := pos + rng.Int64N(8)
				if rng.IntN(8) == 0 {
					start = max(0, pos-rng.Int64N(40)) // a lane reporting late
				}
				end := start + 1 + rng.Int64N(6)
				pos = max(pos, start)
				s.Add(start, end)
				ref.add(start, end)
			default:
				got, ok := s.First()
				if ok != (len(ref) > 0) || ok && got != ref[0] {
					t.Fatalf("round %d step %d: First = %v %v, want %v", round, step, got, ok, ref)
				}
				if ok {
					s.Pop()
					ref = ref[1:]
				}
			}
			if !slices.Equal(s.list[s.head:], []Span(ref)) {
				t.Fatalf("round %d step %d: spans %v, want %v", round, step, s.list[s.head:], ref)
			}
		}
	}
}
