package secrets_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// rotateOnKey runs hook (once) when the Manager over it next fetches a
// workspace key: a rotation on another replica lands between a read of
// the rows and the fetch of the key that opens them.
type rotateOnKey struct {
	secrets.Store
	mu   sync.Mutex
	hook func()
}

func (s *rotateOnKey) arm(hook func()) { s.mu.Lock(); s.hook = hook; s.mu.Unlock() }

func (s *rotateOnKey) Key(ctx context.Context, ws string) (secrets.WrappedKey, error) {
	s.mu.Lock()
	hook := s.hook
	s.hook = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return s.Store.Key(ctx, ws)
}

// LedgerAt passes through: PreviewRestoreAt needs a LedgerStore.
func (s *rotateOnKey) LedgerAt(ctx context.Context, ws string, at time.Time) ([]secrets.LedgerEntry, error) {
	return s.Store.(secrets.LedgerStore).LedgerAt(ctx, ws, at)
}

// TestPreviewsAfterRotationElsewhere: a replica whose rows another
// replica rotates between its read and its fetch of the key previews as
// it writes: Diff, PreviewRestore and PreviewRestoreAt read again with
// the new key rather than fail with ErrKeyChanged (a data-loss trial: 24
// of 180 previews failed while an operator rotated).
func TestPreviewsAfterRotationElsewhere(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newCipher(t)
		now := time.Now()
		clock := func() time.Time { return now }
		other := newManager(t, b.replica(t), c, &secrets.Config{Now: clock})
		mustSet(t, other, "ws", "A", "value-a")
		at := now
		now = now.Add(time.Minute)
		mustSet(t, other, "ws", "A", "value-a2")
		doc, err := other.Backup(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, preview := range []struct {
			name string
			run  func(m *secrets.Manager) error
		}{
			{"Diff", func(m *secrets.Manager) error { _, err := m.Diff(ctx, "ws", []byte("A=value-a\n"), nil); return err }},
			{"PreviewRestore", func(m *secrets.Manager) error { _, err := m.PreviewRestore(ctx, "ws", doc, nil); return err }},
			{"PreviewRestoreAt", func(m *secrets.Manager) error { _, err := m.PreviewRestoreAt(ctx, "ws", at); return err }},
		} {
			s := &rotateOnKey{Store: b.replica(t)}
			m := newManager(t, s, c, &secrets.Config{Now: clock}) // no key cached
			s.arm(func() {
				if _, err := other.RotateKey(ctx, "ws", nil); err != nil {
					t.Error(err)
				}
			})
			if err := preview.run(m); err != nil {
				t.Errorf("%s with a rotation on another replica meanwhile: %v", preview.name, err)
			}
		}
	})
}
