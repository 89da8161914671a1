package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

func TestImportSyntax(t *testing.T) {
	text := "# a comment\n" +
		"\n" +
		"PLAIN=hello world   \n" +
		"export EXPORTED=yes\n" +
		"  INDENTED = spaced  # trailing comment\n" +
		"HASH=a#b\n" +
		"EMPTY=\n" +
		"SINGLE='it has $HOME and \\n and \"quotes\"'\n" +
		"DOUBLE=\"line1\\nline2\\t\\\"q\\\" \\\\ \\$HOME \\x\"\n" +
		"MULTI=\"first\n" +
		"second\"\n" +
		"PEM='-----BEGIN-----\n" +
		"abc\n" +
		"-----END-----'\n" +
		"JOINED='it'\\''s' # shell style\n" +
		"CONT=\"one \\\n" +
		"two\"\n" +
		"CRLF=windows\r\n" +
		"QCRLF='quoted'\r\n" +
		"URL=https://example.com/?a=1&b=2\n" +
		"LAST=no newline at the end"
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	metas, err := m.Import(context.Background(), "ws", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"PLAIN":    "hello world",
		"EXPORTED": "yes",
		"INDENTED": "spaced",
		"HASH":     "a#b",
		"EMPTY":    "",
		"SINGLE":   `it has $HOME and \n and "quotes"`,
		"DOUBLE":   "line1\nline2\t\"q\" \\ $HOME \\x",
		"MULTI":    "first\nsecond",
		"PEM":      "-----BEGIN-----\nabc\n-----END-----",
		"JOINED":   "it's",
		"CONT":     "one two",
		"CRLF":     "windows",
		"QCRLF":    "quoted",
		"URL":      "https://example.com/?a=1&b=2",
		"LAST":     "no newline at the end",
	}
	if d := cmp.Diff(want, envMap(t, m, "ws")); d != "" {
		t.Fatalf("imported values (-want +got):\n%s", d)
	}
	if len(metas) != len(want) || metas[0].Name != "CONT" {
		t.Fatalf("Import returned %d metas, first %+v", len(metas), metas[0])
	}
}

func TestImportErrors(t *testing.T) {
	const canary = "VALUE-CANARY-42"
	tests := []struct {
		text string
		line int
		want error
	}{
		{"A=1\nB='" + canary + "\n", 2, secrets.ErrInvalidDotenv},       // unterminated single quote
		{"A=\"" + canary + "\n\nB=2\n", 1, secrets.ErrInvalidDotenv},    // unterminated double quote
		{"A='" + canary + "' junk\n", 1, secrets.ErrInvalidDotenv},      // text after the quote
		{"A=1\n" + canary + "\n", 2, secrets.ErrInvalidDotenv},          // no =
		{"A=1\n9BAD=" + canary + "\n", 2, secrets.ErrInvalidDotenv},     // invalid name
		{"A-B=" + canary + "\n", 1, secrets.ErrInvalidDotenv},           // invalid name
		{"A=1\n\nb=2\na=" + canary + "\n", 4, secrets.ErrInvalidDotenv}, // duplicate ignoring case
		{"LD_PRELOAD=" + canary + "\n", 1, secrets.ErrReservedName},
		{"OK='" + canary + "\x00'\n", 1, secrets.ErrInvalidValue},
		{"OK='" + strings.Repeat("x", secrets.MaxEnvString) + "'\n", 1, secrets.ErrTooLarge},
		{"A='x'\\", 1, secrets.ErrInvalidDotenv},
	}
	for _, tc := range tests {
		m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
		mustSet(t, m, "ws", "KEEP", "unchanged")
		_, err := m.Import(context.Background(), "ws", []byte(tc.text), nil)
		var de *secrets.DotenvError
		if !errors.As(err, &de) || !errors.Is(err, secrets.ErrInvalidDotenv) || tc.want != secrets.ErrInvalidDotenv && de.Reason != tc.want {
			t.Errorf("Import(%.30q): %v, want %v in a DotenvError", tc.text, err, tc.want)
			continue
		}
		if de.Line != tc.line {
			t.Errorf("Import(%.30q): line %d, want %d", tc.text, de.Line, tc.line)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("error shows a value: %v", err)
		}
		if d := cmp.Diff(map[string]string{"KEEP": "unchanged"}, envMap(t, m, "ws")); d != "" {
			t.Errorf("a refused import changed the workspace:\n%s", d)
		}
	}
}

