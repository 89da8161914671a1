package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// A workspace that holds a newline and an escape sequence, and an actor
// that holds a line separator and a bidirectional override, reach no
// table raw: events, list, versions, due and rotate
// print them quoted, one row each, and no control character but the
// line ends.
func TestControlCharactersQuoted(t *testing.T) {
	e := newEnv(t)
	ws := "ws\n9999  2026-01-01 00:00:00Z  admin  set  \x1b[2Kprod"
	// The library refuses control characters in an actor; a line
	// separator and a right-to-left override are not of them.
	actor := "ops:eve\u2028fake\u202egnp"
	e.run(call{stdin: "value-a"}, "--actor", actor, "set", "--rotate-by", "1d", ws, "A").want(t, 0)
	for _, args := range [][]string{
		{"events", ws}, {"events"}, {"list", ws}, {"versions", ws, "A"}, {"meta", ws, "A"}, {"due", "--all"}, {"rotate", "--all"},
	} {
		r := e.ctl("", args...).want(t, 0)
		rows := 0
		for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
			if strings.Contains(l, "ws") || strings.Contains(l, "ops:eve") {
				rows++
			}
			if i := strings.IndexFunc(l, func(c rune) bool { return unicode.IsControl(c) || c == '\u2028' || c == '\u202e' }); i >= 0 {
				t.Fatalf("%v: a raw control character in %q", args, l)
			}
		}
		if rows == 0 || (args[0] == "events" && (!strings.Contains(r.stdout, `"ws\n9999`) || !strings.Contains(r.stdout, `"ops:eve\u2028fake`))) {
			t.Fatalf("%v: the workspace is not shown quoted:\n%s", args, r.stdout)
		}
	}
	// Every row of events is an event's: none is broken or forged.
	r := e.ctl("", "events", ws).want(t, 0)
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")[1:] {
		if !regexp.MustCompile(`^[0-9]+ +20[0-9-]+T`).MatchString(l) {
			t.Fatalf("events: a row that is no event's: %q in\n%s", l, r.stdout)
		}
	}
}

// TestShellWord: the list's "more: --after" hint, pasted into a shell,
// gives back the name exactly and runs nothing (a CLI trial: a scope an
// editor chose ran a command).
func TestShellWord(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"API_TOKEN", "A@production", "A@review/*", "A@$(touch " + dir + "/pwned)", "A@`id`", "A@x;touch " + dir + "/pwned",
		`A@it's`, `A@"q"`, "A@a b", "A@é", "A@${HOME}", `A@\n`} {
		out, err := exec.Command("sh", "-c", "printf %s "+shellWord(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("shellWord(%q) = %s: sh gave %q, %v", s, shellWord(s), out, err)
		}
	}
	if _, err := os.Stat(dir + "/pwned"); err == nil {
		t.Error("a pasted hint ran a command")
	}
	if got := shellWord("A@production"); got != "A@production" {
		t.Errorf("a plain name is quoted: %s", got)
	}
}

// TestEscapeControls: report's backstop writes control and format
// characters as escapes and leaves the rest as it is.
func TestEscapeControls(t *testing.T) {
	for in, want := range map[string]string{
		"plain text: ok":         "plain text: ok",
		"ws\x1b[31mred":          `ws\x1b[31mred`,
		"a\u202eb\nc":            `a\u202eb\nc`,
		"bad \xff byte, é stays": `bad \xff byte, é stays`,
	} {
		if got := escapeControls(in); got != want {
			t.Errorf("escapeControls(%q) = %q, want %q", in, got, want)
		}
	}
}

// Lines that name a workspace outside the tables quote it too (a CLI
// trial: apply, restore, key, destroy and delete-workspace printed a
// workspace's escape sequence raw).
func TestWorkspaceQuotedInResults(t *testing.T) {
	e := newEnv(t)
	ws := "ws\x1b]0;TITLE\x07\x1b[2K"
	file := filepath.Join(e.dir, "a.env")
	if err := os.WriteFile(file, []byte("A=a-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"apply", ws, "--file", file, "--yes"},
		{"delete-workspace", ws, "--yes"},
	} {
		r := e.ctl("", args...)
		if strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07") {
			t.Errorf("%s printed a control character raw: %q %q", args[0], r.stdout, r.stderr)
		}
	}
}
