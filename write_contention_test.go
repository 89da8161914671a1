package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// losingStore makes the first lose Puts fail as a write that lost a race
// does (the condition it was put on no longer holds), after running win
// (another writer's write, if not nil): a race another writer won, or
// (win nil) a conflict no other writer makes.
type losingStore struct {
	secrets.Store
	lose atomic.Int32
	puts atomic.Int32
	win  func()
}

func (s *losingStore) Put(ctx context.Context, writes ...secrets.Write) error {
	s.puts.Add(1)
	if s.lose.Add(-1) >= 0 {
		if s.win != nil {
			s.win()
		}
		return fmt.Errorf("%w: changed meanwhile", secrets.ErrConflict)
	}
	return s.Store.Put(ctx, writes...)
}

// TestUnconditionalWriteOutlastsContention: a write without conditions
// (a script) that keeps losing races to other writers goes on past 32
// attempts, within a time budget (10 s; shortened here), instead of
// failing with ErrConflict (an SRE trial: six writers of one name, 15 of
// 1,800 unconditional Sets failed). Forty races lost to another writer,
// then the write lands, for Set and Import; a conflict no writer makes
// gives up after 32 attempts; races lost past the budget give up; then six
// writers of one name, all of whose writes land.
func TestUnconditionalWriteOutlastsContention(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		ls := &losingStore{Store: b.replica(t)}
		c := newCipher(t)
		m, other := newManager(t, ls, c, nil), newManager(t, b.replica(t), c, nil)
		mustSet(t, m, "ws", "SAME", "value-0")
		ls.win = func() { mustSet(t, other, "ws", "SAME", "other-value") }
		ls.lose.Store(40)
		if _, err := m.Set(ctx, "ws", "SAME", []byte("value-1"), nil); err != nil {
			t.Fatalf("a Set after 40 races lost to another writer: %v", err)
		}
		ls.lose.Store(40)
		if _, err := m.Import(ctx, "ws", []byte("SAME=value-2\n"), nil); err != nil {
			t.Fatalf("an Import after 40 races lost to another writer: %v", err)
		}
		// A write held to its workspace (a value that references others)
		// goes on while other writers change other secrets.
		ls.win = func() { mustSet(t, other, "ws", "OTHER", "other-value") }
		ls.lose.Store(40)
		if _, err := m.Set(ctx, "ws", "REF", []byte("ref-${SAME}"), &secrets.SetOptions{Info: &secrets.Info{Expand: true}}); err != nil {
			t.Fatalf("a held Set after 40 races lost to writes of other secrets: %v", err)
		}
		// No other writer: the same conflict each time is given up on
		// after 32 attempts, not retried for 10 s.
		ls.win = nil
		for _, call := range []func() error{
			func() error { _, err := m.Set(ctx, "ws", "SAME", []byte("value-3"), nil); return err },
			func() error { _, err := m.Import(ctx, "ws", []byte("SAME=value-3\n"), nil); return err },
		} {
			ls.lose.Store(1 << 30)
			ls.puts.Store(0)
			err := call()
			var ce *secrets.ConflictError
			if !errors.Is(err, secrets.ErrConflict) || errors.As(err, &ce) || errors.Is(err, secrets.ErrExists) {
				t.Fatalf("a conflict no writer makes: %v, want a plain ErrConflict", err)
			}
			if n := ls.puts.Load(); n != 32 {
				t.Fatalf("a conflict no writer makes was tried %d times, want 32", n)
			}
		}
		// Other writers that win for longer than the budget: given up.
		secrets.SetRaceBudget(m, 300*time.Millisecond)
		ls.win = func() { mustSet(t, other, "ws", "SAME", "other-value") }
		began := time.Now()
		_, err := m.Set(ctx, "ws", "SAME", []byte("value-4"), nil)
		if took := time.Since(began); !errors.Is(err, secrets.ErrConflict) || took < 300*time.Millisecond || took > 5*time.Second {
			t.Fatalf("races lost past the budget: %v after %v, want ErrConflict after about 300ms", err, took)
		}
		ls.lose.Store(0)
		ls.win = nil
		secrets.SetRaceBudget(m, 10*time.Second)

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
		if err != nil || failed.Load() != 0 {
			t.Fatalf("after %d writes: %d failed, %v", writers*each, failed.Load(), err)
		}
		if v := mustGet(t, m, "ws", "SAME"); meta.Version < writers*each || v[:6] != "value-" {
			t.Fatalf("after %d writes: version %d, value %q", writers*each, meta.Version, v)
		}
	})
}
