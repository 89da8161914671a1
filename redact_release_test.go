package secrets_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// A live line's release, driven as a job's stream does it after Quiet
// without output: what it writes of a value, and the mask once the value
// is complete, whatever the value follows (a mask, text, or nothing).
func TestReleaseThenRestMasked(t *testing.T) {
	const v, u = "tok_live_7d3f9a12", "pw_9f8e7d6c5b4a"
	r := secrets.NewRedactor([][]byte{[]byte(v), []byte(u)}, nil)
	for _, c := range []struct {
		name  string
		parts []string // written in turn, with a release between two
		live  []string // the output after each release
		want  string
	}{
		{"rest of the same value", []string{"x " + v[:4], v[4:] + " Y\n"},
			[]string{"x tok_"}, "x tok_*** Y\n"},
		{"released right after a mask", []string{"a " + v + v[:8], v[8:] + " Y\n"},
			[]string{"a ***tok_live"}, "a ***tok_live*** Y\n"},
		{"released after a mask and a space", []string{"b " + v + " " + v[:8], v[8:] + " Y\n"},
			[]string{"b *** tok_live"}, "b *** tok_live*** Y\n"},
		{"two adjacent values both released", []string{"c " + v[:4], v[4:] + u[:4], u[4:] + " Y\n"},
			[]string{"c tok_", "c tok_***pw_9"}, "c tok_***pw_9*** Y\n"},
		{"the same value twice, both released", []string{"d " + v[:8], v[8:] + v[:8], v[8:] + "\n"},
			[]string{"d tok_live", "d tok_live***tok_live"}, "d tok_live***tok_live***\n"},
		{"two releases of one value", []string{"e " + v[:4], v[4:8], v[8:12], v[12:] + "\n"},
			[]string{"e tok_", "e tok_live", "e tok_live"}, "e tok_live***\n"},
		{"more than 8 bytes after a mask stay held", []string{"f " + v + v[:10], v[10:] + "\n"},
			[]string{"f ***"}, "f ***\n"},
		{"released after a mask, then no value", []string{"g " + v + v[:8], "Z Y\n"},
			[]string{"g ***tok_live"}, "g ***tok_liveZ Y\n"},
		{"released after a mask, then a value further on", []string{"h " + v + v[:8], "Z" + u + "\n"},
			[]string{"h ***tok_live"}, "h ***tok_liveZ***\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			w := r.NewWriter(&out)
			for i, p := range c.parts {
				if i > 0 {
					secrets.Release(w, secrets.ReleaseMax)
					if got := out.String(); got != c.live[i-1] {
						t.Fatalf("after release %d: %q, want %q", i, got, c.live[i-1])
					}
				}
				if _, err := w.Write([]byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != c.want {
				t.Fatalf("%q, want %q", got, c.want)
			}
			// Without the releases, no value shows.
			if got := string(r.Redact([]byte(strings.Join(c.parts, "")))); strings.Contains(got, v[:4]) != strings.Contains(c.want, "Z") {
				t.Fatalf("one shot: %q", got)
			}
		})
	}
}

// FuzzRedactRelease: for any text and values, written in pieces with
// releases at any points between them, the output is the one written
// without releases except where it masks: there it may show, before each
// mask, at most ReleaseMax bytes of the text (released while the match
// was undecided), and every such run is followed by a mask. So no value
// shows whole, at most ReleaseMax bytes of a value show per release, and a
// value completed after a release has its rest masked.
func FuzzRedactRelease(f *testing.F) {
	const v = "tok_live_7d3f9a12"
	f.Add([]byte("a "+v+v+" Y\n"), []byte(v), []byte("pw_9f8e7d6c5b4a"), []byte{2*27 + 1})
	f.Add([]byte("b "+v+" "+v+" Y\n"), []byte(v), []byte("zzzzzz"), []byte{2*28 + 1})
	f.Add([]byte("c tok_live_7d3f9a12pw_9f8e7d6c5b4a Y"), []byte(v), []byte("pw_9f8e7d6c5b4a"), []byte{2*6 + 1, 2*17 + 1})
	f.Add([]byte("x abcdefghi y abcdef"), []byte("abcdef"), []byte("defghi"), []byte{5, 7, 9, 3})
	f.Add([]byte("token=czNjcjN0LXQwazNu&x"), []byte("s3cr3t-t0k3n"), []byte("zzzzzz"), []byte{21, 9, 3})
	f.Add([]byte("it%27s 'it'\\''s' \\u00e9\\\\"), []byte("it's é\\ \"x\"\x1b"), []byte("%%%%%%"), []byte{9, 1, 1, 5})
	f.Fuzz(func(t *testing.T, text, v1, v2, plan []byte) {
		// The mask's own character, in a value or the text, would make
		// the masks ambiguous (documented).
		if bytes.ContainsRune(v1, '*') || bytes.ContainsRune(v2, '*') {
			return
		}
		text = bytes.ReplaceAll(text, []byte("*"), []byte("#"))
		r := secrets.NewRedactor([][]byte{v1, v2}, nil)
		want := r.Redact(text)
		var out bytes.Buffer
		w := r.NewWriter(&out)
		at := 0
		// Each byte of plan writes up to 31 bytes of the text, then
		// releases if its low bit is set.
		for _, b := range plan {
			n := min(int(b>>1)%32, len(text)-at)
			if _, err := w.Write(text[at : at+n]); err != nil {
				t.Fatal(err)
			}
			at += n
			if b&1 != 0 {
				secrets.Release(w, secrets.ReleaseMax)
			}
		}
		w.Write(text[at:])
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		got := out.Bytes()
		for _, v := range [][]byte{v1, v2} {
			if len(v) >= 6 && bytes.Contains(got, v) {
				t.Fatalf("output %q holds value %q", got, v)
			}
		}
		// want's masks become, in got, runs of at most ReleaseMax bytes
		// each followed by a mask; its text stays as it is.
		if !releasedFrom(strings.Split(string(got), "***"), strings.Split(string(want), "***")) {
			t.Fatalf("%q with releases: %q, without: %q", text, got, want)
		}
		// What shows is the text's own bytes, in order.
		rest := text
		for _, c := range bytes.ReplaceAll(got, []byte("***"), nil) {
			i := bytes.IndexByte(rest, c)
			if i < 0 {
				t.Fatalf("%q with releases: %q shows bytes not in the text", text, got)
			}
			rest = rest[i+1:]
		}
	})
}

// releasedFrom reports whether got, the output with releases cut at its
// masks, is want, the output without, cut likewise, where each mask
// became one or more runs of at most ReleaseMax bytes, each followed by a
// mask.
func releasedFrom(got, want []string) bool {
	type at struct{ i, j int }
	memo := map[at]bool{}
	// match: got[j:] is want[i:], with the first run of want[i]'s
	// mask appended to got[j].
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if i == len(want)-1 {
			return j == len(got)-1 && got[j] == want[i]
		}
		if j >= len(got)-1 || !strings.HasPrefix(got[j], want[i]) || len(got[j])-len(want[i]) > secrets.ReleaseMax {
			return false
		}
		if ok, seen := memo[at{i, j}]; seen {
			return ok
		}
		ok := false
		for k := j + 1; k < len(got); k++ {
			if match(i+1, k) {
				ok = true
				break
			}
			if k == len(got)-1 || len(got[k]) > secrets.ReleaseMax {
				break
			}
		}
		memo[at{i, j}] = ok
		return ok
	}
	return match(0, 0)
}
