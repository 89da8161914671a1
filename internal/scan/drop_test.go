package scan

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// dropInputs are a value's start followed by escapes that the sgr or
// codePoint view drops, without end: what a job can write to keep a
// match in progress forever.
var dropInputs = []struct {
	name       string
	head, unit string
}{
	{"colour", "alp", "\x1b[31m"},
	{"erase in line", "alp", "\x1b[K"},
	{"yaml fold", `"alp`, "\\\n  "},
}

// TestDropHoldBounded: a value's start followed by dropped escapes
// (colour codes, erase-in-line, YAML line folds) without end is held at
// most maxSpan bytes plus one piece: the scanner's Hold keeps up with the
// stream, the value's start is masked, and the escapes after the cap are
// passed on, not masked.
func TestDropHoldBounded(t *testing.T) {
	const v = "alphaSECRET111111"
	s := Compile([][]byte{[]byte(v)}, 6)
	bound := s.maxSpan() + 64 // + one escape and the piece's rest
	for _, in := range dropInputs {
		t.Run(in.name, func(t *testing.T) {
			sc := NewScanner(s)
			var out Spans
			piece := []byte(strings.Repeat(in.unit, 1000))
			sc.Scan([]byte(in.head), 0, &out)
			off := int64(len(in.head))
			worst := int64(0)
			for range 200 { // 1 MB or so
				sc.Scan(piece, off, &out)
				off += int64(len(piece))
				worst = max(worst, off-sc.Hold(off))
			}
			if worst > bound {
				t.Fatalf("held up to %d bytes, want at most %d", worst, bound)
			}
			sc.Finish(off, &out)
			head := int64(strings.Index(in.head, "a"))
			masked := int64(0)
			for _, sp := range out.All() {
				masked += sp.End - sp.Start
			}
			if len(out.All()) == 0 || out.All()[0].Start != head || masked > bound {
				t.Fatalf("masked %v (%d bytes), want the value's start masked and at most %d bytes", out.All(), masked, bound)
			}
		})
	}
}

// TestDropCapMasksValue: a value whose bytes are separated by dropped
// escapes is masked whole, byte by byte, whether its colour codes stay
// within the cap (one span, the codes in it) or exceed it (from its
// start to its end, with the codes after the cap passed on): the cap
// never shows a byte of it.
func TestDropCapMasksValue(t *testing.T) {
	const v = "alphaSECRET111111"
	s := Compile([][]byte{[]byte(v)}, 6)
	for _, c := range []struct {
		name  string
		codes string // between each two bytes of the value
		whole bool   // masked as one span
	}{
		{"grep --color each byte", "\x1b[m\x1b[K\x1b[01;31m\x1b[K", true},
		{"truecolor each byte", "\x1b[0m\x1b[38;2;255;100;0m", true},
		{"past the cap each byte", strings.Repeat("\x1b[31m", 100), false},
		{"past the cap after 3 bytes", "", false},
		{"yaml fold past the cap", strings.Repeat("\\\n  ", 200), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("x \"")
			var at []int // where the value's bytes are
			for i := range len(v) {
				if i > 0 {
					b.WriteString(c.codes)
				}
				if c.name == "past the cap after 3 bytes" && i == 3 {
					b.WriteString(strings.Repeat("\x1b[K", 1000))
				}
				at = append(at, b.Len())
				b.WriteByte(v[i])
			}
			b.WriteString("\" y")
			text := []byte(b.String())
			for _, cuts := range [][]int{nil, {len(text) / 3, len(text) / 2}} {
				got := scanPieces(s, text, cuts...)
				for _, i := range at {
					if !covered(got, int64(i)) {
						t.Fatalf("cuts %v: byte %d of the value (%q) is shown: %v", cuts, i, text[i], got)
					}
				}
				if c.whole && (len(got) != 1 || got[0].Start != int64(at[0]) || got[0].End != int64(at[len(at)-1]+1)) {
					t.Fatalf("cuts %v: %v, want one span [%d, %d)", cuts, got, at[0], at[len(at)-1]+1)
				}
			}
			checkHold(t, s, text, rand.New(rand.NewPCG(7, 8)), 9)
		})
	}
}

func covered(spans []Span, i int64) bool {
	for _, sp := range spans {
		if sp.Start <= i && i < sp.End {
			return true
		}
	}
	return false
}

// TestDropWildPassesEscapes: once the candidate cap has gone wild in
// the sgr view, colour codes between the masked bytes are passed on, and
// what the lane masked before the first of them stays masked.
func TestDropWildPassesEscapes(t *testing.T) {
	v := bytes.Repeat([]byte("!#"), 200)
	s := Compile([][]byte{append(v, '&')}, 6)
	text := append([]byte("(("), bytes.Repeat([]byte("!#"), 40)...)
	for range 200 {
		text = append(text, "\x1b[31m!#"...)
	}
	got := scanPieces(s, text)
	if len(got) == 0 || got[0].Start != 2 {
		t.Fatalf("got %v", got[:min(len(got), 4)])
	}
	if !covered(got, int64(len(text)-1)) || covered(got, int64(len(text)-3)) {
		t.Fatalf("the last '!#' should be masked and the colour code before it not: %v", got[len(got)-2:])
	}
}
