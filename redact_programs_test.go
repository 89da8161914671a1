package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// The values the programs print: one with everything that gets escaped
// (both quotes, $, `, a backslash, '+', '/', '%', '&', '<', non-ASCII,
// an astral character, a control character, a tab, a line break), one
// with only printable ASCII (shells quote it without $'...'), a short one
// with both quotes.
const (
	richValue  = "Pa$$w0rd\"2024 it's `x` \\ +/?&=%<> é😀\u2028\x1b\tend\nsecond line"
	plainValue = `Pa$$w0rd"2024 it's a\b+c`
	quoteValue = `it's "x"`
)

// program runs a program with V=value in its environment and stdin on
// its standard input, and returns what it prints. It skips the test when
// the program is not installed.
func program(t *testing.T, value string, stdin []byte, env []string, name string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed", name)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append([]string{"V=" + value, "LC_ALL=C.UTF-8", "PYTHONIOENCODING=utf-8"}, env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", name, err, stderr.String())
	}
	return out
}

// redactInPieces redacts text through a RedactWriter fed in random pieces.
func redactInPieces(t *testing.T, r *secrets.Redactor, text []byte, seed uint64) []byte {
	t.Helper()
	rng := mrand.New(mrand.NewPCG(seed, 1))
	var out bytes.Buffer
	w := r.NewWriter(&out)
	most := 0
	for len(text) > 0 {
		n := min(len(text), 1+rng.IntN(9))
		if _, err := w.Write(text[:n]); err != nil {
			t.Fatal(err)
		}
		text = text[n:]
		most = max(most, secrets.HeldBack(w))
	}
	t.Logf("held back at most %d bytes", most)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// windows returns the first window of w bytes of enc that text holds.
func windowIn(text, enc []byte, w int) []byte {
	for i := 0; i+w <= len(enc); i++ {
		if bytes.Contains(text, enc[i:i+w]) {
			return enc[i : i+w]
		}
	}
	return nil
}

// TestRedactTextForms: a program prints a value, escaped its way, inside
// other output; the redacted output holds no 8 bytes in a row of the
// escaped value. Each program is the real one where it is installed.
func TestRedactTextForms(t *testing.T) {
	py := func(code string) []string {
		return []string{"python3", "-c", "import os, sys, json, urllib.parse as up, shlex, re\nv = os.environ['V']\n" + code}
	}
	node := func(code string) []string { return []string{"node", "-e", "const v = process.env.V;\n" + code} }
	sh := func(code string) []string { return []string{"bash", "-c", code} }
	perl := func(code string) []string { return []string{"perl", "-MData::Dumper", "-MJSON::PP", "-e", code} }
	lowerHex := func(expr string) string {
		return "re.sub('%[0-9A-F]{2}', lambda m: m.group(0).lower(), " + expr + ")"
	}
	cases := []struct {
		name   string
		value  string
		inLog  []string // prints the value in other output
		alone  []string // prints the value's form alone
		prefix string   // to drop from alone's output
		env    []string
	}{
		{"python json.dumps", richValue, py(`print("data:", json.dumps({"k": v}), "done")`), py(`print(json.dumps(v)[1:-1], end="")`), "", nil},
		{"python json.dumps ensure_ascii=False", richValue, py(`print("data:", json.dumps({"k": v}, ensure_ascii=False))`), py(`print(json.dumps(v, ensure_ascii=False)[1:-1], end="")`), "", nil},
		{"node JSON.stringify", richValue, node(`console.log("data:", JSON.stringify({k: v}))`), node(`process.stdout.write(JSON.stringify(v).slice(1, -1))`), "", nil},
		{"perl JSON::PP ascii", richValue, perl(`my $v = $ENV{V}; utf8::decode($v); print "data: ", JSON::PP->new->ascii->encode([$v]), "\n"`), perl(`my $v = $ENV{V}; utf8::decode($v); my $j = JSON::PP->new->ascii->encode([$v]); print substr($j, 2, -2)`), "", nil},
		{"python quote", richValue, py(`print("GET /x?t=" + up.quote(v) + " HTTP/1.1")`), py(`print(up.quote(v), end="")`), "", nil},
		{"python quote_plus", richValue, py(`print("GET /x?t=" + up.quote_plus(v) + "&y=1")`), py(`print(up.quote_plus(v), end="")`), "", nil},
		{"python quote lower-case hex", richValue, py(`print("GET /x?t=" + ` + lowerHex("up.quote(v)") + `)`), py(`print(` + lowerHex("up.quote(v)") + `, end="")`), "", nil},
		{"node encodeURIComponent", richValue, node(`console.log("url: https://x.test/?t=" + encodeURIComponent(v))`), node(`process.stdout.write(encodeURIComponent(v))`), "", nil},
		{"bash printf %q control", richValue, sh(`printf 'run %q now\n' "$V"`), sh(`printf %q "$V"`), "", nil},
		{"bash printf %q C locale", richValue, sh(`printf 'run %q now\n' "$V"`), sh(`printf %q "$V"`), "", []string{"LC_ALL=C"}},
		{"bash printf %q", plainValue, sh(`printf 'run %q now\n' "$V"`), sh(`printf %q "$V"`), "", nil},
		{"bash declare -p", plainValue, sh(`echo start; X=$V; declare -p X; echo end`), sh(`X=$V; declare -p X`), `declare -- X=`, nil},
		{"bash declare -p control", richValue, sh(`echo start; X=$V; declare -p X; echo end`), sh(`X=$V; declare -p X`), `declare -- X=`, nil},
		{"bash export -p", plainValue, sh(`export -p | grep '^declare -x V='`), sh(`export -p | grep '^declare -x V=' | tr -d '\n'`), `declare -x V=`, nil},
		{"bash set -x", richValue, sh(`exec 2>&1; set -x; : "$V"`), sh(`printf "'%s'" "${V//\'/\'\\\'\'}"`), "", nil},
		{"bash set -x plain", plainValue, sh(`exec 2>&1; set -x; curl_stub() { :; }; curl_stub -H "$V"`), sh(`printf "'%s'" "${V//\'/\'\\\'\'}"`), "", nil},
		{"python repr", richValue, py(`print("value =", repr(v))`), py(`print(repr(v), end="")`), "", nil},
		{"python repr both quotes", quoteValue, py(`print("value =", repr(v))`), py(`print(repr(v), end="")`), "", nil},
		{"python repr bytes", richValue, py(`print("value =", repr(os.environb[b"V"]))`), py(`print(repr(os.environb[b"V"])[1:], end="")`), "", nil},
		{"python ascii", richValue, py(`print("value =", ascii(v))`), py(`print(ascii(v), end="")`), "", nil},
		{"python %a", richValue, py(`print("value = %a;" % v)`), py(`print("%a" % v, end="")`), "", nil},
		{"pyyaml dump", richValue, py(`import yaml; print(yaml.dump({"data": {"k": v}}))`), py(`import yaml; print(yaml.dump({"data": {"k": v}})[11:].rstrip("\n"), end="")`), "", nil},
		{"python shlex.quote", plainValue, py(`print("run: curl -H " + shlex.quote(v))`), py(`print(shlex.quote(v), end="")`), "", nil},
		{"perl Data::Dumper", richValue, perl(`$Data::Dumper::Terse = 1; print "v = ", Dumper($ENV{V})`), perl(`$Data::Dumper::Terse = 1; my $d = Dumper($ENV{V}); chomp $d; print $d`), "", nil},
		{"perl Data::Dumper Useqq", richValue, perl(`$Data::Dumper::Terse = 1; $Data::Dumper::Useqq = 1; print "v = ", Dumper($ENV{V})`), perl(`$Data::Dumper::Terse = 1; $Data::Dumper::Useqq = 1; my $d = Dumper($ENV{V}); chomp $d; print $d`), "", nil},
		{"perl quotemeta", richValue, perl(`print "re: ", quotemeta($ENV{V}), "\n"`), perl(`print quotemeta($ENV{V})`), "", nil},
		{"node util.inspect", richValue, node(`console.log("v:", require("util").inspect(v))`), node(`process.stdout.write(require("util").inspect(v))`), "", nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // the programs' time is mostly starting
			log := program(t, c.value, nil, c.env, c.inLog[0], c.inLog[1:]...)
			alone := program(t, c.value, nil, c.env, c.alone[0], c.alone[1:]...)
			alone = bytes.TrimPrefix(alone, []byte(c.prefix))
			if !bytes.Contains(log, alone) || len(alone) < len(c.value)/2 {
				t.Fatalf("the program did not print the form: %q in %q", alone, log)
			}
			r := secrets.NewRedactor([][]byte{[]byte(c.value)}, nil)
			for seed := range uint64(3) {
				got := r.Redact(log)
				if seed > 0 {
					got = redactInPieces(t, r, log, seed+uint64(i))
				}
				if w := windowIn(got, alone, 8); w != nil {
					t.Fatalf("%q shows %q of %q", got, w, alone)
				}
				if !bytes.Contains(got, []byte("***")) {
					t.Fatalf("nothing masked: %q", got)
				}
			}
		})
	}
}

