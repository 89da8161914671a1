package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dataspace/secrets"
)

// kmsOutage is the error of a KMS that cannot answer now, as the kms
// package's are: it says Unavailable.
type kmsOutage struct{}

func (kmsOutage) Error() string     { return "kms: 503 service unavailable" }
func (kmsOutage) Unavailable() bool { return true }

// downCipher is a master key whose Encrypt fails with a kmsOutage while
// down is set, but for the first pass calls.
type downCipher struct {
	secrets.Cipher
	down atomic.Bool
	pass atomic.Int32
}

func (c *downCipher) Encrypt(ctx context.Context, p, ad []byte) ([]byte, error) {
	if c.down.Load() && c.pass.Add(-1) < 0 {
		return nil, fmt.Errorf("encrypt: %w", kmsOutage{})
	}
	return c.Cipher.Encrypt(ctx, p, ad)
}

// wantOutage fails unless err is the Cipher's outage, still found by
// errors.As through the wrapping of a data key, and names ws.
func wantOutage(t *testing.T, err error, ws string) {
	t.Helper()
	var o kmsOutage
	if !errors.As(err, &o) {
		t.Fatalf("the Cipher's error is lost: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("%q", ws)) || strings.Contains(msg, "keyset.Handle") {
		t.Fatalf("the error does not name workspace %s, or repeats Tink's words: %v", ws, err)
	}
}

// Wrapping a data key keeps the master key's own error (Tink's writer
// keeps only its text): a host tells a KMS outage at a new workspace's
// first write, or during a Rewrap, from any other failure, and the error
// names the workspace. Nothing is written.
func TestWrapKeyKeepsTheCiphersError(t *testing.T) {
	ctx := context.Background()
	s := secrets.NewMemoryStore()
	c := &downCipher{Cipher: newCipher(t)}
	m := newManager(t, s, c, nil)
	mustSet(t, m, "ws-0", "A", "value-0")

	c.down.Store(true)
	_, err := m.Set(ctx, "ws-new", "A", []byte("value-new"), nil)
	wantOutage(t, err, "ws-new")
	if _, err := m.Get(ctx, "ws-new", "A"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("a failed first write left something: %v", err)
	}

	next := &downCipher{Cipher: newCipher(t)}
	moving := newManager(t, s, next, &secrets.Config{DecryptOnly: []secrets.Cipher{c}, AddMasterKey: true})
	next.down.Store(true)
	next.pass.Store(1) // the check value of the new master key
	res, err := moving.Rewrap(ctx, nil)
	wantOutage(t, err, "ws-0")
	if res.Rewrapped != 0 {
		t.Fatalf("rewrapped %d keys with a master key that is down", res.Rewrapped)
	}
	next.down.Store(false)
	if res, err := moving.Rewrap(ctx, nil); err != nil || res.Rewrapped != 1 {
		t.Fatalf("rewrap once the master key is back: %+v, %v", res, err)
	}
	if got := mustGet(t, moving, "ws-0", "A"); got != "value-0" {
		t.Fatal(got)
	}
}
