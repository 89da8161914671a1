package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// restore --at previews and restores a workspace as it was at a time:
// an old value back as a new version, a deleted secret undeleted, a new
// one soft-deleted; --plan applies exactly the preview, or nothing after
// a concurrent change; no value is ever printed.
func TestRestoreAt(t *testing.T) {
	e := newEnv(t)
	e.ctl("v-a-value-1", "set", "ws", "A").want(t, 0)
	e.ctl("v-b-value-1", "set", "ws", "B").want(t, 0)
	time.Sleep(20 * time.Millisecond)
	at := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(20 * time.Millisecond)
	e.ctl("v-a-value-2", "set", "ws", "A").want(t, 0)
	e.ctl("", "delete", "ws", "B").want(t, 0)
	e.ctl("v-c-value-1", "set", "ws", "C").want(t, 0)

	e.ctl("", "restore", "ws", "--at", at).wantErr(t, 2, "--yes")
	e.ctl("", "restore", "ws", "extra", "--at", at).wantErr(t, 2, "WORKSPACE --at TIME")
	e.ctl("", "restore", "ws", "--at", "yesterday-ish").wantErr(t, 2, "--at")
	e.ctl("", "restore", "--remove", "ws", "--at", at).wantErr(t, 2, "--remove")
	r := e.ctl("", "restore", "--preview", "ws", "--at", at).want(t, 0)
	for _, want := range []string{"~ A", "version 2: a new version with the value of version 1", "+ B", "- C",
		"1 new versions, 1 undeleted, 1 deleted, 0 unchanged, 0 cannot be restored"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("preview lacks %q:\n%s", want, r.stdout)
		}
	}
	// A duration back from now: before the workspace had anything.
	r = e.ctl("", "restore", "--preview", "ws", "--at", "1h").want(t, 0)
	if !strings.Contains(r.stdout, "- A") || !strings.Contains(r.stdout, "- C") {
		t.Errorf("preview at 1h ago:\n%s", r.stdout)
	}

	planFile := filepath.Join(e.dir, "plan.json")
	r = e.ctl("", "restore", "--preview", "--json", "ws", "--at", at).want(t, 0)
	os.WriteFile(planFile, []byte(r.stdout), 0o600)
	e.ctl("v-a-value-3", "set", "ws", "A").want(t, 0) // meanwhile
	e.ctl("", "restore", "--plan", planFile, "ws", "--at", at).wantErr(t, 4, "preview again")
	if r := e.ctl("", "get", "ws", "A").want(t, 0); !strings.Contains(r.stdout, "v-a-value-3") {
		t.Fatalf("a refused restore changed A: %q", r.stdout)
	}

	r = e.ctl("", "restore", "--preview", "--json", "ws", "--at", at).want(t, 0)
	os.WriteFile(planFile, []byte(r.stdout), 0o600)
	e.ctl("", "restore", "--plan", planFile, "ws", "--at", "2020-01-02").wantErr(t, 2, "not to --at")
	r = e.ctl("", "restore", "--plan", planFile, "--json", "ws", "--at", at).want(t, 0)
	var out restoredAt
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Secrets) != 2 {
		t.Fatalf("restore --json: %v\n%s", err, r.stdout)
	}
	for name, want := range map[string]string{"A": "v-a-value-1", "B": "v-b-value-1"} {
		if r := e.ctl("", "get", "ws", name).want(t, 0); !strings.Contains(r.stdout, want) {
			t.Errorf("after the restore, %s is %q, want %s", name, r.stdout, want)
		}
	}
	e.ctl("", "get", "ws", "C").want(t, 3)
	r = e.ctl("", "restore", "--yes", "ws", "--at", at).want(t, 0)
	if !strings.Contains(r.stdout, "0 new versions, 0 undeleted, 0 deleted") {
		t.Errorf("a second restore to the same time:\n%s", r.stdout)
	}
	evs := e.ctl("", "events", "--json", "--limit", "100").want(t, 0)
	for _, s := range []string{r.stdout, r.stderr, evs.stdout} {
		if strings.Contains(s, "-value-") {
			t.Errorf("a value in the output: %s", s)
		}
	}
}
