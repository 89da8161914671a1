package scan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// pyASCII returns Python's ascii() of s (repr of a str, with every
// character that is not ASCII escaped: \xhh up to U+00FF, \uhhhh, then
// \Uhhhhhhhh).
func pyASCII(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(q):
			b.WriteString(`\` + string(r))
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// yamlQuoted returns s as PyYAML's yaml.dump writes a string that is not
// printable ASCII: double-quoted, with its escapes (emitter.py,
// ESCAPE_REPLACEMENTS, then \xHH, \uHHHH, \UHHHHHHHH), without folding.
func yamlQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if e, ok := yamlEscapes[r]; ok {
			b.WriteString(`\` + e)
			continue
		}
		switch {
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var yamlEscapes = map[rune]string{
	0: "0", '\a': "a", '\b': "b", '\t': "t", '\n': "n", '\v': "v", '\f': "f", '\r': "r", 0x1b: "e",
	'"': `"`, '\\': `\`, 0x85: "N", 0xa0: "_", 0x2028: "L", 0x2029: "P",
}

// covers reports whether one of spans covers text[from:to].
func covers(spans []Span, from, to int) bool {
	for _, sp := range spans {
		if sp.Start <= int64(from) && sp.End >= int64(to) {
			return true
		}
	}
	return false
}

// TestCodePointView: \xHH read as the code point U+00HH (Python's str
// repr, ascii(), %a; YAML's double-quoted scalars) and YAML's own escapes
// and line folds are found, in one piece and byte by byte, and \xHH read
// as a byte (C, bash, Python's bytes repr) still is.
func TestCodePointView(t *testing.T) {
	const long = "The-quick-brown-fox-jumps-over-the-lazy-dog-0123456789-ABCDE" +
		"Passw\u00f6rd \u00a0\u0085\u2028\u2029\x0012 tail Sphinx-of-black-quartz-judge-my-vow-2468"
	for _, c := range []struct{ value, form string }{
		{"Passw\u00f6rd-2024!", `token: "Passw\xF6rd-2024!"`},                  // yaml.dump
		{"tok\u00a0en-value-1", `'tok\xa0en-value-1'`},                         // repr
		{"caf\u00e9 \u20ac-token", `'caf\xe9 \u20ac-token'`},                   // ascii(), %a
		{"caf\u00e9 \u20ac-token", `"caf\xE9 \u20AC-token"`},                   // yaml.dump
		{"Passw\u00f6rd-2024!", `b'Passw\xc3\xb6rd-2024!'`},                    // bytes repr: still the byte reading
		{"Passw\u00f6rd-2024!", `$'Passw\303\266rd-2024!'`},                    // bash: still octal bytes
		{"nb\u00a0sp nel\u0085 ls\u2028 ps\u2029", `"nb\_sp nel\N ls\L ps\P"`}, // YAML's letters
		{"nul\x0012 esc\x1b bell\a vt\v", `"nul\012 esc\e bell\a vt\v"`},       // YAML's \0 before digits
		{"a/b\tc d", `"a\/b\	c\ d"`},                                           // YAML's \/, \TAB, \space
		// yaml.dump of a long value, folded at 80 columns, at two depths
		// (with CRLF for the second).
		{long, `t: "` + long[:60] + `Passw\xF6rd \_\N\L\` + "\n" + `  \P\012 tail ` + long[len(long)-40:] + `"`},
		{long, "a:\n  b:\n    c: \"" + long[:60] + `Passw\xF6rd \_\` + "\r\n" + `      \N\L\P\012 tail ` + long[len(long)-40:] + `"`},
	} {
		s := Compile([][]byte{[]byte(c.value)}, 6)
		text := "before " + c.form + " after"
		from := strings.Index(text, c.form) + 2
		if c.form[0] == '$' || c.form[0] == 'b' {
			from++
		}
		to := len(text) - len(" after") - 1
		if i := strings.Index(c.form, `: "`); i >= 0 {
			from = strings.Index(text, c.form) + i + 3
		}
		cuts := make([]int, len(text))
		for i := range cuts {
			cuts[i] = i
		}
		whole, bytewise := scanPieces(s, []byte(text)), scanPieces(s, []byte(text), cuts...)
		if !covers(whole, from, to) || !slices.Equal(whole, bytewise) {
			t.Errorf("%q in %q: matches %v, byte by byte %v, want [%d, %d)", c.value, text, whole, bytewise, from, to)
		}
	}
}

// TestFoldDepth: a value that yaml.dump folds across lines is found when
// the next line is indented by at most 21 spaces, the deepest fold an
// escape of len(view.tok) bytes holds (backslash, LF, 21 spaces, the next
// byte), as the README says; one indented by 22 is not masked at all.
// After a CRLF break, which yaml.dump writes only when asked, the limit is
// 20.
func TestFoldDepth(t *testing.T) {
	const value = "Fold-depth-canary-0123456789-abcdef"
	s := Compile([][]byte{[]byte(value)}, 6)
	for _, c := range []struct {
		indent int
		crlf   bool
		found  bool
	}{{0, false, true}, {1, false, true}, {20, false, true}, {21, false, true}, {22, false, false}, {30, false, false},
		{20, true, true}, {21, true, false}} {
		eol := "\n"
		if c.crlf {
			eol = "\r\n" // the CR takes one of the fold's bytes
		}
		form := `"` + value[:12] + "\\" + eol + strings.Repeat(" ", c.indent) + value[12:] + `"`
		text := "k: " + form + " after"
		from, to := len("k: \""), len(text)-len("\" after")
		cuts := make([]int, len(text))
		for i := range cuts {
			cuts[i] = i
		}
		whole, bytewise := scanPieces(s, []byte(text)), scanPieces(s, []byte(text), cuts...)
		if !slices.Equal(whole, bytewise) {
			t.Errorf("indent %d (crlf %t): matches %v, byte by byte %v", c.indent, c.crlf, whole, bytewise)
		}
		if c.found && !covers(whole, from, to) {
			t.Errorf("indent %d (crlf %t): matches %v, want [%d, %d)", c.indent, c.crlf, whole, from, to)
		}
		if !c.found && len(whole) != 0 {
			t.Errorf("indent %d (crlf %t): matches %v, want none", c.indent, c.crlf, whole)
		}
	}
}

// TestCodePointForms: values of random characters (many from U+0080 to
// U+00FF), in Python's ascii() and PyYAML's double quotes, among other
// escapes, are found however the text is cut, and nothing released is
// masked later.
func TestCodePointForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const alpha = "ab'\"\\\n\t\x00\x1b 0123\u0080\u0085\u00a0\u00ad\u00e9\u00f6\u00ff\u0100\u20ac\u2028\u2029\U0001f600"
	for round := range 300 {
		v := string(randomRunes(rng, alpha, 6+rng.IntN(12)))
		form := pyASCII(v)
		if round%2 == 1 {
			form = yamlQuoted(v)
		}
		text := string(randomRunes(rng, `\x0fé"`, rng.IntN(6))) + form + `\xe9\n`
		s := Compile([][]byte{[]byte(v)}, 6)
		at := strings.Index(text, form)
		var cuts []int
		for range rng.IntN(6) {
			cuts = append(cuts, rng.IntN(len(text)+1))
		}
		slices.Sort(cuts)
		got := scanPieces(s, []byte(text), cuts...)
		if !covers(got, at+1, at+len(form)-1) {
			t.Fatalf("round %d: %q in %q: matches %v", round, v, text, got)
		}
		checkHold(t, s, []byte(text), rng, 1+rng.IntN(8))
	}
}