// TestRedactGoForms: the forms the standard library prints.
func TestRedactGoForms(t *testing.T) {
	r := secrets.NewRedactor([][]byte{[]byte(richValue)}, nil)
	jsonOf := func(html bool) string {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(html)
		e.Encode(richValue)
		return strings.TrimSpace(b.String())
	}
	for name, form := range map[string]string{
		"json":                jsonOf(true),
		"json without html":   jsonOf(false),
		"url query":           url.QueryEscape(richValue),
		"url path":            url.PathEscape(richValue),
		"%q":                  fmt.Sprintf("%q", richValue),
		"%+q":                 fmt.Sprintf("%+q", richValue),
		"base64 in json":      mustMarshal([]byte(richValue)),
		"lines of the value:": strings.ReplaceAll(richValue, "\n", "\n    "),
	} {
		got := r.RedactString("before " + form + " after")
		for _, line := range strings.Split(richValue, "\n") {
			if strings.Contains(got, line) {
				t.Errorf("%s: %q shows %q", name, got, line)
			}
		}
		if w := windowIn([]byte(got), []byte(form), 8); w != nil && name != "lines of the value:" {
			t.Errorf("%s: %q shows %q", name, got, w)
		}
	}
}

func mustMarshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// revealsBase64 reports whether text, read as base64 from any character
// (line breaks dropped), decodes to w bytes in a row of value.
func revealsBase64(text, value []byte, w int) bool {
	flat := strings.NewReplacer("\r", "", "\n", "").Replace(string(text))
	fields := strings.FieldsFunc(flat, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+/-_", r))
	})
	for _, f := range fields {
		f = strings.NewReplacer("-", "+", "_", "/").Replace(f)
		for off := range 4 {
			if off >= len(f) {
				break
			}
			s := f[off:]
			s = s[:len(s)/4*4]
			dec, err := base64.StdEncoding.DecodeString(s)
			if err == nil && windowIn(dec, value, w) != nil {
				return true
			}
		}
	}
	return false
}

