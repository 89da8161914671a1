package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// set --expand and info --expand[=false] opt a secret in to ${NAME}
// references; meta and list show it; a real job gets the expansion,
// masked in its output; a name no scope defines is a warning on stderr;
// references that form a cycle are refused (exit 5) and print no value.
func TestExpand(t *testing.T) {
	e := newEnv(t)
	const password = "pg-pass-canary-5d2f91"
	const raw = "postgres://app:${DB_PASSWORD}@db/app"
	expanded := "postgres://app:" + password + "@db/app"
	noValue := func(r result) {
		t.Helper()
		for _, v := range []string{password, expanded} {
			if strings.Contains(r.stdout+r.stderr, v) {
				t.Fatalf("the output shows a value:\n%s\n%s", r.stdout, r.stderr)
			}
		}
	}
	e.ctl(password, "set", "ws", "DB_PASSWORD").want(t, 0)
	r := e.ctl(raw, "set", "--expand", "ws", "DATABASE_URL").want(t, 0)
	if r.stdout != "DATABASE_URL set: revision 1, version 1\n" || r.stderr != "" {
		t.Fatalf("set --expand: %q / %q", r.stdout, r.stderr)
	}
	if m := e.meta("ws", "DATABASE_URL"); !m.Expand || len(m.Undefined) != 0 {
		t.Fatalf("meta of DATABASE_URL: %+v", m)
	}
	if m := e.meta("ws", "DB_PASSWORD"); m.Expand {
		t.Fatalf("DB_PASSWORD expands: %+v", m)
	}
	r = e.run(call{noKey: true}, "meta", "ws", "DATABASE_URL").want(t, 0)
	if !strings.Contains(r.stdout, "expand:") || !strings.Contains(strings.SplitAfter(r.stdout, "expand:")[1], "yes") {
		t.Errorf("meta:\n%s", r.stdout)
	}
	r = e.run(call{noKey: true}, "list", "ws").want(t, 0)
	noValue(r)
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")[1:] {
		if name := strings.Fields(l)[0]; strings.Contains(l, "expands") != (name == "DATABASE_URL") {
			t.Errorf("list: the expands marker of %s: %q", name, l)
		}
	}
	// get returns the raw text, never the expansion.
	if r := e.ctl("", "get", "ws", "DATABASE_URL").want(t, 0); r.stdout != raw {
		t.Errorf("get: %q", r.stdout)
	}

	// A real job: the expansion is in its environment (its digest says
	// so) and masked in its output, as a whole.
	r = e.ctl("", "run", "ws", "--", "sh", "-c", `echo "$DATABASE_URL"; printf %s "$DATABASE_URL" | sha256sum`).want(t, 0)
	noValue(r)
	sum := sha256.Sum256([]byte(expanded))
	lines := strings.Split(r.stdout, "\n")
	if len(lines) < 2 || lines[0] != "***" || !strings.HasPrefix(lines[1], hex.EncodeToString(sum[:])) {
		t.Fatalf("the job's output: %q", r.stdout)
	}
	r = e.ctl("", "run", "ws", "--", "sh", "-c", `echo "$DATABASE_URL"`).want(t, 0)
	noValue(r)
	if strings.Contains(r.stdout, "postgres://") || strings.Contains(r.stdout, "db/app") {
		t.Fatalf("echo $DATABASE_URL: %q", r.stdout)
	}

	// A name no scope defines: saved, with a warning on stderr.
	r = e.ctl("redis://${REDIS_HOST}:6379", "set", "--expand", "ws2", "REDIS_URL").want(t, 0)
	if !strings.Contains(r.stderr, "warning: REDIS_URL references names not defined in any scope yet: REDIS_HOST") {
		t.Errorf("set of an undefined reference: stderr %q", r.stderr)
	}
	// Its info checks its references: without the master key, a usage
	// error that says so.
	e.run(call{noKey: true}, "info", "--description", "cache", "ws2", "REDIS_URL").wantErr(t, 2, "master key", "REDIS_URL")
	// --json prints the same metadata, and the warning still on stderr.
	r = e.ctl("", "info", "--json", "--description", "cache", "ws2", "REDIS_URL").want(t, 0)
	var m secrets.Meta
	r.decode(t, &m)
	if !m.Expand || strings.Join(m.Undefined, ",") != "REDIS_HOST" || !strings.Contains(r.stderr, "REDIS_HOST") {
		t.Errorf("info --json: %+v / %q", m, r.stderr)
	}

	// A cycle is refused, with set --expand and with info --expand, and
	// changes nothing.
	r = e.ctl("x-${DATABASE_URL}", "set", "--expand", "ws", "DB_PASSWORD").wantErr(t, 5, "cycle", "DB_PASSWORD", "DATABASE_URL")
	noValue(r)
	if r.stdout != "" {
		t.Fatalf("a refused set printed %q", r.stdout)
	}
	if m := e.meta("ws", "DB_PASSWORD"); m.Expand || m.Version != 1 {
		t.Fatalf("the refused set changed DB_PASSWORD: %+v", m)
	}
	e.ctl("x-${DATABASE_URL}", "set", "ws", "DB_PASSWORD").want(t, 0) // literal: not opted in
	r = e.ctl("", "info", "--expand", "ws", "DB_PASSWORD").wantErr(t, 5, "cycle")
	noValue(r)
	if r.stdout != "" || e.meta("ws", "DB_PASSWORD").Expand {
		t.Fatalf("a refused info: %q", r.stdout)
	}
	// --expand=false turns it off: the job gets the raw text.
	e.ctl("", "info", "--expand=false", "ws", "DATABASE_URL").want(t, 0)
	if e.meta("ws", "DATABASE_URL").Expand {
		t.Fatal("info --expand=false did not turn it off")
	}
	r = e.ctl("", "run", "ws", "--", "sh", "-c", `printf %s "$DATABASE_URL" | sha256sum`).want(t, 0)
	if sum := sha256.Sum256([]byte(raw)); !strings.HasPrefix(r.stdout, hex.EncodeToString(sum[:])) {
		t.Fatalf("the job did not get the raw text: %q", r.stdout)
	}
}
