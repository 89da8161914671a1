package secrets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// Deleted secrets are destroyed by Purge after the retention period, and
// old events dropped.
func TestPurge(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		clock := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		cfg := &secrets.Config{Now: func() time.Time { return clock }, DeleteRetention: 7 * 24 * time.Hour, EventRetention: 30 * 24 * time.Hour}
		m := newManager(t, s, newCipher(t), cfg)
		ctx := context.Background()
		for _, n := range []string{"OLD", "RECENT", "LIVE"} {
			mustSet(t, m, "ws", n, n)
		}
		if _, err := m.Delete(ctx, "ws", "OLD", nil); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(6 * 24 * time.Hour)
		if _, err := m.Delete(ctx, "ws", "RECENT", nil); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(2 * 24 * time.Hour)
		res, err := m.Purge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Destroyed != 1 {
			t.Fatalf("Purge destroyed %d", res.Destroyed)
		}
		if _, err := m.Meta(ctx, "ws", "OLD"); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("OLD after Purge: %v", err)
		}
		if meta, err := m.Meta(ctx, "ws", "RECENT"); err != nil || meta.Deleted.IsZero() {
			t.Fatalf("RECENT after Purge: %+v %v", meta, err)
		}
		destroyed, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionDestroy})
		if err != nil || len(destroyed) != 1 || destroyed[0].Secrets[0].Name != "OLD" || destroyed[0].Detail != "deleted more than 168h0m0s ago" {
			t.Fatalf("destroy event: %+v %v", destroyed, err)
		}
		before, _ := m.Events(ctx, secrets.EventQuery{Limit: 1000})
		clock = clock.Add(31 * 24 * time.Hour)
		res, err = m.Purge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := m.Events(ctx, secrets.EventQuery{Limit: 1000})
		// Left: this Purge's destroy of RECENT (deleted 33 days ago) and its
		// own event; every older one is gone.
		if res.EventsDropped != len(before) || len(after) != 2 || after[0].Action != secrets.ActionDestroy || after[1].Action != secrets.ActionPurge {
			t.Fatalf("event retention: dropped %d of %d, left %+v", res.EventsDropped, len(before), after)
		}
	})
}

// A negative Config.DeleteRetention keeps soft-deleted secrets until a
// Destroy, as a negative EventRetention keeps events (it was taken for the
// 30-day default, which destroyed them: the retention trial).
func TestPurgeNegativeDeleteRetentionKeeps(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		clock := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		cfg := &secrets.Config{Now: func() time.Time { return clock }, DeleteRetention: -time.Hour, EventRetention: -1}
		m := newManager(t, s, newCipher(t), cfg)
		ctx := context.Background()
		mustSet(t, m, "ws", "OLD", "old-value")
		if _, err := m.Delete(ctx, "ws", "OLD", nil); err != nil {
			t.Fatal(err)
		}
		clock = clock.AddDate(2, 0, 0)
		if res, err := m.Purge(ctx); err != nil || res != (secrets.PurgeResult{}) {
			t.Fatalf("Purge: %+v, %v", res, err)
		}
		if meta, err := m.Meta(ctx, "ws", "OLD"); err != nil || meta.Deleted.IsZero() {
			t.Fatalf("OLD after Purge: %+v, %v", meta, err)
		}
		if _, err := m.Undelete(ctx, "ws", "OLD", nil); err != nil {
			t.Fatal(err)
		}
	})
}