// TestRedactBase64Programs: base64 as the programs print it, wrapped at
// their width (76 for coreutils and Perl, 64 for OpenSSL), with CRLF
// (Perl's MIME::Base64 with "\r\n"), unwrapped, URL-safe. The value
// starts after every number of bytes that puts it at each alignment and
// puts the line break at each place in its encoding; what is left of the
// output decodes to no 8 bytes of the value.
func TestRedactBase64Programs(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(21, 22))
	value := make([]byte, 100)
	for i := range value {
		value[i] = byte(1 + rng.IntN(255)) // any byte but NUL
	}
	r := secrets.NewRedactor([][]byte{value}, nil)
	perlB64 := `use MIME::Base64; local $/; my $in = <STDIN>; print encode_base64($in, "\r\n")`
	nodeB64 := func(enc string) string {
		return `const d = []; process.stdin.on("data", c => d.push(c)).on("end", () => console.log(Buffer.concat(d).toString("` + enc + `")))`
	}
	cases := []struct {
		name   string
		shifts int // values of the prefix's length to try
		cmd    []string
	}{
		{"coreutils base64", 60, []string{"base64"}},
		{"coreutils base64 -w0", 3, []string{"base64", "-w0"}},
		{"openssl base64", 50, []string{"openssl", "base64"}},
		{"openssl base64 -A", 3, []string{"openssl", "base64", "-A"}},
		{"perl MIME::Base64 CRLF", 60, []string{"perl", "-e", perlB64}},
		{"python urlsafe_b64encode", 3, []string{"python3", "-c", "import base64, sys; print(base64.urlsafe_b64encode(sys.stdin.buffer.read()).decode())"}},
		{"python b64encode unpadded", 3, []string{"python3", "-c", "import base64, sys; print(base64.b64encode(sys.stdin.buffer.read()).decode().rstrip('='))"}},
		{"node base64url", 3, []string{"node", "-e", nodeB64("base64url")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // the programs' time is mostly starting
			for shift := range c.shifts {
				input := append(bytes.Repeat([]byte{'p'}, shift), value...)
				input = append(input, " trailing bytes"...)
				out := program(t, "", input, nil, c.cmd[0], c.cmd[1:]...)
				log := append([]byte("encoded:\n"), out...)
				if !revealsBase64(log, value, 8) {
					t.Fatalf("shift %d: the output does not decode to the value: %q", shift, out)
				}
				for _, got := range [][]byte{r.Redact(log), redactInPieces(t, r, log, uint64(shift))} {
					if revealsBase64(got, value, 8) {
						t.Fatalf("shift %d: %q decodes to the value", shift, got)
					}
				}
			}
		})
	}
}

