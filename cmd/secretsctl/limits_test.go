package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// sparse makes a file of n NUL bytes that takes no disk.
func sparse(t *testing.T, e *env, name string, n int64) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	f, err := os.Create(p)
	if err == nil {
		err = f.Truncate(n)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A --plan or --audit-key file is read up to a bound: /dev/zero or a
// file over it is refused in one line (not an out-of-memory crash, exit
// 2), and nothing changes.
func TestInputFileBounds(t *testing.T) {
	e := newEnv(t)
	e.ctl("v\n", "set", "ws", "A").want(t, 0)
	text := filepath.Join(e.dir, "ws.env")
	os.WriteFile(text, []byte("A=w\n"), 0o600)
	doc := filepath.Join(e.dir, "doc.json")
	os.WriteFile(doc, []byte("{}"), 0o600)

	planLimit := int64(secrets.DefaultMaxSecrets)*planBytesPerSecret + 1<<20
	bigPlan := sparse(t, e, "big-plan.json", planLimit+1)
	for _, plan := range []string{"/dev/zero", bigPlan} {
		for _, args := range [][]string{
			{"apply", "--plan", plan, "--file", text, "ws"},
			{"restore", "--plan", plan, "ws", doc},
			{"restore", "--at", "1h", "--plan", plan, "ws"},
		} {
			e.ctl("", args...).wantErr(t, 5, "--plan "+plan+": over "+strconv.FormatInt(planLimit, 10)+" bytes")
		}
	}
	bigKey := sparse(t, e, "big-audit-key.json", maxAuditKeyRead+1)
	for _, key := range []string{"/dev/zero", bigKey} {
		e.ctl("", "--audit-key", key, "list", "ws").wantErr(t, 1, "audit key "+key+": over "+strconv.Itoa(maxAuditKeyRead)+" bytes")
	}
	if v := e.value("ws", "A"); v != "v" {
		t.Fatalf("the value changed: %q", v)
	}
}

// restore reads a backup up to the library's limit (8 MiB with the
// default limits) and a little more (backupReadMargin), not 256 MiB; the
// error for a backup over it says what the limit is in the operator's
// words, not the library's RestoreOptions.MaxBytes, which has no flag.
func TestRestoreBound(t *testing.T) {
	e := newEnv(t)
	const limit = 4*(1<<20) + 4<<20 // 4 × the default Config.MaxEnvBytes + 4 MiB
	big := sparse(t, e, "big.json", limit+1)
	for _, file := range []string{big, "/dev/zero"} {
		r := e.ctl("", "restore", "--yes", "ws", file).wantErr(t, 5, "over the "+strconv.Itoa(limit), "largest workspace")
		if strings.Contains(r.stderr, "RestoreOptions") {
			t.Fatalf("restore %s: %q", file, r.stderr)
		}
	}
	e.ctl("", "restore", "--yes", "ws", big).wantErr(t, 5, "takes "+strconv.Itoa(limit+1)+" bytes")
	// A file one byte over the bound is not read whole (the library, had
	// it been, would say how many bytes it takes).
	over := sparse(t, e, "over.json", limit+backupReadMargin+1)
	if r := e.ctl("", "restore", "--yes", "ws", over).wantErr(t, 5, "over the "+strconv.Itoa(limit)); strings.Contains(r.stderr, "takes") {
		t.Fatalf("restore read a file past its bound: %q", r.stderr)
	}
}