// A name given twice is named in the error only if it is valid: one too
// long for the workspace (or, for ParseDotenv, over the default
// Config.MaxNameLength) may be a pasted value, so Import and Diff report
// it as an invalid name and ParseDotenv as a duplicate, quoting it in no
// error and no event. A valid duplicate is named, without its scope.
func TestDotenvDuplicateInvalidName(t *testing.T) {
	const marker = "PASTEDVALUE8"
	long := "tok_" + marker + strings.Repeat("Z", 300)
	text := []byte("A=1\n" + long + "=a\n" + long + "=b\n")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	ctx := context.Background()
	mustSet(t, m, "ws", "KEEP", "unchanged")
	for call, f := range map[string]func() error{
		"Import":      func() error { _, err := m.Import(ctx, "ws", text, nil); return err },
		"Diff":        func() error { _, err := m.Diff(ctx, "ws", text, nil); return err },
		"ParseDotenv": func() error { _, err := secrets.ParseDotenv(text); return err },
	} {
		err := f()
		var de *secrets.DotenvError
		if !errors.As(err, &de) || !errors.Is(err, secrets.ErrInvalidDotenv) {
			t.Fatalf("%s: %v, want a DotenvError", call, err)
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("%s: the error quotes the invalid name: %.60s…", call, err)
		}
		if want := 2; call != "ParseDotenv" && (de.Line != want || de.Reason != secrets.ErrInvalidName) {
			t.Errorf("%s: line %d, reason %v; want line %d, ErrInvalidName", call, de.Line, de.Reason, want)
		}
	}
	events, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		held := strings.Contains(e.Detail, marker)
		for _, s := range e.Secrets {
			held = held || strings.Contains(s.Name, marker)
		}
		if held {
			t.Errorf("the %s event holds the invalid name: %.80s…", e.Action, e.Detail)
		}
	}
	if d := cmp.Diff(map[string]string{"KEEP": "unchanged"}, envMap(t, m, "ws")); d != "" {
		t.Errorf("a refused import changed the workspace:\n%s", d)
	}
	_, err = m.Import(ctx, "ws", []byte("A=1\na=2\n"), &secrets.ImportOptions{Scope: "production"})
	if err == nil || !strings.Contains(err.Error(), "line 2: a is already set on line 1") {
		t.Errorf("a valid duplicate: %v, want it named without its scope", err)
	}
}

// Lines may end with a lone CR (old Mac files), and a leading UTF-8
// byte-order mark is skipped; a CR inside quotes is part of the value.
func TestImportLineEndingsAndBOM(t *testing.T) {
	for name, tc := range map[string]struct {
		text string
		want map[string]string
	}{
		"CR only":   {"A=1\rB=two words\r# comment\rC='x'\r", map[string]string{"A": "1", "B": "two words", "C": "x"}},
		"mixed":     {"A=1\r\nB=2\rC=3\n", map[string]string{"A": "1", "B": "2", "C": "3"}},
		"BOM":       {"\xef\xbb\xbfFIRST=1\nSECOND=2\n", map[string]string{"FIRST": "1", "SECOND": "2"}},
		"quoted CR": {"A='one\rtwo'\rB=3", map[string]string{"A": "one\rtwo", "B": "3"}},
	} {
		m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
		if _, err := m.Import(context.Background(), "ws", []byte(tc.text), nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := cmp.Diff(tc.want, envMap(t, m, "ws")); d != "" {
			t.Fatalf("%s (-want +got):\n%s", name, d)
		}
	}
	_, err := secrets.ParseDotenv([]byte("A=1\rB='unterminated\rC=3"))
	var de *secrets.DotenvError
	if !errors.As(err, &de) || de.Line != 2 {
		t.Fatalf("line of an error after CR endings: %v", err)
	}
}

// TestImportAllOrNothing: an import that the store refuses part way (over
// the budget) writes nothing; one that succeeds updates and creates.
func TestImportAllOrNothing(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{MaxEnvBytes: 200})
	mustSet(t, m, "ws", "A", "old-a")
	before := envMap(t, m, "ws")
	big := strings.Repeat("z", 120)
	_, err := m.Import(ctx, "ws", []byte("A=new-a\nB="+big+"\nC="+big+"\n"), nil)
	if !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("import over the budget: %v", err)
	}
	if d := cmp.Diff(before, envMap(t, m, "ws")); d != "" {
		t.Fatalf("a failed import changed the workspace:\n%s", d)
	}
	if _, err := m.Import(ctx, "ws", []byte("a=new-a\nB=b\n"), nil); !errors.Is(err, secrets.ErrInvalidDotenv) {
		t.Fatalf("import under another spelling: %v", err)
	}
	if _, err := m.Import(ctx, "ws", []byte("A=new-a\nB=b\n"), nil); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"A": "new-a", "B": "b"}, envMap(t, m, "ws")); d != "" {
		t.Fatalf("after import:\n%s", d)
	}
	vs, err := m.Versions(ctx, "ws", "A")
	if err != nil || len(vs) != 2 {
		t.Fatalf("A's history after import: %+v %v", vs, err)
	}
	if metas, err := m.Import(ctx, "ws", []byte("# nothing\n"), nil); err != nil || len(metas) != 0 {
		t.Fatalf("empty import: %v %v", metas, err)
	}
}

