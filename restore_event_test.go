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
