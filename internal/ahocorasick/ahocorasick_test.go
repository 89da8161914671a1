package ahocorasick

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// naive returns, for each end position, the longest pattern ending there.
func naive(patterns [][]byte, text []byte) map[int]int {
	got := map[int]int{}
	for _, p := range patterns {
		if len(p) == 0 {
			continue
		}
		for i := 0; i+len(p) <= len(text); i++ {
			if bytes.Equal(text[i:i+len(p)], p) {
				got[i+len(p)-1] = max(got[i+len(p)-1], len(p))
			}
		}
	}
	return got
}

func scanAll(m *Matcher, text []byte, cuts ...int) map[int]int {
	got := map[int]int{}
	var st State
	prev := 0
	for _, c := range append(cuts, len(text)) {
		off := prev
		st = m.Scan(st, text[prev:c], func(i, n int) { got[off+i] = n })
		prev = c
	}
	return got
}

func equal(a, b map[int]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 100 {
		// Small alphabets make overlaps and deep failure chains common;
		// many patterns push states past the dense rows.
		alpha := 2 + rng.IntN(4)
		np := 1 + rng.IntN(300)
		var patterns [][]byte
		for range np {
			p := make([]byte, rng.IntN(12))
			for i := range p {
				p[i] = 'a' + byte(rng.IntN(alpha))
			}
			patterns = append(patterns, p)
		}
		text := make([]byte, 1500)
		for i := range text {
			text[i] = 'a' + byte(rng.IntN(alpha+1))
		}
		m := New(patterns)
		want := naive(patterns, text)
		if got := scanAll(m, text); !equal(got, want) {
			t.Fatalf("round %d: %d patterns: matches differ (%d vs %d)", round, np, len(got), len(want))
		}
		a, b := rng.IntN(len(text)), rng.IntN(len(text))
		if got := scanAll(m, text, min(a, b), max(a, b)); !equal(got, want) {
			t.Fatalf("round %d: split scan differs", round)
		}
	}
}

func TestNoPatterns(t *testing.T) {
	m := New(nil)
	if got := scanAll(m, []byte("anything")); len(got) != 0 || m.MaxLen() != 0 {
		t.Fatalf("matches without patterns: %v", got)
	}
}

// FuzzAgainstNaive: the automaton reports what a naive search finds, for
// any patterns and text, scanned whole or in two pieces.
func FuzzAgainstNaive(f *testing.F) {
	f.Add([]byte("ab\x00abab\x00b"), []byte("abababbab"), uint16(4))
	f.Add([]byte("he\x00she\x00his\x00hers"), []byte("ushers"), uint16(2))
	f.Fuzz(func(t *testing.T, pats, text []byte, cut uint16) {
		patterns := bytes.Split(pats, []byte{0})
		m := New(patterns)
		want := naive(patterns, text)
		if got := scanAll(m, text); !equal(got, want) {
			t.Fatalf("whole: %v, want %v", got, want)
		}
		c := int(cut) % (len(text) + 1)
		if got := scanAll(m, text, c); !equal(got, want) {
			t.Fatalf("cut at %d: %v, want %v", c, got, want)
		}
	})
}
