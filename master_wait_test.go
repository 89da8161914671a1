package secrets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// hungCipher is a master key whose Decrypt hangs until release is closed,
// whatever its ctx, as a call to a KMS that does not answer can.
type hungCipher struct {
	secrets.Cipher
	entered chan struct{}
	release chan struct{}
}

func (h *hungCipher) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-h.release
	return h.Cipher.Decrypt(ctx, ct, ad)
}

// A write waiting for another caller's check of the master key (which
// waits on a KMS that does not answer) returns when its own ctx ends: a
// KMS trial had one with a 1 s deadline wait 16 s.
func TestMasterKeyCheckWaitEndsWithCtx(t *testing.T) {
	s := secrets.NewMemoryStore()
	c := newCipher(t)
	mustSet(t, newManager(t, s, c, nil), "ws-0", "A", "value-1") // the store knows the key
	h := &hungCipher{Cipher: c, entered: make(chan struct{}, 1), release: make(chan struct{})}
	m := newManager(t, s, h, nil) // a replica starting while the KMS hangs
	first := make(chan error, 1)
	go func() {
		_, err := m.Set(context.Background(), "ws-a", "A", []byte("value-a"), nil)
		first <- err
	}()
	<-h.entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	go func() {
		_, err := m.Set(ctx, "ws-b", "B", []byte("value-b"), nil)
		second <- err
	}()
	select {
	case err := <-second:
		if !errors.Is(err, context.DeadlineExceeded) {
			close(h.release)
			t.Fatalf("a write behind a hung check: %v", err)
		}
	case <-time.After(2 * time.Second):
		close(h.release) // let both writes end before failing
		t.Fatal("a write behind a hung check still waits, 2 s after its 200 ms deadline")
	}
	close(h.release)
	if err := <-first; err != nil {
		t.Fatalf("the first write, once the KMS answered: %v", err)
	}
}
