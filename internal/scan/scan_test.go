package scan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// naive returns the merged ranges of every occurrence of every pattern of
// values (each value and each line of it, '+' read as ' ') in text.
func naive(values [][]byte, minLen int, text []byte) []Span {
	fold := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("+"), []byte(" ")) }
	var pats [][]byte
	forEachPattern(values, minLen, func(_ int, v []byte) { pats = append(pats, fold(v)) })
	for _, v := range values {
		if len(v) >= minLen && !utf8.Valid(v) {
			pats = append(pats, fold(appendReplaced(nil, v)))
		}
	}
	t := fold(text)
	var out Spans
	for _, p := range pats {
		for i := 0; ; i++ {
			k := bytes.Index(t[i:], p)
			if k < 0 {
				break
			}
			i += k
			out.Add(int64(i), int64(i+len(p)))
		}
	}
	return out.All()
}

// scanPieces scans text cut at cuts and returns the merged matches.
func scanPieces(s *Set, text []byte, cuts ...int) []Span {
	var out Spans
	sc := NewScanner(s)
	prev := 0
	for _, c := range append(cuts, len(text)) {
		sc.Scan(text[prev:c], int64(prev), &out)
		prev = c
	}
	sc.Finish(int64(len(text)), &out)
	return out.All()
}

func randomBytes(rng *rand.Rand, alphabet string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return b
}

// TestAgainstNaive: over an alphabet that no decoding view reads, the
// scanner finds exactly what a naive search finds, however the text is
// cut. Small alphabets make overlaps, shared anchors and long failure
// chains common; many patterns push states past the dense rows.
func TestAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		alpha := "!#&()*,.;<>?@[]^{|}~ "[:2+rng.IntN(4)]
		if round%7 == 0 {
			alpha = "!#&()*,.;<>?@[]^{|}~ \n\r"
		}
		var values [][]byte
		for range 1 + rng.IntN([]int{3, 30, 1500}[round%3]) {
			values = append(values, randomBytes(rng, alpha, 1+rng.IntN(24)))
		}
		minLen := 1 + rng.IntN(7)
		s := Compile(values, minLen)
		text := randomBytes(rng, alpha, 2000)
		want := naive(values, minLen, text)
		if s == nil {
			if len(want) != 0 {
				t.Fatalf("round %d: no set, but matches", round)
			}
			continue
		}
		if got := scanPieces(s, text); !slices.Equal(got, want) {
			t.Fatalf("round %d: %d values: got %v\nwant %v", round, len(values), got, want)
		}
		a, b := rng.IntN(len(text)), rng.IntN(len(text))
		if got := scanPieces(s, text, min(a, b), max(a, b)); !slices.Equal(got, want) {
			t.Fatalf("round %d: cut at %d, %d: matches differ", round, min(a, b), max(a, b))
		}
	}
}

// TestCandidateCap: output repeating a long periodic secret's start masks
// the whole stretch, at a bounded cost per byte.
func TestCandidateCap(t *testing.T) {
	v := bytes.Repeat([]byte("!#"), 200)
	s := Compile([][]byte{append(v, '&')}, 6)
	text := append([]byte("(("), bytes.Repeat([]byte("!#"), 1000)...)
	got := scanPieces(s, text)
	if len(got) != 1 || got[0].Start != 2 || got[0].End != int64(len(text)) {
		t.Fatalf("got %v", got)
	}
	// Nothing is held for it: the stretch is released, masked, as it
	// comes.
	sc := NewScanner(s)
	var out Spans
	for i := 0; i < 100000; i += 2 {
		sc.Scan([]byte("!#"), int64(i), &out)
		if h := sc.Hold(int64(i + 2)); h < int64(i+2-len(v)) {
			t.Fatalf("at %d, holding from %d", i+2, h)
		}
	}
}

