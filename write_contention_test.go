package secrets_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dataspace/secrets"
)

// losingStore makes the first lose Puts fail as a write that lost a race
// does (the condition it was put on no longer holds).
type losingStore struct {
	secrets.Store
	lose atomic.Int32
}

func (s *losingStore) Put(ctx context.Context, writes ...secrets.Write) error {
	if s.lose.Add(-1) >= 0 {
		return fmt.Errorf("%w: changed meanwhile", secrets.ErrConflict)
	}
	return s.Store.Put(ctx, writes...)
}

// TestUnconditionalWriteOutlastsContention: a write without conditions
// (a script) that keeps losing races goes on past 32 attempts, for up to
// raceBudget, instead of failing with ErrConflict (an SRE trial: six
// writers of one name, 15 of 1,800 unconditional Sets failed). Forty lost
// races in a row, then the write lands; then six writers of one name,
// all of whose writes land.
func TestUnconditionalWriteOutlastsContention(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		ls := &losingStore{Store: b.replica(t)}
		m := newManager(t, ls, newCipher(t), nil)
		mustSet(t, m, "ws", "SAME", "value-0")
		ls.lose.Store(40)
		if _, err := m.Set(ctx, "ws", "SAME", []byte("value-1"), nil); err != nil {
			t.Fatalf("a Set after 40 lost races: %v", err)
		}
		if _, err := m.Import(ctx, "ws", []byte("SAME=value-2\n"), nil); err != nil {
			t.Fatalf("an Import after 40 lost races: %v", err)
		}
		_ = ls.lose.Swap(40)
		if _, err := m.Import(ctx, "ws", []byte("SAME=value-3\n"), nil); err != nil {
			t.Fatalf("an Import after 40 lost races: %v", err)
		}
		const writers, each = 6, 10
		var wg sync.WaitGroup
		var failed atomic.Int32
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if _, err := m.Set(ctx, "ws", "SAME", fmt.Appendf(nil, "value-%d-%d", w, i), nil); err != nil {
						failed.Add(1)
						t.Errorf("writer %d, Set %d: %v", w, i, err)
					}
				}
			})
		}
		wg.Wait()
		meta, err := m.Meta(ctx, "ws", "SAME")
		if err != nil || failed.Load() != 0 || meta.Version != 4+writers*each {
			t.Fatalf("after %d writes: version %d, %d failed, %v", writers*each, meta.Version, failed.Load(), err)
		}
	})
}
