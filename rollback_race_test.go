package secrets_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// historyHookStore runs hook once, before the next History call.
type historyHookStore struct {
	secrets.Store
	mu   sync.Mutex
	hook func()
}

func (s *historyHookStore) History(ctx context.Context, ws, secretID string) ([]secrets.Version, error) {
	s.mu.Lock()
	h := s.hook
	s.hook = nil
	s.mu.Unlock()
	if h != nil {
		h()
	}
	return s.Store.History(ctx, ws, secretID)
}

// A Rollback racing another replica's SetInfo that makes the secret
// write-only (between Rollback's lookup and its read of the history) takes
// the flags of the current version it opens from the history, and rolls
// back as write-only: not ErrDecrypt, the error of tampered data (a race
// trial found it so).
func TestRollbackRacesWriteOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newCipher(t)
		hs := &historyHookStore{Store: b.replica(t)}
		a, other := newManager(t, hs, c, nil), newManager(t, b.replica(t), c, nil)
		mustSet(t, a, "ws", "TOKEN", "value-one")
		mustSet(t, a, "ws", "TOKEN", "value-two")
		var hookErr error
		hs.hook = func() { _, hookErr = other.SetInfo(ctx, "ws", "TOKEN", secrets.Info{WriteOnly: true}, nil) }
		meta, err := a.Rollback(ctx, "ws", "TOKEN", 1, nil)
		if hookErr != nil {
			t.Fatal(hookErr)
		}
		if err != nil {
			t.Fatalf("Rollback racing SetInfo: %v", err)
		}
		if !meta.Info.WriteOnly || meta.Version != 3 {
			t.Fatalf("after the rollback: %+v", meta)
		}
		// As sealed, seen by another replica: write-only.
		if _, err := other.Get(ctx, "ws", "TOKEN"); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Fatalf("Get after the rollback, from another replica: %v", err)
		}
	})
}

// skewedHistoryStore reports a newest version that never matches the
// secret's row, as a history edited outside the library would.
type skewedHistoryStore struct{ secrets.Store }

func (s skewedHistoryStore) History(ctx context.Context, ws, secretID string) ([]secrets.Version, error) {
	h, err := s.Store.History(ctx, ws, secretID)
	if len(h) > 0 {
		h[0].Version += 100
	}
	return h, err
}

// A write whose reads never settle (here a history that never matches its
// row) ends with an error, DecryptError, after its attempts: it ended
// with no error and a nil event before (a review found the panic).
func TestWriteThatNeverSettles(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		c := newCipher(t)
		mustSet(t, newManager(t, s, c, nil), "ws", "TOKEN", "value-one")
		mustSet(t, newManager(t, s, c, nil), "ws", "TOKEN", "value-two")
		m := newManager(t, skewedHistoryStore{s}, c, nil)
		if _, err := m.Rollback(ctx, "ws", "TOKEN", 1, nil); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("Rollback over a history that never settles: %v", err)
		}
	})
}