// TestSplitsAgree: however the text is cut, the matches are the same, in
// every view.
func TestSplitsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		values, text := encodedText(rng)
		s := Compile(values, 6)
		want := scanPieces(s, text)
		var cuts []int
		for range rng.IntN(8) {
			cuts = append(cuts, rng.IntN(len(text)+1))
		}
		slices.Sort(cuts)
		if got := scanPieces(s, text, cuts...); !slices.Equal(got, want) {
			t.Fatalf("round %d: cuts %v: %v, want %v", round, cuts, got, want)
		}
	}
}

// TestHold: bytes before the offset Hold returns never become part of a
// match found later.
func TestHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 200 {
		values, text := encodedText(rng)
		maxPiece := 12
		if round%3 == 0 {
			maxPiece = 1
		}
		checkHold(t, Compile(values, 6), text, rng, maxPiece)
	}
}

// checkHold scans text in random pieces of at most maxPiece bytes and
// checks that no byte before a Hold is masked later.
func checkHold(t *testing.T, s *Set, text []byte, rng *rand.Rand, maxPiece int) {
	t.Helper()
	sc := NewScanner(s)
	var out Spans
	covered := make([]bool, len(text))
	released := 0
	check := func() {
		for _, sp := range out.All() {
			for i := sp.Start; i < sp.End; i++ {
				if !covered[i] && int(i) < released {
					t.Fatalf("%q: byte %d masked after its release at %d", text, i, released)
				}
				covered[i] = true
			}
		}
	}
	for off := 0; off < len(text); {
		n := min(1+rng.IntN(maxPiece), len(text)-off)
		sc.Scan(text[off:off+n], int64(off), &out)
		off += n
		check()
		h := int(sc.Hold(int64(off)))
		if h > off {
			t.Fatalf("hold %d past the end %d", h, off)
		}
		released = max(released, h)
	}
	sc.Finish(int64(len(text)), &out)
	check()
}

