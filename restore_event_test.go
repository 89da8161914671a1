package secrets_test

import (
	"context"
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
			mustSet(t, m, "dst", fmt.Sprintf("EXTRA%02d", i), "extra-value")
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
		want := fmt.Sprintf("restore: 1 added, 0 changed, 0 unchanged, 12 removed (EXTRA00, EXTRA01, EXTRA02, EXTRA03, EXTRA04, "+
			"EXTRA05, EXTRA06, EXTRA07, EXTRA08, EXTRA09, and 2 more), 0 skipped; a backup of \"src\" made %s, sha256 %s",
			plan.Created.UTC().Format(time.RFC3339), plan.Digest[:16])
		if es[0].Detail != want {
			t.Errorf("the restore's detail\n%q, want\n%q", es[0].Detail, want)
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
		if err != nil || len(es) != 1 || !strings.Contains(es[0].Detail, ": 0 new versions, 0 undeleted, 1 deleted (NEW), ") {
			t.Fatalf("the restore to a time: %+v, %v", es, err)
		}
	})
}
