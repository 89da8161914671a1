// Package ciphertest is the conformance suite for implementations of
// secrets.Cipher (master keys). A Cipher passes when
//
//	ciphertest.Run(t, func(t *testing.T) secrets.Cipher { return newKey(t) })
//
// passes under go test -race. newCipher must return a new, independent key
// on every call: the suite checks that one key cannot open another's
// ciphertexts.
//
// # Tampering
//
// What must hold is that nobody who can change a stored ciphertext gets a
// plaintext out of it that its key did not encrypt, nor one under other
// associated data or another key. The suite flips bytes, truncates
// ciphertexts and appends to them, and checks each result:
//
//   - Decrypt fails and returns no plaintext, and its error does not show
//     the plaintext; or
//   - Decrypt succeeds and returns exactly the original plaintext. This is
//     allowed only when [Options].UnauthenticatedBytes says that the
//     Cipher's ciphertexts hold bytes it reads but does not authenticate
//     (Vault and OpenBao Transit write the key version as plain text in
//     "vault:v1:...", and read "v0" as version 1); the suite then checks
//     that such a ciphertext still fails under other associated data and
//     under another key.
//
// A changed ciphertext that decrypts to any other plaintext fails the
// suite whatever the options. [Run] is strict: every change must fail, as
// it does for Tink's own AEADs.
package ciphertest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// Options describes a Cipher's ciphertexts to the suite. A nil *Options
// is the strictest suite, which Run runs.
type Options struct {
	// UnauthenticatedBytes says that the Cipher's ciphertexts hold bytes
	// it reads but does not authenticate, such as a key version written
	// as plain text: a ciphertext changed there may still decrypt, but
	// only to exactly the original plaintext. When false, every change
	// must make Decrypt fail.
	UnauthenticatedBytes bool
}

// Run runs the suite, strict: every flipped, truncated or extended
// ciphertext must fail to decrypt.
func Run(t *testing.T, newCipher func(t *testing.T) secrets.Cipher) {
	RunWithOptions(t, newCipher, nil)
}

// RunWithOptions runs the suite for a Cipher described by opts.
func RunWithOptions(t *testing.T, newCipher func(t *testing.T) secrets.Cipher, opts *Options) {
	if opts == nil {
		opts = &Options{}
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, newCipher func(t *testing.T) secrets.Cipher, opts *Options)
	}{
		{"RoundTrip", testRoundTrip},
		{"EncryptionsDiffer", testEncryptionsDiffer},
		{"TamperedCiphertext", testTampered},
		{"OtherAssociatedData", testOtherAD},
		{"OtherKey", testOtherKey},
		{"StableID", testStableID},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newCipher, opts) })
	}
}

var ctx = context.Background()

func seal(t *testing.T, c secrets.Cipher, p, ad []byte) []byte {
	t.Helper()
	ct, err := c.Encrypt(ctx, p, ad)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if len(p) >= 8 && bytes.Contains(ct, p) {
		t.Fatal("the ciphertext holds the plaintext")
	}
	return ct
}

// refuses checks that Decrypt fails, returns no plaintext, and does not
// show the plaintext in its error.
func refuses(t *testing.T, what string, c secrets.Cipher, ct, ad, plaintext []byte) {
	t.Helper()
	p, err := c.Decrypt(ctx, ct, ad)
	if err == nil {
		t.Fatalf("%s: Decrypt succeeded", what)
	}
	checkRefusal(t, what, p, err, plaintext)
}

// checkRefusal checks a failed Decrypt: no plaintext returned, none shown
// in the error.
func checkRefusal(t *testing.T, what string, p []byte, err error, plaintext []byte) {
	t.Helper()
	if p != nil {
		t.Fatalf("%s: Decrypt returned %d bytes with its error", what, len(p))
	}
	if len(plaintext) >= 8 && strings.Contains(fmt.Sprintf("%v %+v", err, err), string(plaintext)) {
		t.Fatalf("%s: the error shows the plaintext", what)
	}
}

func testRoundTrip(t *testing.T, newCipher func(t *testing.T) secrets.Cipher, _ *Options) {
	c := newCipher(t)
	for _, n := range []int{0, 1, 31, 32, 33, 1000, 64 << 10} {
		for _, ad := range [][]byte{nil, []byte("ad"), bytes.Repeat([]byte{0xad}, 4096)} {
			p := bytes.Repeat([]byte{byte(n)}, n)
			ct := seal(t, c, p, ad)
			got, err := c.Decrypt(ctx, ct, ad)
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("%d bytes, %d bytes of associated data: %v", n, len(ad), err)
			}
		}
	}
}

