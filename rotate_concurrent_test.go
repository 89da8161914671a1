package secrets_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// endPause pauses once, when armed, on the first Stale call of a
// rotation's loop that returns nothing (its loop is done), until resumed.
type endPause struct {
	secrets.RotationStore
	armed          bool
	once           sync.Once
	paused, resume chan struct{}
}

func (s *endPause) Stale(ctx context.Context, ws string, q secrets.StaleQuery) ([]secrets.Version, int, error) {
	vs, n, err := s.RotationStore.Stale(ctx, ws, q)
	if s.armed && len(vs) == 0 && q.Limit > 1 {
		s.once.Do(func() { close(s.paused); <-s.resume })
	}
	return vs, n, err
}

// TestConcurrentRotationsBothSucceed: a rotation on another replica that
// begins once this one has moved every version (and adds its own key,
// none being left under the former ones) does not fail this one: both
// succeed and every version reads (a review found the first to finish
// failed with ErrIncomplete).
func TestConcurrentRotationsBothSucceed(t *testing.T) {
	ctx := context.Background()
	ms := secrets.NewMemoryStore()
	c := newCipher(t)
	ap := &endPause{RotationStore: ms, paused: make(chan struct{}), resume: make(chan struct{})}
	bp := &reencryptPause{RotationStore: ms, paused: make(chan struct{}), resume: make(chan struct{})}
	a := newManager(t, ap, c, nil)
	b := newManager(t, bp, c, nil)
	want := fillHistory(t, a, "ws", 5)
	for range 2 { // two earlier rotations: two former keys kept
		if _, err := a.RotateKey(ctx, "ws", nil); err != nil {
			t.Fatal(err)
		}
	}
	ap.armed = true
	type result struct {
		res secrets.RotateResult
		err error
	}
	ad, bd := make(chan result, 1), make(chan result, 1)
	go func() { r, err := a.RotateKey(ctx, "ws", nil); ad <- result{r, err} }()
	<-ap.paused // A has re-encrypted everything to KA
	go func() { r, err := b.RotateKey(ctx, "ws", nil); bd <- result{r, err} }()
	<-bp.paused // B has added KB, not yet re-encrypted
	close(ap.resume)
	ra := <-ad
	close(bp.resume)
	rb := <-bd
	t.Logf("A: %+v %v", ra.res, ra.err)
	t.Logf("B: %+v %v", rb.res, rb.err)
	if ra.err != nil || rb.err != nil {
		t.Errorf("A, a rotation that re-encrypted every version: %v; B: %v", ra.err, rb.err)
	}
	checkAll(t, newManager(t, ms, c, nil), "ws", want)
}
