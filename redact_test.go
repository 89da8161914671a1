package secrets_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

func TestRedactForms(t *testing.T) {
	const token = "tok_live_7d3f9a&x=1 <b>\"q\""
	pem := string(pemKey())
	r := secrets.NewRedactor([][]byte{[]byte(token), []byte(pem)}, nil)
	jsonOf := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cases := map[string]string{
		"plain":       "Authorization: Bearer " + token + "\n",
		"query":       "GET /?t=" + url.QueryEscape(token) + " HTTP/1.1",
		"path":        "GET /" + url.PathEscape(token) + " HTTP/1.1",
		"json":        `{"token":` + jsonOf(token) + `}`,
		"pem":         "key:\n" + pem,
		"pem line":    "line 3 is " + strings.Split(pem, "\n")[3] + " ok",
		"twice":       token + token,
		"start":       token,
		"json nohtml": `{"token":"tok_live_7d3f9a&x=1 <b>\"q\""}`,
	}
	for prefix := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			text := strings.Repeat("z", prefix) + token + "trailing"
			cases[fmt.Sprintf("base64 %d %p", prefix, enc)] = "data: " + enc.EncodeToString([]byte(text)) + "\n"
		}
	}
	for name, text := range cases {
		got := r.RedactString(text)
		if !strings.Contains(got, "***") {
			t.Errorf("%s: nothing masked in %q", name, got)
		}
		for _, leak := range []string{token, url.QueryEscape(token), "7d3f9a", "MIIEvQIBADAN"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: %q shows %q", name, got, leak)
			}
		}
		// The value cannot be decoded back from what is left of base64.
		if strings.HasPrefix(name, "base64") {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				for _, field := range strings.FieldsFunc(got, func(r rune) bool { return r == '*' || r == ' ' || r == '\n' }) {
					for off := range 4 {
						if off < len(field) {
							dec, _ := enc.DecodeString(field[off:])
							if bytes.Contains(dec, []byte("7d3f9a")) {
								t.Errorf("%s: %q decodes to the value", name, got)
							}
						}
					}
				}
			}
		}
	}
}