func testEncryptionsDiffer(t *testing.T, newCipher func(t *testing.T) secrets.Cipher, _ *Options) {
	c := newCipher(t)
	p, ad := []byte("same plaintext"), []byte("same ad")
	if bytes.Equal(seal(t, c, p, ad), seal(t, c, p, ad)) {
		t.Fatal("two encryptions of one plaintext are equal")
	}
}

func testTampered(t *testing.T, newCipher func(t *testing.T) secrets.Cipher, opts *Options) {
	c, other := newCipher(t), newCipher(t)
	p, ad := []byte("tamper-canary-0123456789"), []byte("ad")
	ct := seal(t, c, p, ad)
	type change struct {
		what string
		ct   []byte
	}
	var changed []change
	add := func(what string, b []byte) { changed = append(changed, change{what, b}) }
	for i := range ct {
		if i >= 64 && i < len(ct)-64 {
			continue // the first and last 64 bytes hold every header and tag
		}
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		add(fmt.Sprintf("byte %d flipped", i), bad)
	}
	for _, n := range []int{0, 1, len(ct) / 2, len(ct) - 1} {
		add(fmt.Sprintf("truncated to %d bytes", n), bytes.Clone(ct[:n]))
	}
	add("a byte appended", append(bytes.Clone(ct), 0))

	accepted := 0
	for _, x := range changed {
		got, err := c.Decrypt(ctx, x.ct, ad)
		if err != nil {
			checkRefusal(t, x.what, got, err, p)
			continue
		}
		// Never print got: it could be a plaintext of someone else's.
		if !bytes.Equal(got, p) {
			t.Fatalf("%s: Decrypt returned a plaintext other than the one encrypted", x.what)
		}
		if !opts.UnauthenticatedBytes {
			t.Fatalf("%s: Decrypt succeeded (and Options.UnauthenticatedBytes is false)", x.what)
		}
		accepted++
		refuses(t, x.what+", under other associated data", c, x.ct, []byte("other ad"), p)
		refuses(t, x.what+", under another key", other, x.ct, ad, p)
	}
	if accepted > 0 {
		t.Logf("%d of %d changed ciphertexts decrypted to the original plaintext (unauthenticated bytes)", accepted, len(changed))
	}
}

func testOtherAD(t *testing.T, newCipher func(t *testing.T) secrets.Cipher, _ *Options) {
	c := newCipher(t)
	p := []byte("ad-canary-0123456789")
	ct := seal(t, c, p, []byte("workspace-a"))
	for _, ad := range [][]byte{[]byte("workspace-b"), []byte("workspace-a\x00"), []byte("workspace-"), nil} {
		refuses(t, fmt.Sprintf("associated data %q", ad), c, ct, ad, p)
	}
}

func testOtherKey(t *testing.T, newCipher func(t *testing.T) secrets.Cipher, _ *Options) {
	a, b := newCipher(t), newCipher(t)
	if a.ID() == b.ID() {
		t.Fatalf("two keys share the ID %q", a.ID())
	}
	p := []byte("key-canary-0123456789")
	refuses(t, "another key", b, seal(t, a, p, []byte("ad")), []byte("ad"), p)
}

func testStableID(t *testing.T, newCipher func(t *testing.T) secrets.Cipher, _ *Options) {
	c := newCipher(t)
	id := c.ID()
	if id == "" {
		t.Fatal("empty ID")
	}
	seal(t, c, []byte("x"), nil)
	if c.ID() != id {
		t.Fatalf("ID changed from %q to %q", id, c.ID())
	}
}

func testConcurrent(t *testing.T, newCipher func(t *testing.T) secrets.Cipher, _ *Options) {
	c := newCipher(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				p := []byte(fmt.Sprintf("goroutine %d message %d", g, i))
				ad := []byte(fmt.Sprint(g))
				ct, err := c.Encrypt(ctx, p, ad)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := c.Decrypt(ctx, ct, ad)
				if err != nil || !bytes.Equal(got, p) {
					t.Errorf("concurrent round trip: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
