package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// Contracts of doc comments that a mutation audit found no test for:
// each of these tests fails if its contract stops holding.

// TestSetInfoKeepsWriteOnly: Set refuses an Info that would make a
// write-only secret readable (ErrWriteOnly), changing nothing.
func TestSetInfoKeepsWriteOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		if _, err := m.Set(ctx, "ws", "DEPLOY_KEY", []byte("write-only-canary"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "ws", "DEPLOY_KEY", []byte("new-value-123"), &secrets.SetOptions{Info: &secrets.Info{Description: "readable?"}}); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Errorf("Set with an Info that is not write-only: %v, want ErrWriteOnly", err)
		}
		if sec, err := m.Get(ctx, "ws", "DEPLOY_KEY"); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Errorf("Get after: %v, %v", sec.Meta, err)
		}
		if vs, err := m.Versions(ctx, "ws", "DEPLOY_KEY"); err != nil || len(vs) != 1 {
			t.Errorf("versions after the refused Set: %d, %v", len(vs), err)
		}
	})
}

// TestRollbackToCurrentChangesNothing: rolling back to the current
// version makes no version and no revision.
func TestRollbackToCurrentChangesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "ws", "TOKEN", "value-one-1")
		before := mustSet(t, m, "ws", "TOKEN", "value-two-2")
		after, err := m.Rollback(ctx, "ws", "TOKEN", before.Version, nil)
		if err != nil || after.Version != before.Version || after.Revision != before.Revision {
			t.Fatalf("Rollback to the current version %d (revision %d): version %d, revision %d, %v",
				before.Version, before.Revision, after.Version, after.Revision, err)
		}
		if vs, err := m.Versions(ctx, "ws", "TOKEN"); err != nil || len(vs) != 2 {
			t.Fatalf("%d versions, %v; want 2", len(vs), err)
		}
	})
}

// TestListLimitCapped: a List Limit over 1,000 gives 1,000 secrets and a
// Next.
func TestListLimitCapped(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), &secrets.Config{UnauditedLists: true})
		var text []byte
		for i := range 1001 {
			text = fmt.Appendf(text, "S_%04d=value-%d\n", i, i)
		}
		if _, err := m.Import(ctx, "ws", text, nil); err != nil {
			t.Fatal(err)
		}
		p, err := m.List(ctx, "ws", &secrets.ListOptions{Limit: 5000})
		if err != nil || len(p.Secrets) != 1000 || p.Next != "S_0999" {
			t.Fatalf("List with Limit 5000 of 1001: %d secrets, next %q, %v", len(p.Secrets), p.Next, err)
		}
	})
}

// TestMetaExpiredAtTheInstant: Meta.Expired agrees with a job
// (TestExpiredAtTheInstant): expired at Expires itself, not before, and
// never without an expiry.
func TestMetaExpiredAtTheInstant(t *testing.T) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var m secrets.Meta
	m.Expires = at
	if !m.Expired(at) || m.Expired(at.Add(-time.Nanosecond)) || (secrets.Meta{}).Expired(at) {
		t.Fatal("Meta.Expired at the instant of expiry")
	}
}

// checkCalls records the master key check values a Store is given.
type checkCalls struct {
	secrets.RotationStore
	mu  sync.Mutex
	ids []string
}

func (s *checkCalls) SetMasterKeyCheck(ctx context.Context, id string, check []byte) error {
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.mu.Unlock()
	return s.RotationStore.SetMasterKeyCheck(ctx, id, check)
}

// TestRewrapMakesCheckValue: a Rewrap that reaches its end makes the
// master key's check value again, once, for the primary master key; one
// that is interrupted does not, and its event says how far it went.
func TestRewrapMakesCheckValue(t *testing.T) {
	ctx := context.Background()
	s := &checkCalls{RotationStore: secrets.NewMemoryStore()}
	c := newCipher(t)
	var mu sync.Mutex
	var events []secrets.Event
	m := newManager(t, s, c, &secrets.Config{OnEvent: func(_ context.Context, e secrets.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
	for i := range 3 {
		mustSet(t, m, fmt.Sprint("ws-", i), "A", "value-a")
	}
	s.ids = nil
	cctx, cancel := context.WithCancel(ctx)
	_, err := m.Rewrap(cctx, &secrets.RewrapOptions{All: true, Progress: func(done, _ int) {
		if done == 1 {
			cancel()
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) || len(s.ids) != 0 {
		t.Fatalf("an interrupted Rewrap: %v, check values made for %q", err, s.ids)
	}
	// Its event says what it did before it stopped (a data-loss trial:
	// it said only that it failed).
	mu.Lock()
	last := events[len(events)-1]
	mu.Unlock()
	if last.Action != secrets.ActionRotate || last.Outcome != secrets.OutcomeFailed ||
		!strings.Contains(last.Detail, "stopped with 1 workspace keys re-wrapped") || !strings.Contains(last.Detail, "context canceled") {
		t.Fatalf("the interrupted Rewrap's event: %+v", last)
	}
	if _, err := m.Rewrap(ctx, &secrets.RewrapOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if len(s.ids) != 1 || s.ids[0] != c.ID() {
		t.Fatalf("a Rewrap that reached its end made check values for %q, want once for %q", s.ids, c.ID())
	}
}