func TestRedactSpans(t *testing.T) {
	r := secrets.NewRedactor([][]byte{[]byte("abcdef"), []byte("defghi"), []byte("xyzxyz")}, nil)
	for in, want := range map[string]string{
		"--abcdefghi--":       "--***--", // overlapping values: one span
		"--abcdefdefghi--":    "--***--", // adjacent values: one span
		"--abcdef-defghi--":   "--***-***--",
		"xyzxyzxyzxyzxyzxyzq": "***q",       // a value repeated back to back
		"abcde fghi":          "abcde fghi", // nothing
		"":                    "",
	} {
		if got := r.RedactString(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactMinLength(t *testing.T) {
	values := [][]byte{[]byte("ab"), []byte("12345"), []byte("123456")}
	r := secrets.NewRedactor(values, nil)
	if got := r.RedactString("ab 12345 123456"); got != "ab 12345 ***" {
		t.Fatalf("default minimum: %q", got)
	}
	r = secrets.NewRedactor(values, &secrets.RedactConfig{MinLength: 2, Mask: "[masked]"})
	if got := r.RedactString("ab 12345 x"); got != "[masked] [masked] x" {
		t.Fatalf("minimum 2: %q", got)
	}
}

// ExampleRedactor_forms shows the table of the Redactor's doc.
func ExampleRedactor_forms() {
	r := secrets.NewRedactor([][]byte{[]byte(`it's "x"`)}, nil)
	for _, s := range []string{`it's "x"`, "aXQncyAieCI=", "AGl0J3MgIngi", "AABpdCdzICJ4Ig==",
		"it%27s+%22x%22", `"it's \"x\""`, `'it\'s "x"'`, `it\'s\ \"x\"`, `'it'\''s "x"'`,
		"it&#x27;s &quot;x&quot;", `'it''s "x"'`, `"it's ""x"""`} {
		fmt.Printf("%-25s %s\n", s, r.RedactString(s))
	}
	// Output:
	// it's "x"                  ***
	// aXQncyAieCI=              ***
	// AGl0J3MgIngi              AG***
	// AABpdCdzICJ4Ig==          AAB***
	// it%27s+%22x%22            ***
	// "it's \"x\""              "***"
	// 'it\'s "x"'               '***'
	// it\'s\ \"x\"              ***
	// 'it'\''s "x"'             '***'
	// it&#x27;s &quot;x&quot;   ***
	// 'it''s "x"'               '***'
	// "it's ""x"""              "***"
}

// splitWrites writes text to a RedactWriter in the given pieces.
func splitWrites(t testing.TB, r *secrets.Redactor, text []byte, cuts []int) []byte {
	var out bytes.Buffer
	w := r.NewWriter(&out)
	prev := 0
	for _, c := range cuts {
		if n, err := w.Write(text[prev:c]); err != nil || n != c-prev {
			t.Fatalf("Write: %d %v", n, err)
		}
		prev = c
	}
	w.Write(text[prev:])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestRedactStreamingEqualsOneShot(t *testing.T) {
	values := [][]byte{[]byte("abcdef"), []byte("defghi"), []byte("s3cr3t-t0k3n"), []byte("line one\nline two"), []byte("it's a \"p+w\"/%")}
	r := secrets.NewRedactor(values, nil)
	wrapped := base64.StdEncoding.EncodeToString([]byte("xs3cr3t-t0k3n and more and more"))
	text := []byte("x abcdefghi y s3cr3t-t0k3n z " + base64.StdEncoding.EncodeToString([]byte("s3cr3t-t0k3n")) +
		" line two; abcdefdefghiabcdef; czNjcjN0LXQwazNu s3cr3t " + wrapped[:20] + "\r\n" + wrapped[20:] +
		" 'it'\\''s a \"p+w\"/%' it%27s+a+%22p%2Bw%22%2F%25 \"it's a \\\"p+w\\\"\\/%\" s3cr3t-t0k")
	want := r.Redact(text)
	for _, leak := range []string{"s3cr3t-t0k3n", "czNjcjN0LXQwazNu", "p%2Bw", "line two"} {
		if bytes.Contains(want, []byte(leak)) {
			t.Fatalf("%q shows %q", want, leak)
		}
	}
	if revealsBase64(want, []byte("s3cr3t-t0k3n"), 8) {
		t.Fatalf("%q decodes to the value", want)
	}
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j += 3 {
			if got := splitWrites(t, r, text, []int{i, j}); !bytes.Equal(got, want) {
				t.Fatalf("cuts at %d, %d: %q, want %q", i, j, got, want)
			}
		}
	}
	// One byte at a time.
	cuts := make([]int, len(text))
	for i := range cuts {
		cuts[i] = i
	}
	if got := splitWrites(t, r, text, cuts); !bytes.Equal(got, want) {
		t.Fatalf("byte by byte: %q, want %q", got, want)
	}
}

// TestRedactHoldsBackLittle: memory stays bounded by the longest form of
// a value, even for an endless run of one value, and text that starts
// nothing is not held at all.
func TestRedactHoldsBackLittle(t *testing.T) {
	value := []byte("0123456789abcdef")
	r := secrets.NewRedactor([][]byte{value}, nil)
	var out bytes.Buffer
	w := r.NewWriter(&out)
	written := 0
	for range 1000 {
		chunk := []byte(strings.Repeat("plain text without secrets ", 37))
		w.Write(chunk)
		written += len(chunk)
		if held := secrets.HeldBack(w); held != 0 || out.Len() != written {
			t.Fatalf("holding back %d bytes", held)
		}
	}
	w.Flush()
	out.Reset()
	most := 0
	for range 1000 {
		w.Write(value)
		most = max(most, secrets.HeldBack(w))
	}
	w.Close()
	if out.String() != "***" {
		t.Fatalf("a run of the value: %q", out.String())
	}
	if most > len(value) {
		t.Fatalf("held back %d bytes of a run of a %d-byte value", most, len(value))
	}
	// The longest form: every byte escaped as \u00XX.
	var esc strings.Builder
	for _, c := range value {
		fmt.Fprintf(&esc, "\\u%04x", c)
	}
	most = 0
	for _, c := range []byte(esc.String()) {
		w.Write([]byte{c})
		most = max(most, secrets.HeldBack(w))
	}
	w.Write([]byte("\n"))
	w.Close()
	if !strings.HasSuffix(out.String(), "******\n") || most > 6*len(value) {
		t.Fatalf("escaped: held back %d bytes; wrote %q", most, out.String())
	}
	t.Logf("most held back: %d bytes, for a value of %d", most, len(value))

	// Output that repeats a periodic value's start without end is masked
	// as it comes, not held.
	periodic := append(bytes.Repeat([]byte("ab"), 100), '!')
	w = secrets.NewRedactor([][]byte{periodic}, nil).NewWriter(&out)
	out.Reset()
	for range 5000 {
		w.Write(bytes.Repeat([]byte("ab"), 37))
		if held := secrets.HeldBack(w); held > len(periodic) {
			t.Fatalf("holding back %d bytes", held)
		}
	}
	w.Close()
	if out.String() != "***" {
		t.Fatalf("the run of the value's start: %.40q", out.String())
	}
}

// TestRedactPassesOutputAtOnce: output reaches the underlying writer in
// the Write that brings it, except bytes that may still start a secret,
// which wait only until the next byte decides.
func TestRedactPassesOutputAtOnce(t *testing.T) {
	r := secrets.NewRedactor([][]byte{[]byte("hunter2hunter2"), pemKey()}, nil)
	var out bytes.Buffer
	w := r.NewWriter(&out)
	written := ""
	for _, line := range []string{
		"build step 1 ok\n",
		"Downloading dependencies... done\n",
		"go: finding module for package github.com/x/y\n",
		"=== RUN   TestSomething\n",
		"--- PASS: TestSomething (0.00s)\n",
		"step 3/5: 42 files, 1.2 MB\n",
		"ok  \tgithub.com/x/y\t0.123s\n",
		"PASS\n",
		"{\"level\":\"info\",\"msg\":\"listening\",\"port\":8080}\n",
		"warning: 'foo' is deprecated; use 100% of \\bar\n",
		"line with no newline at the end.",
	} {
		w.Write([]byte(line))
		written += line
		if out.String() != written {
			t.Fatalf("after %q, the writer has %q", line, out.String())
		}
	}
	// Bytes that may start a value wait, and go as soon as one rules it
	// out; a completed value is masked.
	for _, step := range []struct{ write, want string }{
		{" the password is hunter", " the password is "},
		{"s", "hunters"},
		{"\nhunter2hun", "\n"},
		{"ter2\n", "***\n"},
		{"-----BEGIN PRIVATE", ""},
		{" KEY", ""},
		{"S\n", "-----BEGIN PRIVATE KEYS\n"},
	} {
		before := out.Len()
		w.Write([]byte(step.write))
		if got := out.String()[before:]; got != step.want {
			t.Fatalf("after %q: wrote %q, want %q", step.write, got, step.want)
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	if f.n > 1 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestRedactWriterError(t *testing.T) {
	w := secrets.NewRedactor(nil, nil).NewWriter(&failWriter{})
	if _, err := w.Write([]byte("one")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("two")); err == nil {
		t.Fatal("the underlying error was lost")
	}
	if _, err := w.Write([]byte("three")); err == nil {
		t.Fatal("a write after a failure succeeded")
	}
}

// FuzzRedact: for any text, any values and any split of the text into
// writes, the streamed output equals the one-shot output and holds none of
// the values; and the first value's encodings put into the text do not
// show either.
func FuzzRedact(f *testing.F) {
	f.Add([]byte("x abcdefghi y abcdef"), []byte("abcdef"), []byte("defghi"), uint16(3), uint16(9))
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaa"), []byte("aaaaaa"), []byte("aaaaaaaaa"), uint16(1), uint16(2))
	f.Add([]byte("token=czNjcjN0LXQwazNu&x"), []byte("s3cr3t-t0k3n"), []byte("zzzzzz"), uint16(10), uint16(15))
	f.Add([]byte("a\nline one\nline two\n"), []byte("line one\nline two"), []byte("q"), uint16(5), uint16(6))
	f.Add([]byte("it%27s 'it'\\''s' \\u00e9\\\\"), []byte("it's é\\ \"x\"\x1b"), []byte("%%%%%%"), uint16(4), uint16(30))
	f.Add([]byte("SGVsbG8g\r\nd29ybGQ= \xff\xfe"), []byte("\xff\xfe\x80abc+/"), []byte("Hello world"), uint16(8), uint16(12))
	f.Add([]byte("&amp;&#39;&#x2; ''\x1b[1m \"\" E'\\\\"), []byte("''a&<b>\"\\'"), []byte("\x1b[mx\x1b[K"), uint16(3), uint16(20))
	f.Fuzz(func(t *testing.T, text, v1, v2 []byte, cut1, cut2 uint16) {
		// The mask's own character in a value could be rebuilt from the
		// mask and its neighbours; the documentation says so.
		if bytes.ContainsRune(v1, '*') || bytes.ContainsRune(v2, '*') {
			return
		}
		r := secrets.NewRedactor([][]byte{v1, v2}, nil)
		redact := func(text []byte) []byte {
			want := r.Redact(text)
			a, b := int(cut1)%(len(text)+1), int(cut2)%(len(text)+1)
			if got := splitWrites(t, r, text, []int{min(a, b), max(a, b)}); !bytes.Equal(got, want) {
				t.Fatalf("%q split at %d, %d: %q, one shot %q", text, min(a, b), max(a, b), got, want)
			}
			for _, v := range [][]byte{v1, v2} {
				if len(v) >= 6 && bytes.Contains(want, v) {
					t.Fatalf("output %q holds value %q", want, v)
				}
			}
			return want
		}
		redact(text)
		if len(v1) < 6 {
			return
		}
		at := int(cut1) % (len(text) + 1)
		for _, form := range fuzzForms(v1) {
			// A space after the text ends any escape it leaves open, which
			// could take in the form's first bytes (documented).
			insert := func(s string) []byte {
				if !strings.HasPrefix(form.name, "base64") {
					s = " " + s
				}
				return slices.Concat(text[:at], []byte(s), text[at:])
			}
			// Counted against the same text with a filler of the form's
			// length in its place, which may show the same bytes without
			// the value (a fuzzed text held "N0LXQwazNu", base64 of
			// "7-t0k3n", beside the value "Ct-t0k3n"), and splits a copy
			// of them where the form would.
			filler := strings.Repeat("\x00", len(form.text))
			if out := redact(insert(form.text)); bytes.Count(out, []byte(form.shows)) > bytes.Count(r.Redact(insert(filler)), []byte(form.shows)) {
				t.Fatalf("%q: %s %q shows in %q", v1, form.name, form.shows, out)
			}
		}
	})
}

// A fuzzForm is a form of a value, and what of it must not show once
// masked.
type fuzzForm struct{ name, text, shows string }

// fuzzForms returns forms of v.
func fuzzForms(v []byte) []fuzzForm {
	quoted := "'" + strings.ReplaceAll(string(v), "'", `'\''`) + "'"
	j, _ := json.Marshal(string(v))
	b64 := func(prefix string) string { return base64.StdEncoding.EncodeToString(append([]byte(prefix), v...)) }
	var wrapped strings.Builder
	for i, c := range b64("") {
		if i > 0 && i%16 == 0 { // the narrowest wrap masked (scan.minWrap)
			wrapped.WriteString("\r\n")
		}
		wrapped.WriteRune(c)
	}
	sv := string(v)
	sql := strings.ReplaceAll(sv, "'", "''")
	eString := strings.NewReplacer(`\`, `\\`, "'", "''").Replace(sv)
	csv := strings.ReplaceAll(sv, `"`, `""`)
	pyHTML := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace(sv)
	forms := []fuzzForm{
		{"html", html.EscapeString(sv), html.EscapeString(sv)},
		{"python html", pyHTML, pyHTML},
		{"sql", "'" + sql + "'", sql},
		{"postgres E", "E'" + eString + "'", eString},
		{"csv", `"` + csv + `"`, csv},
	}
	if !strings.Contains(sv, "\x1b") {
		// grep --color: a match inside the value.
		c := sv[:2] + "\x1b[01;31m\x1b[K" + sv[2:len(sv)/2] + "\x1b[m\x1b[K" + sv[len(sv)/2:]
		forms = append(forms, fuzzForm{"colour", c, c})
	}
	return append(forms, []fuzzForm{
		{"query escape", url.QueryEscape(string(v)), url.QueryEscape(string(v))},
		{"path escape", url.PathEscape(string(v)), url.PathEscape(string(v))},
		{"json", string(j), string(j[1 : len(j)-1])},
		{"go quote", strconv.Quote(string(v)), strconv.Quote(string(v))[1:]},
		{"shell quote", quoted, quoted},
		{"base64", b64(""), strings.TrimRight(b64(""), "=")},
		{"base64 after a byte", b64("x"), strings.TrimRight(b64("x"), "=")[2:]},
		{"base64 after two bytes", b64("xy"), strings.TrimRight(b64("xy"), "=")[3:]},
		{"base64 wrapped", wrapped.String(), strings.TrimRight(wrapped.String(), "=")},
	}...)
}

// benchValues returns tokens shaped like real ones: a third with GitHub's
// prefix, a third with Stripe's, a third bare hex.
func benchValues(n int) [][]byte {
	rng := mrand.New(mrand.NewPCG(uint64(n), 7))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	random := func(alphabet string, k int) string {
		b := make([]byte, k)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	vals := make([][]byte, n)
	for i := range vals {
		switch i % 3 {
		case 0:
			vals[i] = []byte("ghp_" + random(alnum, 36))
		case 1:
			vals[i] = []byte("sk_live_" + random(alnum, 24))
		default:
			vals[i] = []byte(random("0123456789abcdef", 32))
		}
	}
	return vals
}

// benchLog is build output with a few secrets in it.
func benchLog(vals [][]byte) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "step %d: compiling module %d of the project, 0.%03ds elapsed\n", i, i*7, i%1000)
		if i%50 == 0 {
			fmt.Fprintf(&b, "token=%s\n", vals[i%len(vals)])
		}
	}
	return b.Bytes()
}

// BenchmarkRedact: the streaming RedactWriter (32 KiB writes) against a
// strings.Replacer of the same values over the same text.
func BenchmarkRedact(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		vals := benchValues(n)
		text := benchLog(vals)
		r := secrets.NewRedactor(vals, nil)
		pairs := make([]string, 0, 2*n)
		for _, v := range vals {
			pairs = append(pairs, string(v), "***")
		}
		rep := strings.NewReplacer(pairs...)
		s := string(text)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			compare(b, func() error {
				w := r.NewWriter(discard{})
				for off := 0; off < len(text); off += 32 << 10 {
					w.Write(text[off:min(off+32<<10, len(text))])
				}
				return w.Close()
			}, func() error {
				_, err := rep.WriteString(discard{}, s)
				return err
			})
		})
	}
}

// BenchmarkRedactEscaped: output full of escaped and encoded text (JSON
// with escapes, URL-encoded queries, base64 blobs wrapped at 76 columns,
// shell traces), where the decoding views are on most of the time.
func BenchmarkRedactEscaped(b *testing.B) {
	vals := benchValues(100)
	var buf bytes.Buffer
	for i := 0; buf.Len() < 1<<20; i++ {
		v := vals[i%len(vals)]
		fmt.Fprintf(&buf, "{\"level\":\"debug\",\"msg\":\"req \\\"%d\\\" \\u00e9\\t\\\\path\",\"url\":\"/a?q=x%%20y%%2Fz&n=%d\"}\n", i, i)
		fmt.Fprintf(&buf, "+ curl -H 'it'\\''s %d' %s\n", i, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(i)}, 60)))
		if i%50 == 0 {
			fmt.Fprintf(&buf, "{\"token\":%q}\n", v)
		}
	}
	text := buf.Bytes()
	r := secrets.NewRedactor(vals, nil)
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, string(v), "***")
	}
	rep := strings.NewReplacer(pairs...)
	s := string(text)
	b.SetBytes(int64(len(text)))
	compare(b, func() error {
		w := r.NewWriter(discard{})
		for off := 0; off < len(text); off += 32 << 10 {
			w.Write(text[off:min(off+32<<10, len(text))])
		}
		return w.Close()
	}, func() error {
		_, err := rep.WriteString(discard{}, s)
		return err
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error)       { return len(p), nil }
func (discard) WriteString(s string) (int, error) { return len(s), nil }
