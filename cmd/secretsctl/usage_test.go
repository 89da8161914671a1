package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These need no database: secretsctl fails before it would connect.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	e := &env{t: t, dir: t.TempDir(), actor: "ops:test", url: "postgres://127.0.0.1:1/none?sslmode=disable"}
	key := filepath.Join(e.dir, "k.json")
	e.run(call{}, "keygen", "--out", key).want(t, 0)
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	before, _ := os.ReadFile(key)
	e.run(call{}, "keygen", "--out", key).wantErr(t, 1, "exists")
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Fatal("keygen overwrote a key")
	}
	if r := e.run(call{}, "keygen").want(t, 0); !strings.Contains(r.stdout, `"primaryKeyId"`) {
		t.Fatalf("keygen: %s", r.stdout)
	}
	e.key = key
	for _, args := range [][]string{
		{"bogus"},
		{"key", "bogus"},
		{"set", "ws"},
		{"list"},
		{"list", "ws", "extra"},
		{"list", "--bogus", "ws"},
		{"get", "ws"},
		{"rotate"},
		{"rewrap", "extra"},
		{"run", "ws"},
		{"run", "ws", "sh", "-c", "true"},
		{"--kms", "aws-kms://x", "get", "ws", "A"}, // two master keys
		{"--kms", "bogus://x", "--master-key", "", "get", "ws", "A"},
		{"--schema", "Bad-Schema", "list", "ws"},
		{"events", "--limit", "x"},
	} {
		r := e.run(call{}, args...)
		r.wantErr(t, 2)
		if strings.Contains(r.stdout+r.stderr, "USAGE") {
			t.Fatalf("%v printed the help: %s", args, r.stdout+r.stderr)
		}
	}
	e.run(call{env: []string{"DATABASE_URL="}}, "list", "ws").wantErr(t, 2, "DATABASE_URL")

	// An unreachable database is an operational failure; neither its URL
	// nor its password is printed.
	for _, url := range []string{
		"postgres://u:Sup3rSecretPw@127.0.0.1:1/db?sslmode=disable",
		"postgres://u:Sup3rSecretPw@127.0.0.1:notaport/db",
		"host=127.0.0.1 port=1 user=u password=Sup3rSecretPw sslmode=disable",
	} {
		r := e.run(call{env: []string{"DATABASE_URL=" + url}}, "list", "ws").wantErr(t, 1)
		if strings.Contains(r.stderr, "Sup3rSecretPw") || strings.Contains(r.stderr, "127.0.0.1:1/db") {
			t.Fatalf("the error shows the database URL: %s", r.stderr)
		}
	}

	// The help lists the exit statuses and needs nothing.
	r := e.run(call{env: []string{"DATABASE_URL=postgres://u:Sup3rSecretPw@h/db"}}, "--help").want(t, 0)
	for _, s := range []string{"EXIT STATUS", "4      conflict", "6      incomplete", "127", "128+N  interrupted"} {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("help lacks %q:\n%s", s, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Sup3rSecretPw") {
		t.Fatal("the help shows the database password")
	}
}
