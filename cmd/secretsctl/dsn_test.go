package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
)

// The database URL is never printed, nor a piece of its password, whatever
// the password holds: the characters a URL gives a meaning to, typed as
// they are (lib/pq then cannot parse the URL and quotes it), escaped, or
// in a key=value connection string. The host and user are the test
// database's, so the server refuses the login of every DSN that parses.
func TestDatabaseURLNotPrinted(t *testing.T) {
	t.Parallel()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but DATABASE_URL is empty (use scripts/test)")
		}
		t.Skip("DATABASE_URL is not set")
	}
	base, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	const special = "/#?@% :"
	a, b := "pwcanaryA1x", "pwcanaryB2y"
	type pwCase struct {
		pw   string
		cmds [][]string
	}
	list, migrate := []string{"list", "ws"}, []string{"migrate"}
	cases := []pwCase{
		{special + a, [][]string{list, migrate}},
		{a + special + b, [][]string{list, migrate}},
		{a + special, [][]string{list, migrate}},
	}
	for _, c := range special {
		cases = append(cases, pwCase{a + string(c) + b, [][]string{list}})
	}
	e := &env{t: t, dir: t.TempDir(), actor: "ops:test", schema: "cli_never_migrated"}
	user := base.User.Username()
	for _, c := range cases {
		escaped := *base
		escaped.User = url.UserPassword(user, c.pw)
		dsns := map[string]string{
			"as typed":  base.Scheme + "://" + user + ":" + c.pw + "@" + base.Host + base.Path + "?" + base.RawQuery,
			"escaped":   escaped.String(),
			"key=value": fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable password='%s'", base.Hostname(), base.Port(), user, strings.TrimPrefix(base.Path, "/"), strings.ReplaceAll(c.pw, "'", `\'`)),
		}
		for what, dsn := range dsns {
			for _, args := range c.cmds {
				r := e.run(call{noKey: true, env: []string{"DATABASE_URL=" + dsn}}, args...).wantErr(t, 1, "postgres")
				if out := r.stdout + r.stderr; strings.Contains(out, "canary") || strings.Contains(out, "A1x") || strings.Contains(out, "B2y") {
					t.Errorf("%s %s %q: %q", args[0], what, c.pw, out)
				}
			}
		}
	}
}

// The scrubber of secretsctl's own messages finds the password of a URL
// that does not parse, and the pieces a parser cut it into.
func TestScrubberUnparsableURL(t *testing.T) {
	s := newScrubber("postgres://u:pwcanaryA1x/#?@% :pwcanaryB2y@db.internal:5432/app")
	for _, text := range []string{
		`parse "postgres://u:pwcanaryA1x": invalid port ":pwcanaryA1x" after host`,
		`lookup pwcanaryB2y@db.internal: no such host`,
		`password "pwcanaryA1x/#?@% :pwcanaryB2y"`,
	} {
		if got := s.scrub(text); strings.Contains(got, "canary") {
			t.Errorf("%q scrubbed to %q", text, got)
		}
	}
	if got := s.scrub("cannot reach db.internal:5432"); got != "cannot reach db.internal:5432" {
		t.Errorf("the host was scrubbed: %q", got)
	}
}

// --database-url on the command line works, with a warning that ps shows
// it; DATABASE_URL gets none.
func TestDatabaseURLFlagWarns(t *testing.T) {
	e := newEnv(t)
	const warning = "secretsctl: warning: --database-url on the command line is visible to every user of this machine (ps, /proc); set DATABASE_URL instead\n"
	e.ctl("A_VALUE\n", "set", "ws", "A").want(t, 0)
	for _, args := range [][]string{
		{"--database-url", e.url, "list", "ws"},
		{"list", "--database-url=" + e.url, "ws"},
		{"-database-url", e.url, "list", "ws"},
	} {
		r := e.run(call{env: []string{"DATABASE_URL="}}, args...).want(t, 0)
		if r.stderr != warning || !strings.Contains(r.stdout, "A") {
			t.Errorf("%v: stderr %q, stdout %q", args, r.stderr, r.stdout)
		}
		if u, _ := url.Parse(e.url); u != nil {
			if p, ok := u.User.Password(); ok && strings.Contains(r.stderr, p) {
				t.Errorf("the warning shows the password")
			}
		}
	}
	if r := e.ctl("", "list", "ws").want(t, 0); r.stderr != "" {
		t.Errorf("DATABASE_URL: stderr %q", r.stderr)
	}
	// After "--" of run, it is the job's argument, not secretsctl's.
	if r := e.ctl("", "run", "ws", "--", "true", "--database-url", "x").want(t, 0); r.stderr != "" {
		t.Errorf("run: stderr %q", r.stderr)
	}
}

// TestReportScrubsOwnMessagesOnly: a password that is also a word of the
// library's messages is not told by "[redacted]" standing where the word
// stood (a CLI trial: "NOPE [redacted] exist" of a password "does not").
// The library's errors hold no password (its TestErrorsHoldNoCredentials)
// and are printed as they are; secretsctl's own messages, which may quote
// a driver or URL parser, are scrubbed; a URL that parses gives no
// pieces of its password to scrub.
func TestReportScrubsOwnMessagesOnly(t *testing.T) {
	m := memoryManager(t, nil)
	_, lib := m.Get(context.Background(), "ws", "NOPE")
	if lib == nil || !strings.Contains(lib.Error(), "not") {
		t.Fatalf("the library's error: %v", lib)
	}
	words := strings.Fields(strings.TrimPrefix(lib.Error(), "secrets: "))
	password := strings.Join(words[len(words)-2:], " ") // two words of the message
	var stderr strings.Builder
	a := &app{stderr: &stderr, scrub: newScrubber("postgres://u:" + url.PathEscape(password) + "@db.internal/app")}
	a.report(lib)
	if strings.Contains(stderr.String(), "[redacted]") {
		t.Errorf("the library's message was scrubbed, telling the password: %q", stderr.String())
	}
	stderr.Reset()
	a.report(fmt.Errorf("open: cannot parse %q", "password "+password))
	if strings.Contains(stderr.String(), password) {
		t.Errorf("secretsctl's own message was not scrubbed: %q", stderr.String())
	}
	if s := newScrubber("postgres://u:does%20not@db.internal/app"); slices.Contains(s, "does") {
		t.Errorf("a URL that parses gave pieces of its password: %q", s)
	}
}
