package scan

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"slices"
	"strconv"
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
			if !slices.Equal(s.All(), []Span(ref)) {
				t.Fatalf("round %d step %d: spans %v, want %v", round, step, s.All(), ref)
			}
		}
	}
}

// TestSpansTwoPasses: ranges added as the scanner adds them for one piece
// (every text match, then every base64 match, each pass in stream order)
// and as a writer's layers do, then popped, keep the ranges a plain
// sorted, merged list keeps.
func TestSpansTwoPasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		var s Spans
		var ref refSpans
		base := int64(0)
		for range 20 { // pieces
			for range 1 + rng.IntN(3) { // passes
				pos := base
				for range rng.IntN(50) {
					start := pos + rng.Int64N(30)
					end := start + 1 + rng.Int64N(12)
					pos = start
					s.Add(start, end)
					ref.add(start, end)
				}
			}
			base += 1000
			for range rng.IntN(40) {
				got, ok := s.First()
				if ok != (len(ref) > 0) || ok && got != ref[0] {
					t.Fatalf("round %d: First = %v %v, want %v", round, got, ok, ref)
				}
				if !ok {
					break
				}
				s.Pop()
				ref = ref[1:]
			}
			if !slices.Equal(s.All(), []Span(ref)) {
				t.Fatalf("round %d: spans %v, want %v", round, s.All(), ref)
			}
		}
	}
}

// BenchmarkSpansTwoPasses: a piece of k text matches, then k base64
// matches between them, as Scan adds them; then popped. Inserting each
// base64 match in place cost O(k) (a trial's 1 MiB write: 6.5 s).
func BenchmarkSpansTwoPasses(b *testing.B) {
	for _, k := range []int{1_000, 100_000} {
		b.Run(strconv.Itoa(k), func(b *testing.B) {
			var s Spans
			for b.Loop() {
				for i := range int64(k) {
					s.Add(20*i, 20*i+6)
				}
				for i := range int64(k) {
					s.Add(20*i+10, 20*i+16)
				}
				for {
					if _, ok := s.First(); !ok {
						break
					}
					s.Pop()
				}
			}
		})
	}
}

// BenchmarkScanTextAndBase64: one piece of n bytes, half base64 of a value
// a line, half the value a line (a redaction trial's input: each base64
// match was inserted before every text match of the piece, 6.8 s at
// 1 MiB). Linear: the 1 MiB piece costs about four times the 256 KiB one.
func BenchmarkScanTextAndBase64(b *testing.B) {
	v := []byte("Tok3n9")
	s := Compile([][]byte{v}, 6)
	for _, n := range []int{256 << 10, 1 << 20} {
		line64 := []byte(base64.StdEncoding.EncodeToString(v) + "\n")
		line := append(slices.Clone(v), '\n')
		in := append(bytes.Repeat(line64, n/2/len(line64)), bytes.Repeat(line, n/2/len(line))...)
		b.Run(strconv.Itoa(n>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			var out Spans
			for b.Loop() {
				out.Reset()
				NewScanner(s).Scan(in, 0, &out)
				if len(out.All()) == 0 {
					b.Fatal("nothing found")
				}
			}
		})
	}
}
