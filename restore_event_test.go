package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestRestoreEventNamesRemoved: a restore's one event names the secrets
// it soft-deletes (the first ten, and how many more) and the backup it
// applied, and a restore to a time the secrets it deletes: listed in the
// event as the writes are, they were found by nothing else (a DR trial
// looked for who deleted EXTRA and found no event).
func TestRestoreEventNamesRemoved(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "src", "KEEP", "keep-value")
		doc, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 12 {
			mustSet(t, m, "dst", fmt.Sprintf("EXTRA%02d_%s", i, strings.Repeat("X", 200)), "extra-value")
		}
		plan, err := m.PreviewRestore(ctx, "dst", doc, &secrets.RestoreOptions{Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, "dst", doc, plan, nil); err != nil {
			t.Fatal(err)
		}
		es, err := m.Events(ctx, secrets.EventQuery{Workspace: "dst", Action: secrets.ActionSet, Newest: true, Limit: 1})
		if err != nil || len(es) != 1 {
			t.Fatalf("events %+v, %v", es, err)
		}
		// The names come last: long ones do not push out the backup.
		want := fmt.Sprintf("restore: 1 added, 0 changed, 0 unchanged, 12 removed, 0 skipped; a backup that says it is of \"src\", made %s, sha256 %s; "+
			"removed EXTRA00_%s, EXTRA01_",
			plan.Created.UTC().Format(time.RFC3339), plan.Digest[:16], strings.Repeat("X", 200))
		if d := es[0].Detail; !strings.HasPrefix(d, want) || len(d) > 500 {
			t.Errorf("the restore's detail (%d bytes)\n%q, want it to start\n%q", len(d), d, want)
		}
		// Short names: the first ten, and how many more.
		if got := secrets.NamedForTest("removed", []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"}); got != "; removed A, B, C, D, E, F, G, H, I, J, and 2 more" {
			t.Errorf("named: %q", got)
		}
		// To a time before NEW: NEW is deleted, and named.
		at := time.Now()
		time.Sleep(10 * time.Millisecond)
		mustSet(t, m, "src", "NEW", "new-value")
		ap, err := m.PreviewRestoreAt(ctx, "src", at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.RestoreAt(ctx, "src", ap); err != nil {
			t.Fatal(err)
		}
		es, err = m.Events(ctx, secrets.EventQuery{Workspace: "src", Action: secrets.ActionSet, Newest: true, Limit: 1})
		if err != nil || len(es) != 1 || !strings.HasSuffix(es[0].Detail, ": 0 new versions, 0 undeleted, 1 deleted, 1 unchanged, 0 unrestorable; deleted NEW") {
			t.Fatalf("the restore to a time: %+v, %v", es, err)
		}
	})
}

// TestRemovalsFoundByFingerprint: the event of an Apply, a Restore or a
// RestoreAt that soft-deletes a secret carries the fingerprint of its
// value, as Delete's does, so that a search for a leaked value finds who
// removed it; Apply's detail names what it removed; a write that failed
// names its secret (an audit trial: none was found, and a failed Set
// listed nothing).
func TestRemovalsFoundByFingerprint(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{AuditKey: newAuditKey(t)})
		ctx := context.Background()
		count := func(ws string, value string) (n int, detail string) {
			t.Helper()
			evs, err := m.Events(ctx, secrets.EventQuery{Workspace: ws, Fingerprints: m.Fingerprints([]byte(value))})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.Action == secrets.ActionSet && strings.Contains(e.Detail, "removed C") || strings.Contains(e.Detail, "deleted C") {
					n++
					detail = e.Detail
				}
			}
			return n, detail
		}
		// Apply.
		mustSet(t, m, "wa", "K", "keep-value")
		mustSet(t, m, "wa", "C", "removed-by-apply")
		d, err := m.Diff(ctx, "wa", []byte("K=keep-value\n"), &secrets.DiffOptions{Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Apply(ctx, "wa", []byte("K=keep-value\n"), d); err != nil {
			t.Fatal(err)
		}
		if n, detail := count("wa", "removed-by-apply"); n != 1 || detail != "0 added, 0 changed, 1 removed; removed C" {
			t.Errorf("Apply's removal: %d events found by fingerprint, detail %q", n, detail)
		}
		// Restore.
		mustSet(t, m, "wr", "K", "keep-value")
		doc, err := m.Backup(ctx, "wr", nil)
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "wr", "C", "removed-by-restore")
		plan, err := m.PreviewRestore(ctx, "wr", doc, &secrets.RestoreOptions{Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, "wr", doc, plan, &secrets.RestoreOptions{Remove: true}); err != nil {
			t.Fatal(err)
		}
		if n, _ := count("wr", "removed-by-restore"); n != 1 {
			t.Errorf("Restore's removal: %d events found by fingerprint", n)
		}
		// RestoreAt.
		mustSet(t, m, "wt", "K", "keep-value")
		at := time.Now()
		time.Sleep(10 * time.Millisecond)
		mustSet(t, m, "wt", "C", "removed-by-restore-at")
		ap, err := m.PreviewRestoreAt(ctx, "wt", at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.RestoreAt(ctx, "wt", ap); err != nil {
			t.Fatal(err)
		}
		if n, _ := count("wt", "removed-by-restore-at"); n != 1 {
			t.Errorf("RestoreAt's removal: %d events found by fingerprint", n)
		}
		// A write that fails names its secret.
		if _, err := m.Rollback(ctx, "wa", "K", 99, nil); !errors.Is(err, secrets.ErrNoVersion) {
			t.Fatalf("Rollback to a version never made: %v", err)
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "wa", Name: "K", Newest: true, Limit: 1})
		if err != nil || len(evs) != 1 || evs[0].Outcome != secrets.OutcomeFailed {
			t.Fatalf("the failed rollback, searched by name: %+v, %v", evs, err)
		}
	})
}
