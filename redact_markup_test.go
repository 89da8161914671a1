package secrets_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// yamlValue is a value that YAML writers single-quote of their own accord
// (it starts with a quote and holds ": "), so that its quotes are doubled.
const yamlValue = `'s3cr3t: it's "x" \ #1`

// checkPrintedForm redacts log, a program's output that holds alone, the
// value's form as the program prints it, whole and in random pieces: no 8
// bytes in a row of alone may show, and something must be masked.
func checkPrintedForm(t *testing.T, value string, log, alone []byte, seed uint64) {
	t.Helper()
	if !bytes.Contains(log, alone) || len(alone) < len(value)/2 {
		t.Fatalf("the program did not print the form: %q in %q", alone, log)
	}
	r := secrets.NewRedactor([][]byte{[]byte(value)}, nil)
	for i := range uint64(3) {
		got := r.Redact(log)
		if i > 0 {
			got = redactInPieces(t, r, log, seed+i)
		}
		if w := windowIn(got, alone, 8); w != nil {
			t.Fatalf("%q shows %q of %q", got, w, alone)
		}
		if !bytes.Contains(got, []byte("***")) {
			t.Fatalf("nothing masked: %q", got)
		}
	}
}

// TestRedactMarkupForms: HTML and XML entities, YAML's and CSV's doubled
// quotes, and terminal colours inside a value, as the real programs print
// them in other output.
func TestRedactMarkupForms(t *testing.T) {
	py := func(code string) []string {
		return []string{"python3", "-c", "import os, sys, html, csv, io, yaml\nfrom xml.sax import saxutils\nv = os.environ['V']\n" + code}
	}
	sh := func(code string) []string { return []string{"bash", "-c", code} }
	const csvRow = `w = csv.writer(sys.stdout); w.writerow(["id", v, 42])`
	const grep = `{ echo "config:"; printf 'x=1\n%s\ny=2\n' "$V"; } | grep --color=always -n -H --label=config.env 'w0rd"20'`
	cases := []struct {
		name         string
		value        string
		inLog, alone []string
		prefix       string // to drop from alone's output
	}{
		{"python html.escape", richValue, py(`print("<td>" + html.escape(v) + "</td>")`), py(`print(html.escape(v), end="")`), ""},
		{"python html.escape quotes", quoteValue, py(`print('<input value="' + html.escape(v) + '">')`), py(`print(html.escape(v), end="")`), ""},
		{"python saxutils.quoteattr", richValue, py(`print("<k v=" + saxutils.quoteattr(v) + "/>")`), py(`print(saxutils.quoteattr(v)[1:-1], end="")`), ""},
		{"python saxutils &apos;", plainValue, py(`print("<k>" + saxutils.escape(v, {"'": "&apos;", '"': "&quot;"}) + "</k>")`), py(`print(saxutils.escape(v, {"'": "&apos;", '"': "&quot;"}), end="")`), ""},
		{"python html decimal", richValue, py(`print("<p>" + "".join("&#%d;" % ord(c) for c in v) + "</p>")`), py(`print("".join("&#%d;" % ord(c) for c in v), end="")`), ""},
		{"python html hex upper", richValue, py(`print("<p>" + "".join("&#X%X;" % ord(c) for c in v) + "</p>")`), py(`print("".join("&#X%X;" % ord(c) for c in v), end="")`), ""},
		{"python yaml", yamlValue, py(`print(yaml.safe_dump({"token": v, "n": 1}, width=1000), end="")`), py(`print(yaml.safe_dump(v, width=1000).strip(), end="")`), ""},
		{"python yaml forced quotes", plainValue, py(`print(yaml.safe_dump({"token": v}, default_style="'", width=1000), end="")`), py(`print(yaml.safe_dump(v, default_style="'", width=1000).strip(), end="")`), ""},
		{"python csv", richValue, py("print('id,value,n')\n" + csvRow), py(`b = io.StringIO(); csv.writer(b).writerow([v]); print(b.getvalue().strip("\r\n"), end="")`), ""},
		{"python csv quotes", quoteValue, py("print('id,value,n')\n" + csvRow), py(`b = io.StringIO(); csv.writer(b).writerow([v]); print(b.getvalue().strip("\r\n"), end="")`), ""},
		{"grep --color=always", plainValue, sh(grep), sh(`printf '%s\n' "$V" | grep --color=always 'w0rd"20' | tr -d '\n'`), ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // the programs' time is mostly starting
			log := program(t, c.value, nil, nil, c.inLog[0], c.inLog[1:]...)
			alone := bytes.TrimPrefix(program(t, c.value, nil, nil, c.alone[0], c.alone[1:]...), []byte(c.prefix))
			checkPrintedForm(t, c.value, log, alone, uint64(10*i))
		})
	}
}

// psqlPath finds psql on PATH or in Debian's PostgreSQL folders.
func psqlPath(t *testing.T) string {
	if p, err := exec.LookPath("psql"); err == nil {
		return p
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(found) == 0 {
		t.Skip("psql is not installed")
	}
	return found[len(found)-1]
}

// TestRedactQuoteLiteral: the server's quote_literal (doubled quotes, and
// for a value with a backslash E'...' with doubled backslashes too) and
// quote_ident (doubled double quotes), as psql prints them.
func TestRedactQuoteLiteral(t *testing.T) {
	url := pgURL(t)
	psql := psqlPath(t)
	values := []struct{ name, value string }{{"rich", richValue}, {"plain", plainValue}, {"quote", quoteValue}, {"yaml", yamlValue}}
	for i, v := range values {
		for _, fn := range []string{"quote_literal", "quote_ident"} {
			t.Run(fn+"/"+v.name, func(t *testing.T) { quoteInPsql(t, url, psql, fn, v.value, uint64(i)) })
		}
	}
}

// quoteInPsql has psql print fn(value), alone and in an INSERT statement,
// and checks that it is masked.
func quoteInPsql(t *testing.T, url, psql, fn, value string, seed uint64) {
	query := `printf '%s\n' "select ` + fn + `(:'v');" | "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -v "v=$V" "$DATABASE_URL"`
	env := []string{"DATABASE_URL=" + url, "PSQL=" + psql}
	inLog := program(t, value, nil, env, "bash", "-c", `echo "INSERT INTO t VALUES ($(`+query+`));"`)
	alone := bytes.TrimSuffix(program(t, value, nil, env, "bash", "-c", query), []byte("\n"))
	if fn == "quote_literal" && strings.ContainsRune(value, '\\') && !bytes.HasPrefix(alone, []byte("E'")) {
		t.Fatalf("%s: no E'...' form for a value with a backslash: %q", fn, alone)
	}
	checkPrintedForm(t, value, inLog, alone, seed)
}

// TestRedactColour: colour codes inside a value are masked with it; those
// around it stay.
func TestRedactColour(t *testing.T) {
	r := secrets.NewRedactor([][]byte{[]byte("sk_live_0123456789")}, nil)
	for in, want := range map[string]string{
		// grep --color=always sk_live
		"k=\x1b[01;31m\x1b[Ksk_live\x1b[m\x1b[K_0123456789\n": "k=\x1b[01;31m\x1b[K***\n",
		// a whole value coloured
		"\x1b[1;38;2;255;0;0msk_live_0123456789\x1b[0m": "\x1b[1;38;2;255;0;0m***\x1b[0m",
		// codes of every length, and an escape that is not a colour
		"sk\x1b[m_li\x1b[38;5;196mve_0123\x1b[K456789 \x1b[2Jsk_live_\x1b[H0123456789": "*** \x1b[2Jsk_live_\x1b[H0123456789",
	} {
		if got := r.RedactString(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
