package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// putHookStore runs a hook once, at the next multi-write Put, before the
// Put goes on: the window between RestoreAt's reads and its writes.
type putHookStore struct {
	secrets.Store
	ledger secrets.LedgerStore
	mu     sync.Mutex
	hook   func()
}

func (s *putHookStore) LedgerAt(ctx context.Context, ws string, at time.Time) ([]secrets.LedgerEntry, error) {
	return s.ledger.LedgerAt(ctx, ws, at)
}

func (s *putHookStore) Put(ctx context.Context, writes ...secrets.Write) error {
	s.mu.Lock()
	hook := s.hook
	if len(writes) > 1 {
		s.hook = nil
	}
	s.mu.Unlock()
	if hook != nil && len(writes) > 1 {
		hook()
	}
	return s.Store.Put(ctx, writes...)
}

// A secret created after RestoreAt read the workspace, before it writes,
// is no write of the plan's: RestoreAt is ErrConflict all the same, and
// changes nothing (it applied the plan and left the new secret live).
func TestRestoreAtSecretAddedMeanwhile(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		hs := &putHookStore{Store: s, ledger: s.(secrets.LedgerStore)}
		m, _, ts := pitrHistory(t, hs, nil)
		ctx := context.Background()
		plan, err := m.PreviewRestoreAt(ctx, "ws", ts[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Versions)+len(plan.Deleted) == 0 {
			t.Fatalf("the plan changes nothing: %+v", plan)
		}
		var lateErr error
		hs.mu.Lock()
		hs.hook = func() { _, lateErr = m.Set(ctx, "ws", "LATE", []byte("val-late-1"), nil) }
		hs.mu.Unlock()
		before := envMap(t, m, "ws")
		_, err = m.RestoreAt(ctx, "ws", plan)
		if lateErr != nil {
			t.Fatalf("the write meanwhile: %v", lateErr)
		}
		if !errors.Is(err, secrets.ErrConflict) {
			t.Fatalf("RestoreAt with a secret created meanwhile: %v, want ErrConflict", err)
		}
		before["LATE"] = "val-late-1"
		if d := cmp.Diff(before, envMap(t, m, "ws")); d != "" {
			t.Fatalf("the refused restore changed the workspace (-want +got):\n%s", d)
		}
		// Previewed again, the restore applies, LATE deleted with the rest.
		plan, err = m.PreviewRestoreAt(ctx, "ws", ts[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.RestoreAt(ctx, "ws", plan); err != nil {
			t.Fatal(err)
		}
		if _, ok := envMap(t, m, "ws")["LATE"]; ok {
			t.Fatal("LATE, created after the time restored to, is live after the restore")
		}
	})
}

// A backup's Restore with Remove makes the workspace the document: a
// secret created after it read the workspace, before it writes, fails it
// with ErrConflict and nothing changes. Without Remove such a secret is
// none of its business, and the restore applies.
func TestRestoreRemoveSecretAddedMeanwhile(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		hs := &putHookStore{Store: s, ledger: s.(secrets.LedgerStore)}
		m := newManager(t, hs, newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "src", "A", "val-a-1")
		mustSet(t, m, "src", "B", "val-b-1")
		doc, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ remove, fresh bool }{{true, false}, {true, true}, {false, false}} {
			remove, ws := c.remove, fmt.Sprint("dst-", c.remove, c.fresh)
			if !c.fresh { // else a workspace never written: state 0
				mustSet(t, m, ws, "A", "val-a-old")
				mustSet(t, m, ws, "GONE", "val-gone")
			}
			opts := &secrets.RestoreOptions{Remove: remove}
			plan, err := m.PreviewRestore(ctx, ws, doc, opts)
			if err != nil {
				t.Fatal(err)
			}
			var lateErr error
			hs.mu.Lock()
			hs.hook = func() { _, lateErr = m.Set(ctx, ws, "LATE", []byte("val-late-1"), nil) }
			hs.mu.Unlock()
			before := map[string]string{}
			if !c.fresh {
				before = envMap(t, m, ws)
			}
			_, err = m.Restore(ctx, ws, doc, plan, opts)
			if lateErr != nil {
				t.Fatalf("the write meanwhile: %v", lateErr)
			}
			if !remove {
				if err != nil {
					t.Fatalf("Restore without Remove, a secret created meanwhile: %v", err)
				}
				continue
			}
			if !errors.Is(err, secrets.ErrConflict) {
				t.Fatalf("Restore with Remove into %s, a secret created meanwhile: %v, want ErrConflict", ws, err)
			}
			before["LATE"] = "val-late-1"
			if d := cmp.Diff(before, envMap(t, m, ws)); d != "" {
				t.Fatalf("the refused restore changed the workspace (-want +got):\n%s", d)
			}
		}
	})
}
