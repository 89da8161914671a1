package secrets_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestEventsPageBounded: a page of events lists at most
// MaxEventPageSecrets secrets in all, its first event always whole. The
// injections of a workspace of 1,000 secrets list them all: a page of 110
// such events, half plain jobs (whose lists come from the ledger) and
// half jobs of a child workspace (whose lists are stored with the event),
// lists those of about the first hundred and leaves the rest's out,
// marked, in either order; each of those read alone lists all of its
// secrets.
func TestEventsPageBounded(t *testing.T) {
	t.Parallel() // long, and shares nothing with the other parallel tests
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Parents: func(_ context.Context, ws string) ([]string, error) {
			if ws == "child" {
				return []string{"big"}, nil
			}
			return nil, nil
		}})
		var text strings.Builder
		for i := range 1000 {
			fmt.Fprintf(&text, "S%04d=v\n", i)
		}
		if _, err := m.Import(ctx, "big", []byte(text.String()), nil); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "child", "OWN", "x")
		const jobs = 110
		for i := range jobs {
			if i%2 == 0 {
				if _, err := m.EnvFor(ctx, "big"); err != nil {
					t.Fatal(err)
				}
				continue
			}
			p, err := m.Prepare(ctx, "child", &secrets.PrepareOptions{Base: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			p.Close()
		}
		for _, newest := range []bool{false, true} {
			page, err := m.Events(ctx, secrets.EventQuery{Action: secrets.ActionInject, Newest: newest, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != jobs {
				t.Fatalf("newest %v: %d events, want %d", newest, len(page), jobs)
			}
			listed, omitted := 0, map[string]int{}
			for i, e := range page {
				want := 1000 + map[bool]int{true: 1}[e.Workspace == "child"]
				switch {
				case e.SecretsOmitted && i == 0:
					t.Fatalf("newest %v: the first event's secrets omitted", newest)
				case e.SecretsOmitted && len(e.Secrets) > 0:
					t.Fatalf("newest %v: event %d omitted but lists %d secrets", newest, e.ID, len(e.Secrets))
				case !e.SecretsOmitted && len(omitted) > 0:
					t.Fatalf("newest %v: event %d after an omitted one lists its secrets", newest, e.ID)
				case !e.SecretsOmitted && len(e.Secrets) != want:
					t.Fatalf("newest %v: event %d of %s lists %d secrets, want %d", newest, e.ID, e.Workspace, len(e.Secrets), want)
				case e.SecretsOmitted:
					omitted[e.Workspace]++
					alone, err := m.Events(ctx, secrets.EventQuery{Action: secrets.ActionInject, After: e.ID - 1, Limit: 1})
					if err != nil || len(alone) != 1 || alone[0].ID != e.ID || alone[0].SecretsOmitted || len(alone[0].Secrets) != want {
						t.Fatalf("newest %v: event %d read alone: %d events, %v", newest, e.ID, len(alone), err)
					}
				}
				listed += len(e.Secrets)
			}
			if listed > secrets.MaxEventPageSecrets || listed < secrets.MaxEventPageSecrets-1001 || omitted["big"] == 0 || omitted["child"] == 0 {
				t.Fatalf("newest %v: the page lists %d secrets, omits those of %v", newest, listed, omitted)
			}
		}
	})
}

// A page of Events holds at most 1,000 events, whatever Limit asks (the
// README's limits table): the Manager caps it, the stores do not.
func TestEventsLimitAtMostAThousand(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "token-value")
	for range 1_010 {
		if _, err := m.EnvFor(ctx, "ws"); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1_001, 5_000, 1 << 40} {
		es, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Limit: limit})
		if err != nil || len(es) != 1_000 {
			t.Fatalf("Limit %d: %d events, %v", limit, len(es), err)
		}
	}
}

// TestEventsLimitDefaults: Manager.Events reads 100 events when
// EventQuery.Limit is 0 or less and at most 1,000; a Store is given the
// Limit as it is and returns at most max(Limit, 1).
func TestEventsLimitDefaults(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		in := make([]secrets.Event, 1001)
		for i := range in {
			in[i] = secrets.Event{Time: at, Actor: "user:1", Action: secrets.ActionList, Workspace: "ws", Outcome: secrets.OutcomeOK}
		}
		if err := s.Record(ctx, in); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ limit, manager, store int }{{0, 100, 1}, {-5, 100, 1}, {1, 1, 1}, {1001, 1000, 1001}, {5000, 1000, 1001}} {
			q := secrets.EventQuery{Workspace: "ws", Limit: c.limit}
			got, err := m.Events(ctx, q)
			if err != nil || len(got) != c.manager {
				t.Fatalf("Manager.Events with Limit %d: %d events, %v; want %d", c.limit, len(got), err, c.manager)
			}
			got, err = s.Events(ctx, q)
			if err != nil || len(got) != c.store {
				t.Fatalf("Store.Events with Limit %d: %d events, %v; want %d", c.limit, len(got), err, c.store)
			}
		}
	})
}