// FuzzScan: for any values and text, however the text is cut, the
// matches are the same, they cover every occurrence of every pattern,
// and nothing released is masked later.
func FuzzScan(f *testing.F) {
	f.Add([]byte("ab\x00abab\x00b"), []byte("abababbab"), uint16(4))
	f.Add([]byte("he\x00she\x00his\x00hers"), []byte("ushers"), uint16(2))
	f.Add([]byte("it's\x00a+b"), []byte("'it'\\''s' a%2Bb YSti"), uint16(9))
	f.Add([]byte("Passw\u00f6rd\x00tok\u00a0en"), []byte(`t: "Passw\xF6rd" 'tok\xa0en' "tok\`+"\n  "+`\_en"`), uint16(7))
	f.Fuzz(func(t *testing.T, pats, text []byte, cut uint16) {
		values := bytes.Split(pats, []byte{0})
		s := Compile(values, 1)
		if s == nil {
			return
		}
		whole := scanPieces(s, text)
		c := int(cut) % (len(text) + 1)
		if got := scanPieces(s, text, c); !slices.Equal(got, whole) {
			t.Fatalf("cut at %d: %v, whole %v", c, got, whole)
		}
		for _, sp := range naive(values, 1, text) {
			i, _ := slices.BinarySearchFunc(whole, sp.Start, func(a Span, x int64) int { return int(a.End - 1 - x) })
			if i == len(whole) || whole[i].Start > sp.Start || whole[i].End < sp.End {
				t.Fatalf("%v not covered by %v", sp, whole)
			}
		}
		if len(whole) > 0 && (whole[0].Start < 0 || whole[len(whole)-1].End > int64(len(text))) {
			t.Fatalf("matches %v outside the text", whole)
		}
		checkHold(t, s, text, rand.New(rand.NewPCG(uint64(cut), 1)), 4)
	})
}

// encodedText returns values and a text that holds them, whole, in pieces
// and in the encodings the views decode.
func encodedText(rng *rand.Rand) ([][]byte, []byte) {
	const alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 +/=-_%\\'\"$`\n\r\t\x1bäß€😀&#;[<>\u00a0\u0085"
	var values [][]byte
	for range 1 + rng.IntN(4) {
		values = append(values, []byte(string(randomRunes(rng, alpha, 6+rng.IntN(20)))))
	}
	var b bytes.Buffer
	for range 1 + rng.IntN(6) {
		b.Write(randomRunes(rng, alpha, rng.IntN(10)))
		v := values[rng.IntN(len(values))]
		switch rng.IntN(13) {
		case 0:
			b.Write(v)
		case 1:
			b.WriteString(url.QueryEscape(string(v)))
		case 2:
			j, _ := json.Marshal(string(v))
			b.Write(j)
		case 3:
			b.WriteString(strconv.Quote(string(v)))
		case 4:
			b.WriteString("'" + strings.ReplaceAll(string(v), "'", `'\''`) + "'")
		case 5:
			pre := randomBytes(rng, "xyz", rng.IntN(3))
			enc := base64.StdEncoding.EncodeToString(append(pre, v...))
			col := 4 + rng.IntN(70)
			for len(enc) > col {
				b.WriteString(enc[:col] + "\r\n"[rng.IntN(2):])
				enc = enc[col:]
			}
			b.WriteString(enc)
		case 6:
			b.Write(v[:rng.IntN(len(v))])
		case 7:
			if rng.IntN(2) == 0 {
				b.WriteString(pyASCII(string(v)))
			} else {
				b.WriteString(yamlQuoted(string(v)))
			}
		case 8:
			b.WriteString(html.EscapeString(string(v)))
		case 9:
			b.WriteString("'" + strings.ReplaceAll(string(v), "'", "''") + "'")
		case 10:
			b.WriteString(`"` + strings.ReplaceAll(string(v), `"`, `""`) + `"`)
		case 11:
			k := rng.IntN(len(v))
			b.WriteString(string(v[:k]) + "\x1b[01;31m\x1b[K" + string(v[k:]) + "\x1b[m\x1b[K")
		default:
			b.WriteString(base64.RawURLEncoding.EncodeToString(v))
		}
	}
	return values, b.Bytes()
}

func randomRunes(rng *rand.Rand, alphabet string, n int) []byte {
	rs := []rune(alphabet)
	var b []byte
	for range n {
		b = append(b, string(rs[rng.IntN(len(rs))])...)
	}
	return b
}

// TestViews: each encoding of a value is found, covering the encoded
// characters.
func TestViews(t *testing.T) {
	v := []byte("it's \"x\" a+b/c?d=e&f%g\\h\x1b\n\tä😀\u2028<> ''q\"\"\\\\&amp;")
	s := Compile([][]byte{v}, 6)
	sv := string(v)
	var dec, hexUpper strings.Builder
	for _, r := range sv {
		fmt.Fprintf(&dec, "&#%d;", r)
		fmt.Fprintf(&hexUpper, "&#X%04X;", r)
	}
	sgrAt := strings.Index(sv, "d=e")
	for name, enc := range map[string]string{
		"percent upper":  url.QueryEscape(string(v)),
		"percent lower":  strings.ToLower(url.PathEscape(string(v))),
		"json":           mustJSON(string(v)),
		"go quote":       strconv.Quote(string(v)),
		"ascii quote":    strconv.QuoteToASCII(string(v)),
		"shell quote":    "'" + strings.ReplaceAll(string(v), "'", `'\''`) + "'",
		"shlex":          "'" + strings.ReplaceAll(string(v), "'", `'"'"'`) + "'",
		"surrogate pair": `"it's \"x\" a+b/c?d=e&f%g\\h\u001b\n\tä\ud83d\ude00\u2028<> ''q\"\"\\\\&amp;"`,
		"octal":          `$'it\'s "x" a+b/c?d=e&f%g\\h\E\n\t\303\244\360\237\230\200` + "\u2028<> ''q\"\"\\\\\\\\&amp;'",
		"python ascii":   pyASCII(sv),
		"yaml":           yamlQuoted(sv),
		"html go":        html.EscapeString(sv),
		"html python":    strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace(sv),
		"xml apos":       strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(sv),
		"html decimal":   dec.String(),
		"html hex upper": hexUpper.String(),
		"sql":            "'" + strings.ReplaceAll(sv, "'", "''") + "'",
		"postgres E":     "E'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(sv) + "'",
		"csv":            `"` + strings.ReplaceAll(sv, `"`, `""`) + `"`,
		"grep --color":   sv[:sgrAt] + "\x1b[01;31m\x1b[K" + sv[sgrAt:sgrAt+3] + "\x1b[m\x1b[K" + sv[sgrAt+3:],
		"truecolor":      sv[:4] + "\x1b[38;2;255;100;0m" + sv[4:9] + "\x1b[0m" + sv[9:],
	} {
		text := "<<" + enc + ">>"
		got := scanPieces(s, []byte(text))
		if len(got) == 0 {
			t.Errorf("%s: %s not found", name, enc)
			continue
		}
		in := strings.Index(text, enc)
		for _, sp := range got {
			if sp.Start <= int64(in+2) && sp.End >= int64(in+len(enc)-2) {
				goto ok
			}
		}
		t.Errorf("%s: %s: matches %v do not cover it", name, enc, got)
	ok:
	}
}

func mustJSON(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestRuneLen: runeLen agrees with utf8.DecodeRune on every byte
// sequence of up to four bytes that starts with a non-ASCII byte.
func TestRuneLen(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	b := make([]byte, 4)
	for range 1 << 20 {
		n := 1 + rng.IntN(4)
		for i := range n {
			b[i] = byte(0x80 + rng.IntN(128))
			if i > 0 && rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			}
		}
		r, k := utf8.DecodeRune(b[:n])
		want := k
		if r == utf8.RuneError && k == 1 {
			want = 0
		}
		if got := runeLen(b[:n]); got != want {
			t.Fatalf("% x: %d, want %d", b[:n], got, want)
		}
	}
}

// TestQuoteViewsApart: forms that one view would read differently are
// each found: a value with runs of quotes and backslashes, in a shell
// word (where two quotes in a row close and reopen it), in SQL and YAML
// (where they stand for one quote, and two backslashes for two) and in
// PostgreSQL's E'...' (where two backslashes stand for one).
func TestQuoteViewsApart(t *testing.T) {
	v := `''it\\s''`
	s := Compile([][]byte{[]byte(v)}, 6)
	for name, enc := range map[string]string{
		"shell": "'" + strings.ReplaceAll(v, "'", `'\''`) + "'",
		"shlex": "'" + strings.ReplaceAll(v, "'", `'"'"'`) + "'",
		"sql":   "'" + strings.ReplaceAll(v, "'", "''") + "'",
		"E":     "E'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(v) + "'",
		"csv":   `"` + v + `"`,
	} {
		text := "x " + enc + " y"
		got := scanPieces(s, []byte(text))
		in := strings.Index(text, enc)
		if len(got) != 1 || got[0].Start > int64(in+3) || got[0].End < int64(in+len(enc)-1) {
			t.Errorf("%s: %s: matches %v", name, enc, got)
		}
	}
}

// TestPassShortcut: a view not turned on for an escape byte that the next
// byte shows to start nothing (passBytes) finds what it would have found
// on: scanning whole, where the next byte is known, finds what scanning
// one byte at a time finds, where it never is.
func TestPassShortcut(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const alpha = "%\\'\"&\x1b[#;xX0123456789abmK"
	for round := range 300 {
		values, text := encodedText(rng)
		if round%2 == 0 {
			values = [][]byte{randomBytes(rng, alpha, 6+rng.IntN(6))}
			text = randomBytes(rng, alpha, 400)
			text = append(text, values[0]...)
		}
		s := Compile(values, 6)
		cuts := make([]int, len(text))
		for i := range cuts {
			cuts[i] = i
		}
		if got, want := scanPieces(s, text), scanPieces(s, text, cuts...); !slices.Equal(got, want) {
			t.Fatalf("round %d: %q in %q: whole %v, byte by byte %v", round, values, text, got, want)
		}
	}
}
