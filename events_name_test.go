package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// TestEventsByNameMatchesLists: Events filtered by Name returns exactly
// the events whose Secrets list a secret of that name (ignoring case),
// after a random history of writes, renames, deletes, destroys, flag
// changes and deliveries (plain jobs, subsets, exports), on every store:
// on Postgres the filter finds deliveries through the ledger's name index
// (migration 8), not through the lists.
func TestEventsByNameMatchesLists(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		m := newManager(t, b.replica(t), newCipher(t), nil)
		rng := rand.New(rand.NewPCG(7, uint64(len(b.name))))
		names := []string{"TOKEN", "token_b", "KEY", "Other", "GONE"}
		for range 120 {
			n := names[rng.IntN(len(names))]
			switch op := rng.IntN(10); op {
			case 0, 1, 2:
				m.Set(ctx, "ws", n, []byte(fmt.Sprint("v", rng.IntN(1000))), nil)
			case 3:
				m.Rename(ctx, "ws", n, names[rng.IntN(len(names))], nil)
			case 4:
				m.Delete(ctx, "ws", n, nil)
			case 5:
				m.Undelete(ctx, "ws", n, nil)
			case 6:
				info := secrets.Info{WriteOnly: rng.IntN(3) == 0, Protected: rng.IntN(3) == 0}
				m.SetInfo(ctx, "ws", n, info, nil)
			case 7:
				if rng.IntN(4) == 0 {
					m.Destroy(ctx, "ws", n, nil)
				} else {
					m.Export(ctx, "ws", nil)
				}
			case 8:
				if _, err := m.EnvFor(ctx, "ws"); err != nil {
					t.Fatal(err)
				}
			case 9:
				if p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{strings.ToLower(n)}, Base: []string{}}); err == nil {
					p.Close()
				}
			}
		}
		all, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Limit: 1000})
		if err != nil || len(all) < 60 || len(all) == 1000 {
			t.Fatalf("%d events, %v", len(all), err)
		}
		for _, n := range append(names, "tOkEn", "NOPE") {
			var want []int64
			for _, e := range all {
				if slices.ContainsFunc(e.Secrets, func(s secrets.EventSecret) bool { return strings.EqualFold(s.Name, n) }) {
					want = append(want, e.ID)
				}
			}
			got, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Name: n, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("events of %s: %v, want %v", n, ids, want)
			}
		}
	})
}

// Events refuses filters no event can hold, the same on every backend (a
// name with NUL or invalid UTF-8 was a driver error on Postgres, the
// panel's 500, and nothing on the memory store).
func TestEventsInvalidFilters(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		m := newManager(t, b.replica(t), newCipher(t), nil)
		mustSet(t, m, "ws", "TOKEN", "token-value")
		for _, c := range []struct {
			q    secrets.EventQuery
			want error
		}{
			{secrets.EventQuery{Workspace: "ws", Name: "A\x00"}, secrets.ErrInvalidName},
			{secrets.EventQuery{Workspace: "ws", Name: "\xff"}, secrets.ErrInvalidName},
			{secrets.EventQuery{Workspace: "w\x00"}, secrets.ErrInvalidWorkspace},
			{secrets.EventQuery{Workspace: "\xff"}, secrets.ErrInvalidWorkspace},
			{secrets.EventQuery{Actor: "user:\x00"}, secrets.ErrInvalidActor},
		} {
			if es, err := m.Events(ctx, c.q); !errors.Is(err, c.want) || es != nil {
				t.Errorf("%+q: %v, %v; want %v", c.q.Workspace+"|"+c.q.Name+"|"+c.q.Actor, len(es), err, c.want)
			}
		}
		if es, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Name: "token"}); err != nil || len(es) != 1 {
			t.Fatalf("a valid query: %d, %v", len(es), err)
		}
	})
}