// trickyValues are values that break naive quoting.
func trickyValues() map[string]string {
	return map[string]string{
		"SINGLE_QUOTES": "it's 'quoted' ''",
		"DOUBLE_QUOTES": `say "hi" \"`,
		"DOLLARS":       "$HOME ${PATH} $(touch /tmp/secrets-pwned) `id` $((1+1))",
		"BACKSLASHES":   `C:\dir\n\t\\ \`,
		"NEWLINES":      "a\nb\r\nc\n\n",
		"LEADING":       "  spaces and\ttabs  ",
		"COMMENT":       "value # not a comment",
		"EQUALS":        "a=b=c",
		"UNICODE":       "pässwörd ✓ 秘密",
		"BINARY":        string(binaryValue()),
		"EMPTY":         "",
		"BANG":          "!! !$ !-1",
		"PEM":           string(pemKey()),
	}
}

func TestExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	vals := trickyValues()
	for n, v := range vals {
		mustSet(t, m, "ws", n, v)
	}
	text, err := m.Export(ctx, "ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	m2 := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	if _, err := m2.Import(ctx, "copy", text, nil); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(vals, envMap(t, m2, "copy")); d != "" {
		t.Fatalf("export then import (-want +got):\n%s", d)
	}
}

// TestExportIsSafeToSource sources the export in real shells (bash,
// bash --posix, dash, /bin/sh, busybox sh, mksh, ksh93, zsh -f; set -a;
// . file): every variable holds its exact value and nothing ran. Names a
// shell acts on when a file assigns them (OPTIND, RANDOM: arithmetic that
// runs command substitution; EUID: read-only; _: reset), which Set
// refuses but an earlier release or Config.AllowNames may have let in,
// and those only mksh, ksh93 or zsh act on (COLUMNS, TMOUT, SHLVL), which
// Set accepts, are commented out, not assigned: the shells neither run
// their values nor stop before the lines after them.
func TestExportIsSafeToSource(t *testing.T) {
	ctx := context.Background()
	shellVars := []string{"OPTIND", "RANDOM", "SRANDOM", "HISTCMD", "EUID", "UID", "PPID", "BASH_VERSINFO",
		"BASH_COMPAT", "BASH_XTRACEFD", "BASHOPTS", "SHELLOPTS", "SECONDS", "LINENO", "GROUPS", "_"}
	allow := append([]string{"epochseconds"}, shellVars...)
	// Set accepts these: only other shells than bash and dash act on them.
	otherShellVars := []string{"COLUMNS", "LINES", "TMOUT", "KSHUID", "KSHGID", "KSHEGID", "USER_ID", "PGRP",
		"HISTSIZE", "KSH_VERSION", "SHLVL", "JOBMAX", "MAILCHECK", "SAVEHIST", "FUNCNEST", "GID", "EGID", "ERRNO",
		"TRY_BLOCK_ERROR", "TRY_BLOCK_INTERRUPT", "KEYTIMEOUT", "LISTMAX", "ZLE_RPROMPT_INDENT"}
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{AllowNames: allow})
	vals := trickyValues()
	dir := t.TempDir()
	vals["DOLLARS"] = "$(touch " + dir + "/pwned) `touch " + dir + "/pwned2` ${HOME}"
	vals["epochseconds"] = "lower case is any variable to a shell" // shells' names are case sensitive
	for n, v := range vals {
		mustSet(t, m, "ws", n, v)
	}
	for _, n := range shellVars {
		mustSet(t, m, "ws", n, "a[$(touch "+dir+"/pwned-"+n+")]")
	}
	for _, n := range otherShellVars {
		mustSet(t, m, "ws", n, "PWD[$(touch "+dir+"/pwned-"+n+")]") // zsh runs PWD[…], not a[…]
	}
	shellVars = append(shellVars, otherShellVars...)
	text, err := m.Export(ctx, "ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range shellVars {
		if !bytes.Contains(text, []byte("\n# "+n+" is a shell's own variable: not exported\n")) {
			t.Errorf("the export does not say it left %s out:\n%s", n, text)
		}
	}
	// Its event lists them as withheld, not as exported (a review found
	// them listed as delivered).
	es, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionExport, Newest: true, Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("the export's event: %v, %v", es, err)
	}
	withheld := map[string]bool{}
	for _, s := range es[0].Secrets {
		withheld[s.Name] = s.Withheld
	}
	for _, n := range shellVars {
		if w, ok := withheld[n]; !ok || !w {
			t.Errorf("the export's event lists %s as exported (%v) or not at all (%v)", n, !w, !ok)
		}
	}
	if withheld["DOLLARS"] {
		t.Error("the export's event lists DOLLARS as withheld")
	}
	envFile := filepath.Join(dir, "exported.env")
	if err := os.WriteFile(envFile, text, 0o600); err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	fmt.Fprintf(&script, "set -a; . %s\n", envFile)
	for n := range vals {
		fmt.Fprintf(&script, "printf '%%s' \"$%s\" > %s/%s.out\n", n, dir, n)
	}
	shells := [][]string{{"/bin/sh"}, {"bash"}, {"bash", "--posix"}, {"dash"}, {"busybox", "sh"}, {"mksh"}, {"ksh93"}, {"zsh", "-f"}}
	for _, sh := range shells {
		needProgram(t, sh[0])
	}
	for _, sh := range shells {
		for n := range vals { // a shell that stopped early must not find the last one's
			_ = os.Remove(filepath.Join(dir, n+".out"))
		}
		out, err := exec.Command(sh[0], append(sh[1:], "-c", script.String())...).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Fatalf("%s: %v: %s", sh, err, out)
		}
		for n, v := range vals {
			got, err := os.ReadFile(filepath.Join(dir, n+".out"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, []byte(v)) {
				t.Errorf("%s: $%s = %q, want %q", sh, n, got, v)
			}
		}
		ran, err := filepath.Glob(filepath.Join(dir, "pwned*"))
		if err != nil || len(ran) > 0 {
			t.Fatalf("%s: sourcing the export ran a command: %v %v", sh, ran, err)
		}
	}
}

// FuzzDotenvRoundTrip: any values without NUL survive export and import
// byte for byte.
func FuzzDotenvRoundTrip(f *testing.F) {
	for _, v := range trickyValues() {
		f.Add(v, "x'y")
	}
	f.Add("'\\''", "\"\\\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.ContainsRune(a, 0) || strings.ContainsRune(b, 0) || len(a)+len(b) > 64<<10 {
			return
		}
		ctx := context.Background()
		m := newManager(t, secrets.NewMemoryStore(), fuzzCipher, nil)
		want := map[string]string{"A": a, "B": b}
		for n, v := range want {
			mustSet(t, m, "ws", n, v)
		}
		text, err := m.Export(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Import(ctx, "copy", text, nil); err != nil {
			t.Fatalf("import of an export: %v\n%q", err, text)
		}
		if d := cmp.Diff(want, envMap(t, m, "copy")); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
	})
}

// FuzzImport: any text either imports or fails with a DotenvError; it
// never panics, and what it imports exports back to the same values.
func FuzzImport(f *testing.F) {
	f.Add([]byte("A=1\nB='x'\nC=\"y\\n\"\n"))
	f.Add([]byte("export A='it'\\''s' # c\r\n"))
	f.Add([]byte("A=\"unterminated"))
	f.Add([]byte("A='x'\\"))
	f.Fuzz(func(t *testing.T, text []byte) {
		ctx := context.Background()
		m := newManager(t, secrets.NewMemoryStore(), fuzzCipher, &secrets.Config{MaxEnvBytes: -1})
		if _, err := m.Import(ctx, "ws", text, nil); err != nil {
			var de *secrets.DotenvError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a DotenvError: %v", err)
			}
			return
		}
		first := envMap(t, m, "ws")
		out, err := m.Export(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Import(ctx, "again", out, nil); err != nil {
			t.Fatalf("re-import: %v", err)
		}
		if d := cmp.Diff(first, envMap(t, m, "again")); d != "" {
			t.Fatalf("re-import differs:\n%s", d)
		}
	})
}
