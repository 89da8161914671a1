package secrets_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// reencryptPause passes every call to a RotationStore but stops the first
// Reencrypt before it is made, until resumed.
type reencryptPause struct {
	secrets.RotationStore
	once           sync.Once
	paused, resume chan struct{}
}

func (s *reencryptPause) Reencrypt(ctx context.Context, ws string, gen int64, items []secrets.Reencryption) (int, error) {
	s.once.Do(func() {
		close(s.paused)
		<-s.resume
	})
	return s.RotationStore.Reencrypt(ctx, ws, gen, items)
}

// A rotation whose batch is refused because the keyset changed meanwhile
// (another replica finished the rotation, which disabled the old key: a
// new key generation) takes the new keyset and goes on from the start:
// it ends without error, every version under the primary key, every value
// as it was.
func TestRotateRestartsAfterKeyChanged(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newCipher(t)
		ps := &reencryptPause{RotationStore: b.replica(t).(secrets.RotationStore), paused: make(chan struct{}), resume: make(chan struct{})}
		a := newManager(t, ps, c, nil)
		other := newManager(t, b.replica(t), c, nil)
		want := fillHistory(t, a, "ws", 20)
		type result struct {
			res secrets.RotateResult
			err error
		}
		done := make(chan result, 1)
		go func() {
			res, err := a.RotateKey(ctx, "ws", nil)
			done <- result{res, err}
		}()
		<-ps.paused // a's first batch is sealed under the new key, not yet stored
		res, err := other.RotateKey(ctx, "ws", nil)
		if err != nil || !res.Resumed || len(res.Disabled) == 0 {
			t.Fatalf("the other replica's rotation: %+v, %v", res, err)
		}
		close(ps.resume)
		r := <-done
		if r.err != nil || r.res.Primary != res.Primary || len(r.res.Left) != 0 {
			t.Fatalf("the paused rotation after the keyset changed: %+v, %v (the other's primary %d)", r.res, r.err, res.Primary)
		}
		if _, n, err := ps.Stale(ctx, "ws", secrets.StaleQuery{Keep: res.Primary, Limit: 1}); err != nil || n != 0 {
			t.Fatalf("%d versions not under the primary key, %v", n, err)
		}
		checkAll(t, newManager(t, b.replica(t), c, nil), "ws", want)
	})
}
