package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

type result struct {
	code           int
	stdout, stderr string
}

// ctl runs secretsctl in-process with the given stdin.
func ctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"secretsctl"}, args...), strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// database returns DATABASE_URL and a fresh schema name, dropped at the
// end. Without a database the test skips, unless CI is set.
func database(t *testing.T) (string, string) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but DATABASE_URL is empty (use scripts/test)")
		}
		t.Skip("DATABASE_URL is not set")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "cli_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		db, err := sqlx.Open("postgres", url)
		if err == nil {
			db.Exec("DROP SCHEMA IF EXISTS " + pq.QuoteIdentifier(schema) + " CASCADE")
			db.Close()
		}
	})
	return url, schema
}

func TestEndToEnd(t *testing.T) {
	url, schema := database(t)
	dir := t.TempDir()
	oldKey, newKey := filepath.Join(dir, "old.json"), filepath.Join(dir, "new.json")
	ctl(t, "", "keygen", "--out", oldKey).want(t, 0)
	ctl(t, "", "keygen", "--out", newKey).want(t, 0)
	if fi, err := os.Stat(oldKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	g := []string{"--database-url", url, "--schema", schema, "--master-key", oldKey, "--actor", "ops:test"}
	with := func(args ...string) []string { return append(append([]string{}, g...), args...) }

	ctl(t, "", with("migrate")...).want(t, 0)
	ctl(t, "", with("migrate")...).want(t, 0) // idempotent
	const token = "tok_live_Q7x2Lm9PzR"
	ctl(t, token+"\n", with("set", "ws1", "AUTH_TOKEN")...).want(t, 0)
	pem := filepath.Join(dir, "key.pem")
	os.WriteFile(pem, []byte("-----BEGIN KEY-----\nabcdefghij\n-----END KEY-----\n"), 0o600)
	ctl(t, "", with("set", "--file", pem, "--keep-newline", "ws1", "TLS_KEY")...).want(t, 0)
	ctl(t, "x", with("set", "ws2", "OTHER")...).want(t, 0)

	list := ctl(t, "", with("list", "ws1")...).want(t, 0)
	if !strings.Contains(list.stdout, "AUTH_TOKEN") || !strings.Contains(list.stdout, "ops:test") || strings.Contains(list.stdout, token) {
		t.Fatalf("list:\n%s", list.stdout)
	}

	// The job sees the value exactly (no trailing newline) and its output
	// is redacted; its exit status is secretsctl's.
	r := ctl(t, "", with("run", "ws1", "--", "sh", "-c", `printf '%s|%s' "$AUTH_TOKEN" "${#AUTH_TOKEN}"; printf '%s' "$AUTH_TOKEN" >&2; exit 4`)...)
	r.want(t, 4)
	if r.stdout != "***|"+strconv.Itoa(len(token)) || r.stderr != "***" {
		t.Fatalf("run output: %q / %q", r.stdout, r.stderr)
	}
	r = ctl(t, "", with("run", "ws1", "--", "sh", "-c", `kill -TERM $$`)...)
	r.want(t, 128+15)

	exp := ctl(t, "", with("export", "ws1")...).want(t, 0)
	if !strings.Contains(exp.stdout, "AUTH_TOKEN='"+token+"'") || !strings.Contains(exp.stdout, "abcdefghij\n-----END KEY-----\n'") {
		t.Fatalf("export:\n%s", exp.stdout)
	}
	ctl(t, exp.stdout, with("import", "ws3")...).want(t, 0)
	if again := ctl(t, "", with("export", "ws3")...).want(t, 0); again.stdout != exp.stdout {
		t.Fatalf("export of the import differs:\n%s\n%s", again.stdout, exp.stdout)
	}

	rot := ctl(t, "", with("rotate", "ws1")...).want(t, 0)
	if !strings.Contains(rot.stdout, "2 versions re-encrypted, 1 old keys disabled") {
		t.Fatalf("rotate: %s", rot.stdout)
	}
	all := ctl(t, "", with("rotate", "--all")...).want(t, 0)
	for _, ws := range []string{"ws1:", "ws2:", "ws3:"} {
		if !strings.Contains(all.stdout, ws) {
			t.Fatalf("rotate --all skipped %s: %s", ws, all.stdout)
		}
	}

	// Move to the new master key; then the old one is of no use.
	gNew := []string{"--database-url", url, "--schema", schema, "--master-key", newKey}
	rw := ctl(t, "", append(gNew, "--old-master-key", oldKey, "rewrap")...).want(t, 0)
	if !strings.Contains(rw.stdout, "3 workspace keys re-wrapped") {
		t.Fatalf("rewrap: %s", rw.stdout)
	}
	if r := ctl(t, "", append(gNew, "run", "ws1", "--", "sh", "-c", `test "$AUTH_TOKEN" = `+token)...); r.code != 0 {
		t.Fatalf("new master key: %+v", r)
	}
	if r := ctl(t, "", with("export", "ws1")...); r.code != 1 || !strings.Contains(r.stderr, "cannot decrypt AUTH_TOKEN") || !strings.Contains(r.stderr, "does not have") {
		t.Fatalf("old master key after rewrap: %+v", r)
	}

	ctl(t, "", append(gNew, "rm", "ws1", "AUTH_TOKEN")...).want(t, 0)
	ctl(t, "", append(gNew, "rm", "ws1", "AUTH_TOKEN")...).want(t, 1)
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.json")
	ctl(t, "", "keygen", "--out", key).want(t, 0)
	before, _ := os.ReadFile(key)
	ctl(t, "", "keygen", "--out", key).want(t, 1) // never overwritten
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Fatal("keygen overwrote a key")
	}
	g := []string{"--database-url", "postgres://127.0.0.1:1/none?sslmode=disable", "--master-key", key}
	for _, args := range [][]string{
		{"bogus"},
		{"set", "ws"},
		{"list"},
		{"rotate"},
		{"run", "ws"},
		{"--kms", "aws-kms://x", "list", "ws"}, // two master keys
	} {
		ctl(t, "", append(append([]string{}, g...), args...)...).want(t, 2)
	}
	ctl(t, "", "list", "ws").want(t, 2) // no database
	// A value on the command line is refused, and not repeated.
	r := ctl(t, "", append(g, "set", "ws", "NAME", "s3cr3t-on-argv")...).want(t, 2)
	if strings.Contains(r.stderr, "s3cr3t-on-argv") {
		t.Fatalf("usage error repeats the value: %s", r.stderr)
	}
	// An unreachable database is an operational error.
	ctl(t, "", append(g, "list", "ws")...).want(t, 1)
}
