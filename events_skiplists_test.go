package secrets_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// TestEventsSkipLists: reads of names and metadata, which anyone who may
// list makes at will, do not push a change out of a page of events that
// skips them (a panel trial: a viewer's 300 lists left the Activity view
// empty); a refused list is kept. On Postgres the page is read through
// migration 12's partial index, not by stepping over the lists.
func TestEventsSkipLists(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.replica(t)
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "ws", "DB_PASSWORD", "v1")
		viewer := secrets.WithActor(ctx, "user:viewer")
		for range 300 {
			if _, err := m.List(viewer, "ws", nil); err != nil {
				t.Fatal(err)
			}
		}
		q := secrets.EventQuery{Workspace: "ws", Newest: true, Limit: 50, SkipLists: true}
		evs, err := m.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Action != secrets.ActionSet {
			t.Fatalf("a page that skips lists: %d events, first %+v; want the set alone", len(evs), evs)
		}
		q.SkipLists = false
		if evs, err := m.Events(ctx, q); err != nil || len(evs) != 50 || evs[0].Action != secrets.ActionList {
			t.Fatalf("a page that keeps lists: %d events, %v", len(evs), err)
		}
		pg, ok := s.(*secrets.PostgresStore)
		if !ok {
			return
		}
		// Many lists, as a viewer's script would make, then the plan.
		if _, err := pgDB(t).Exec("INSERT INTO " + pq.QuoteIdentifier(pg.Schema()) + ".audit (at, actor, action, workspace, outcome, detail) " +
			"SELECT now(), 'user:viewer', 'list', 'ws', 'ok', '' FROM generate_series(1, 20000)"); err != nil {
			t.Fatal(err)
		}
		if _, err := pgDB(t).Exec("ANALYZE " + pq.QuoteIdentifier(pg.Schema()) + ".audit"); err != nil {
			t.Fatal(err)
		}
		plan, err := secrets.EventsPlan(ctx, pg, secrets.EventQuery{Workspace: "ws", Newest: true, Limit: 50, SkipLists: true})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "audit_workspace_changes") {
			t.Errorf("the page that skips lists is not read through audit_workspace_changes: %s", plan)
		}
	})
}