// TestRunMasksPythonCodePoints: a python3 job run by Manager.Run prints
// its values as PyYAML's yaml.dump (\xF6 for ö, and a long value folded
// across lines with \_ for a no-break space), repr (\xa0), ascii(), %a
// and {!a} (\xe9, \u20ac) write them: \xHH there is the character
// U+00HH, two bytes in UTF-8. No 8 bytes in a row of any form, nor any
// value, reach the output; the plain text around them is intact.
func TestRunMasksPythonCodePoints(t *testing.T) {
	python := needProgram(t, "python3")
	values := map[string]string{
		"YAML_V":  "Passw\u00f6rd-2024!",
		"REPR_V":  "tok\u00a0en-value-1",
		"ASCII_V": "caf\u00e9-\u20ac-token",
		"LONG_V":  "The-quick-brown-fox-jumps-over-the-lazy-dog-0123456789-" + "Passw\u00f6rd\u00a0\u00a0\u00a0\u00a0 tail-Sphinx-of-black-quartz",
	}
	const forms = `import os, yaml
e = os.environ
forms = [yaml.dump({"token": e["YAML_V"]}), repr(e["REPR_V"]), ascii(e["ASCII_V"]), "%a" % e["ASCII_V"],
	f"{e['ASCII_V']!a}", yaml.dump({"a": {"b": {"token": e["LONG_V"]}}})]
`
	// The forms, printed by python3 itself, to look for in the output.
	cmd := exec.Command(python, "-c", forms+`print("\0".join(forms), end="")`)
	cmd.Env = []string{"LC_ALL=C.UTF-8", "PYTHONIOENCODING=utf-8"}
	for name, v := range values {
		cmd.Env = append(cmd.Env, name+"="+v)
	}
	printed, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(printed, []byte(`Passw\xF6rd`)) || !bytes.Contains(printed, []byte(`\_\`+"\n")) && !bytes.Contains(printed, []byte(`\`+"\n")) {
		t.Fatalf("python3 printed other forms: %q", printed)
	}

	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	for name, v := range values {
		mustSet(t, m, "ws", name, v)
	}
	var out bytes.Buffer
	script := forms + `for f in forms:
	print("plain-neighbour-text", f, "plain-neighbour-text", flush=True)
`
	res, err := m.Run(ctx, "ws", secrets.Job{Path: python, Args: []string{"-c", script}, Stdout: &out, Stderr: &out})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v: %s", res, err, out.String())
	}
	got := out.Bytes()
	t.Logf("%s", got)
	for _, form := range bytes.Split(printed, []byte{0}) {
		// The quoted text, without a YAML key before it.
		form = form[bytes.IndexAny(form, `'"`)+1 : bytes.LastIndexAny(form, `'"`)]
		if w := windowIn(got, form, 8); w != nil {
			t.Errorf("%q shows %q of %q", got, w, form)
		}
	}
	for _, v := range values {
		if bytes.Contains(got, []byte(v)) {
			t.Errorf("%q shows %q", got, v)
		}
	}
	if n := bytes.Count(got, []byte("plain-neighbour-text ")); n != 6 || bytes.Count(got, []byte(" plain-neighbour-text\n")) != 6 {
		t.Errorf("the text around the values is not intact: %q", got)
	}
}
