package secrets_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// hangingRecords is a store whose Record does not answer until its context
// is done (a database whose commits wait for a synchronous standby that is
// gone), and whose writes fail once failPuts is set.
type hangingRecords struct {
	*secrets.MemoryStore
	release  chan struct{} // closed when the test ends, so nothing outlives it
	mu       sync.Mutex
	failPuts bool
}

func (h *hangingRecords) Record(ctx context.Context, es []secrets.Event) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-h.release:
		return errors.New("the test ended")
	}
}

func (h *hangingRecords) Put(ctx context.Context, ws ...secrets.Write) error {
	h.mu.Lock()
	fail := h.failPuts
	h.mu.Unlock()
	if fail {
		return errors.New("the write failed")
	}
	return h.MemoryStore.Put(ctx, ws...)
}

// TestRecordOutlivesCallBriefly: the event of a call whose context is done
// (a write that failed, a reveal) is recorded without the call's
// cancellation, but a database that does not answer holds the call only
// recordGrace (2 s) past its deadline, never for good: the call returns,
// with no value, and OnAuditError gets the event.
func TestRecordOutlivesCallBriefly(t *testing.T) {
	t.Parallel()
	s := &hangingRecords{MemoryStore: secrets.NewMemoryStore(), release: make(chan struct{})}
	t.Cleanup(func() { close(s.release) })
	var mu sync.Mutex
	var unrecorded []secrets.Action
	m := newManager(t, s, newCipher(t), &secrets.Config{OnAuditError: func(_ context.Context, es []secrets.Event, err error) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range es {
			unrecorded = append(unrecorded, e.Action)
		}
	}})
	mustSet(t, m, "ws", "TOKEN", "grace-value-1")
	s.mu.Lock()
	s.failPuts = true
	s.mu.Unlock()

	for _, c := range []struct {
		action secrets.Action
		call   func(ctx context.Context) error
	}{
		{secrets.ActionSet, func(ctx context.Context) error {
			_, err := m.Set(ctx, "ws", "TOKEN", []byte("grace-value-2"), nil)
			return err
		}},
		{secrets.ActionReveal, func(ctx context.Context) error {
			v, err := m.Get(ctx, "ws", "TOKEN")
			if err == nil {
				t.Errorf("Get returned %v without its event", v)
			}
			return err
		}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		errc := make(chan error, 1)
		start := time.Now()
		go func() { errc <- c.call(ctx) }()
		select {
		case err := <-errc:
			if err == nil {
				t.Errorf("%s: no error", c.action)
			}
			if d := time.Since(start); d > 6*time.Second {
				t.Errorf("%s returned after %v", c.action, d)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s still waits for its event 15 s after its deadline", c.action)
		}
		cancel()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(unrecorded) != 2 || unrecorded[0] != secrets.ActionSet || unrecorded[1] != secrets.ActionReveal {
		t.Errorf("OnAuditError got %v, want the set's and the reveal's events", unrecorded)
	}
}

// slowRecords is a store whose Record takes a while: the first call until
// release is closed, the others 3 s (more than the 2 s grace), each
// unless its context ends first.
type slowRecords struct {
	*secrets.MemoryStore
	first   chan struct{} // closed when the first Record starts
	release chan struct{}
	calls   atomic.Int32
}

func (s *slowRecords) Record(ctx context.Context, es []secrets.Event) error {
	wait := time.After(3 * time.Second)
	if s.calls.Add(1) == 1 {
		close(s.first)
		wait = nil
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.MemoryStore.Record(ctx, es)
}

// TestBatchOutlivesLeader: the events of a batch are recorded for as long
// as any of its callers waits: the caller that leads the flush giving up
// at its deadline does not fail the read of another caller in the batch
// whose context has no end (a review: it failed 2 s after the leader's
// deadline with "context canceled").
func TestBatchOutlivesLeader(t *testing.T) {
	t.Parallel()
	s := &slowRecords{MemoryStore: secrets.NewMemoryStore(), first: make(chan struct{}), release: make(chan struct{})}
	m := newManager(t, s, newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "batch-grace-value")
	ctx := context.Background()
	errs := make(chan error, 3)
	get := func(ctx context.Context) { _, err := m.Get(ctx, "ws", "TOKEN"); errs <- err }
	go get(ctx) // leads the first flush, which waits for release
	<-s.first
	short, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel()
	go get(short) // queued first: leads the second flush, gone at 700 ms, while it flies
	time.Sleep(100 * time.Millisecond)
	follower := make(chan error, 1)
	go func() { _, err := m.Get(ctx, "ws", "TOKEN"); follower <- err }() // queued behind it, without a deadline
	time.Sleep(300 * time.Millisecond)
	close(s.release)
	select {
	case err := <-follower:
		if err != nil {
			t.Errorf("the follower's Get: %v, want its value once the batch is recorded", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the follower's Get did not return")
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("%d Record calls, want 2 (the follower batched with the leader)", n)
	}
}
