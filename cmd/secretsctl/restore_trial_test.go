package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// restore -i refuses an unencrypted backup; the preview says whether the
// backup is encrypted and quotes a container that holds control
// characters; a plan applies only with its own backup.
func TestRestoreTrialFixes(t *testing.T) {
	e := newEnv(t)
	e.ctl("v-a", "set", "src", "PLAIN").want(t, 0)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(e.dir, "backup.key")
	os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600)
	plainA := filepath.Join(e.dir, "a.json")
	e.ctl("", "backup", "-o", plainA, "src").want(t, 0)
	e.ctl("", "restore", "-i", idFile, "--preview", "dst", plainA).wantErr(t, 5, "not encrypted")
	r := e.ctl("", "restore", "--preview", "dst", plainA).want(t, 0)
	if !strings.Contains(r.stdout, "NOT encrypted") {
		t.Fatalf("preview:\n%s", r.stdout)
	}

	// A container with an escape sequence is shown quoted.
	b, _ := os.ReadFile(plainA)
	evil := filepath.Join(e.dir, "evil.json")
	os.WriteFile(evil, []byte(strings.Replace(string(b), `"container": "src"`, `"container": "src\u001b[8m"`, 1)), 0o600)
	r = e.ctl("", "restore", "--preview", "dst", evil).want(t, 0)
	if strings.Contains(r.stdout, "\x1b") || !strings.Contains(r.stdout, `"src\x1b[8m"`) {
		t.Fatalf("preview of a container with ESC:\n%q", r.stdout)
	}

	// The plan of A does not apply B.
	planA := filepath.Join(e.dir, "plan-a.json")
	r = e.ctl("", "restore", "--preview", "--json", "dst", plainA).want(t, 0)
	os.WriteFile(planA, []byte(r.stdout), 0o600)
	e.ctl("v-b", "set", "src", "PLAIN").want(t, 0)
	plainB := filepath.Join(e.dir, "b.json")
	e.ctl("", "backup", "-o", plainB, "src").want(t, 0)
	e.ctl("", "restore", "--plan", planA, "dst", plainB).wantErr(t, 4, "another backup")
	e.ctl("", "get", "dst", "PLAIN").wantErr(t, 3)
	e.ctl("", "restore", "--plan", planA, "dst", plainA).want(t, 0)
	if e.value("dst", "PLAIN") != "v-a" {
		t.Fatalf("the plan of A did not restore A")
	}

	sealed := filepath.Join(e.dir, "sealed.json")
	e.ctl("", "backup", "-r", id.Recipient().String(), "-o", sealed, "src").want(t, 0)
	r = e.ctl("", "restore", "-i", idFile, "--preview", "dst", sealed).want(t, 0)
	if !strings.Contains(r.stdout, "encrypted (age)") {
		t.Fatalf("preview:\n%s", r.stdout)
	}
}
