package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// TestPostgresReflaggedRows: someone who can write the database clears a
// secret's write-only or protected flag on its row (and on its newest
// version's row), where only the ciphertext authenticates the flags. No
// read reveals a write-only version, and no write of the Manager's takes
// the row's flags into a version it seals (a Rollback or a Set would
// otherwise make a protected value an unprotected job's, or a write-only
// one readable): they fail as the tampered value does, and change nothing.
// A row whose name_key is changed does not answer for another name. (An
// outside trial reproduced each before the fix.)
func TestPostgresReflaggedRows(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	c := newCipher(t)
	m := newManager(t, s, c, nil)
	ctx := context.Background()
	sch := pq.QuoteIdentifier(s.Schema())
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(strings.ReplaceAll(q, "S.", sch+".")); err != nil {
			t.Fatal(err)
		}
	}
	set := func(name, value string, info *secrets.Info) {
		t.Helper()
		if _, err := m.Set(ctx, "ws", name, []byte(value), &secrets.SetOptions{Info: info}); err != nil {
			t.Fatal(err)
		}
	}
	state := func() string { return storeState(t, s, "ws") }
	refused := func(what string, err error, value string, got []byte) {
		t.Helper()
		if err == nil || value != "" && strings.Contains(string(got), value) {
			t.Fatalf("%s: %v, %q", what, err, got)
		}
		if !errors.Is(err, secrets.ErrDecrypt) && !errors.Is(err, secrets.ErrWriteOnly) {
			t.Fatalf("%s: %v, want ErrDecrypt or ErrWriteOnly", what, err)
		}
	}

	// Write-only from the start: an older version stays write-only.
	// Readable at first, write-only since: no version is revealed.
	// Protected: never an unprotected job's.
	set("WO", "wo-v1-canary-value", &secrets.Info{WriteOnly: true})
	set("LATE", "late-v1-canary-value", nil)
	set("PROT", "prot-v1-canary-value", &secrets.Info{Protected: true})
	firsts := time.Now()
	time.Sleep(10 * time.Millisecond)
	set("WO", "wo-v2-canary-value", &secrets.Info{WriteOnly: true})
	set("LATE", "late-v2-canary-value", &secrets.Info{WriteOnly: true})
	set("PROT", "prot-v2-canary-value", &secrets.Info{Protected: true})
	// A backup of another workspace where LATE and PROT are readable.
	set2 := newManager(t, s, c, nil)
	for _, n := range []string{"LATE", "PROT"} {
		if _, err := set2.Set(ctx, "src", n, []byte("backup-canary-value"), nil); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := set2.Backup(ctx, "src", nil)
	if err != nil {
		t.Fatal(err)
	}
	set("OPEN", "open-canary-value", nil)
	set("OTHER", "other-canary-value", nil)
	exec(`UPDATE S.secrets SET flags = flags & ~1 WHERE workspace = 'ws' AND name IN ('WO', 'LATE')`)
	exec(`UPDATE S.versions SET flags = flags & ~1 WHERE workspace = 'ws' AND name IN ('WO', 'LATE') AND version = 2`)
	exec(`UPDATE S.secrets SET flags = flags & ~4 WHERE workspace = 'ws' AND name = 'PROT'`)
	before := state()
	// Another replica, or this one restarted: nothing remembered (the
	// writer's own entries are checked below).
	writer := m
	m = newManager(t, s, c, nil)

	for _, r := range []struct{ name, value string }{{"WO", "wo-v1-canary-value"}, {"LATE", "late-v1-canary-value"}} {
		sec, err := m.GetVersion(ctx, "ws", r.name, 1)
		var got []byte
		if err == nil {
			got = sec.Value.Reveal()
		}
		refused("GetVersion 1 of "+r.name, err, r.value, got)
		_, err = m.Rollback(ctx, "ws", r.name, 1, nil)
		refused("Rollback of "+r.name, err, r.value, nil)
	}
	_, err = m.Rollback(ctx, "ws", "PROT", 1, nil)
	refused("Rollback of PROT", err, "", nil)
	// A point-in-time restore to the first versions, an Import, and a
	// backup's restore write versions too.
	if at, err := m.PreviewRestoreAt(ctx, "ws", firsts); err == nil {
		_, err = m.RestoreAt(ctx, "ws", at)
		refused("RestoreAt", err, "", nil)
	} else {
		refused("PreviewRestoreAt", err, "", nil)
	}
	_, err = m.Import(ctx, "ws", []byte("PROT=imported-canary-value\n"), nil)
	refused("Import over PROT", err, "", nil)
	_, err = m.Import(ctx, "ws", []byte("LATE=imported-canary-value\n"), nil)
	refused("Import over LATE", err, "", nil)
	_, err = m.PreviewRestore(ctx, "ws", doc, nil)
	refused("PreviewRestore over LATE and PROT", err, "", nil)
	_, err = m.Set(ctx, "ws", "PROT", []byte("prot-v3-canary-value"), nil)
	refused("Set of PROT without Info", err, "", nil)
	_, err = m.SetInfo(ctx, "ws", "PROT", secrets.Info{WriteOnly: true}, nil) // seals again
	refused("SetInfo of PROT", err, "", nil)
	if after := state(); after != before {
		t.Fatalf("a refused write changed the store:\n%s\n%s", before, after)
	}
	// A change of Info alone seals nothing and needs no key: it goes
	// through, and the value stays sealed as protected.
	if _, err := m.SetInfo(ctx, "ws", "PROT", secrets.Info{Description: "deploy key"}, nil); err != nil {
		t.Fatal(err)
	}
	env, err := m.EnvFor(ctx, "ws")
	for _, kv := range env {
		if strings.Contains(kv, "canary") && !strings.HasPrefix(kv, "OPEN=") && !strings.HasPrefix(kv, "OTHER=") {
			t.Fatalf("an unprotected job got %s", kv[:strings.IndexByte(kv, '=')])
		}
	}
	if err == nil {
		t.Fatal("EnvFor of the re-flagged workspace did not fail")
	}

	// The Manager that wrote PROT remembers the flags it sealed, and seals
	// the next version with them, not the row's: still protected.
	if _, err := writer.Set(ctx, "ws", "PROT", []byte("prot-v3-canary-value"), nil); err != nil {
		t.Fatal(err)
	}
	if meta, err := m.Meta(ctx, "ws", "PROT"); err != nil || !meta.Info.Protected {
		t.Fatalf("PROT after its writer's Set: %+v, %v", meta.Info, err)
	}

	// name_key pointed at another row.
	exec(`UPDATE S.secrets SET name_key = 'zzz' WHERE workspace = 'ws' AND name = 'OPEN'`)
	exec(`UPDATE S.secrets SET name_key = 'open' WHERE workspace = 'ws' AND name = 'OTHER'`)
	if sec, err := m.Get(ctx, "ws", "OPEN"); err == nil || sec.Name == "OTHER" {
		t.Fatalf("Get OPEN after its name_key moved: %v %q", err, sec.Name)
	}
}
