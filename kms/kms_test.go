package kms_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/ciphertest"
	"github.com/dataspace/secrets/kms"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/testing/fakekms"
)

// roundTrip stores a secret under master key c and reads it back through
// a second Manager.
func roundTrip(t *testing.T, c secrets.Cipher) {
	t.Helper()
	ctx := context.Background()
	s := secrets.NewMemoryStore()
	m, err := secrets.New(s, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Set(ctx, "ws", "TOKEN", []byte("kms-wrapped"), nil); err != nil {
		t.Fatal(err)
	}
	m2, _ := secrets.New(s, c, nil)
	got, err := m2.Get(ctx, "ws", "TOKEN")
	if err != nil || string(got.Value.Reveal()) != "kms-wrapped" {
		t.Fatalf("round trip: %v", err)
	}
	wk, _ := s.Key(ctx, "ws")
	if wk.CipherID != c.ID() {
		t.Fatalf("wrapped by %q, want %q", wk.CipherID, c.ID())
	}
}

// TestURIs: URIs are dispatched by scheme; extra clients (Tink's fake
// KMS here) come first; errors name the scheme, never the whole URI.
func TestURIs(t *testing.T) {
	ctx := context.Background()
	uri, err := fakekms.NewKeyURI()
	if err != nil {
		t.Fatal(err)
	}
	fake, err := fakekms.NewClient("fake-kms://")
	if err != nil {
		t.Fatal(err)
	}
	opts := &kms.Options{Clients: []registry.KMSClient{fake}, ID: "fake:test-key"}
	c, err := kms.NewCipher(ctx, uri, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "fake:test-key" {
		t.Fatalf("ID %q", c.ID())
	}
	roundTrip(t, c)

	// Without the fake client its scheme is unknown.
	_, err = kms.NewCipher(ctx, uri, nil)
	if !errors.Is(err, kms.ErrUnsupported) || strings.Contains(err.Error(), uri[len("fake-kms://"):][:12]) {
		t.Fatalf("fake URI without its client: %v", err)
	}
	for _, bad := range []string{"", "https://example.com/key", "AWS-KMX://x"} {
		if _, err := kms.NewCipher(ctx, bad, nil); !errors.Is(err, kms.ErrUnsupported) {
			t.Errorf("NewCipher(%q): %v", bad, err)
		}
	}

	// Malformed URIs of known schemes fail before any network call.
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if _, err := kms.NewCipher(ctx, "aws-kms://not-an-arn", nil); err == nil {
		t.Error("a malformed AWS key URI was accepted")
	}
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	t.Setenv("VAULT_TOKEN", "token-canary-123")
	t.Setenv("VAULT_MAX_RETRIES", "0") // a closed port: no need to wait for retries
	for _, u := range []string{"hcvault://127.0.0.1:1/transit/nokeys", "hcvault://127.0.0.1:1/"} {
		if _, err := kms.NewCipher(ctx, u, nil); err == nil {
			t.Errorf("malformed Vault key URI %q was accepted", u)
		}
	}
	// A well-formed Vault URI builds; using it against a closed port fails
	// without showing the token.
	vc, err := kms.NewCipher(ctx, "hcvault://127.0.0.1:1/transit/keys/k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vc.Encrypt(ctx, []byte("p"), []byte("ad")); err == nil || strings.Contains(err.Error(), "token-canary") {
		t.Fatalf("Encrypt against a closed port: %v", err)
	}
}

// The Transit tests run against a real OpenBao server (openbao_test.go):
// the one scripts/test starts, or a dev server of their own. Every error
// they meet goes through noSecrets: none may show the token.

// noSecrets fails t if err, printed with any verb, shows the token or
// one of the plaintexts.
func noSecrets(t testing.TB, what string, err error, token string, plaintexts ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, token) {
			t.Errorf("%s: the error shows the Vault token: %s", what, strings.ReplaceAll(s, token, "[token]"))
		}
		for _, p := range plaintexts {
			if strings.Contains(s, p) {
				t.Errorf("%s: the error shows a plaintext", what)
			}
		}
	}
}

// guarded is a Cipher whose every error is checked by noSecrets: the
// conformance suite's failures too.
type guarded struct {
	c       secrets.Cipher
	t       testing.TB
	token   string
	checked *atomic.Int64
}

func (g guarded) ID() string { return g.c.ID() }

func (g guarded) Encrypt(ctx context.Context, p, ad []byte) ([]byte, error) {
	ct, err := g.c.Encrypt(ctx, p, ad)
	g.check("Encrypt", err)
	return ct, err
}

func (g guarded) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	p, err := g.c.Decrypt(ctx, ct, ad)
	g.check("Decrypt", err)
	return p, err
}

func (g guarded) check(what string, err error) {
	if err != nil {
		g.checked.Add(1)
		noSecrets(g.t, what, err, g.token)
	}
}

// TestTransitConformance runs the ciphertest suite over Transit keys, each
// built by kms.NewCipher from its hcvault:// URI and the environment
// (VAULT_ADDR, VAULT_TOKEN), as a host builds it. Transit writes the key
// version in plain text ("vault:v1:"), so the suite allows changes there
// that decrypt to exactly the original plaintext; nothing else.
func TestTransitConformance(t *testing.T) {
	bao := startOpenBao(t)
	var checked atomic.Int64
	ciphertest.RunWithOptions(t, func(t *testing.T) secrets.Cipher {
		c := bao.Cipher(t, bao.CreateTransitKey(t, newKeyName()))
		return guarded{c: c, t: t, token: bao.Token, checked: &checked}
	}, &ciphertest.Options{UnauthenticatedBytes: true})
	if checked.Load() == 0 {
		t.Fatal("the suite met no error")
	}
	t.Logf("%d errors of the suite checked: none shows the token", checked.Load())
}

// TestTransitRoundTrip: a workspace key wrapped by a Transit key is
// unwrapped by another Manager; the Cipher prints no token.
func TestTransitRoundTrip(t *testing.T) {
	bao := startOpenBao(t)
	uri := bao.CreateTransitKey(t, newKeyName())
	c := bao.Cipher(t, uri)
	if c.ID() != uri {
		t.Fatalf("ID %q, want the key URI %q", c.ID(), uri)
	}
	roundTrip(t, c)
	if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c); strings.Contains(s, bao.Token) {
		t.Fatal("the Cipher prints the token")
	}
}

// TestTransitAssociatedData: the associated data reaches Transit as its
// associated_data parameter, which binds it: a ciphertext made with A
// does not decrypt with B, nor with none, nor through the HTTP API
// without it, and does with A.
func TestTransitAssociatedData(t *testing.T) {
	bao := startOpenBao(t)
	name := newKeyName()
	c := bao.Cipher(t, bao.CreateTransitKey(t, name))
	ctx := context.Background()
	ct, err := c.Encrypt(ctx, []byte("ad-bound-plaintext"), []byte("workspace-a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range [][]byte{[]byte("workspace-b"), nil, []byte("workspace-a\x00")} {
		p, err := c.Decrypt(ctx, ct, ad)
		if !errors.Is(err, secrets.ErrDecrypt) || p != nil {
			t.Fatalf("Decrypt with associated data %q: %v", ad, err)
		}
		noSecrets(t, "Decrypt with other associated data", err, bao.Token, "ad-bound-plaintext")
	}
	if p, err := c.Decrypt(ctx, ct, []byte("workspace-a")); err != nil || string(p) != "ad-bound-plaintext" {
		t.Fatalf("Decrypt with the same associated data: %v", err)
	}

	// The same through Transit's API: the binding is the server's.
	decrypt := func(fields map[string]any) error {
		fields["ciphertext"] = string(ct)
		return bao.Do(ctx, http.MethodPost, "transit/decrypt/"+name, fields, nil)
	}
	if err := decrypt(map[string]any{}); err == nil {
		t.Fatal("Transit decrypted without the associated data")
	}
	if err := decrypt(map[string]any{"context": base64.StdEncoding.EncodeToString([]byte("workspace-a"))}); err == nil {
		t.Fatal("Transit decrypted with the associated data passed as context")
	}
	if err := decrypt(map[string]any{"associated_data": base64.StdEncoding.EncodeToString([]byte("workspace-a"))}); err != nil {
		t.Fatalf("Transit with associated_data: %v", err)
	}
}

// TestTransitKeyRotation: after a rotation of the Transit key, ciphertexts
// made before it still decrypt, new ones use version 2, and a workspace
// wrapped before it is read by a fresh Manager.
func TestTransitKeyRotation(t *testing.T) {
	bao := startOpenBao(t)
	name := newKeyName()
	c := bao.Cipher(t, bao.CreateTransitKey(t, name))
	ctx := context.Background()
	store := secrets.NewMemoryStore()
	m, err := secrets.New(store, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Set(ctx, "ws", "TOKEN", []byte("wrapped-at-v1"), nil); err != nil {
		t.Fatal(err)
	}
	old, err := c.Encrypt(ctx, []byte("sealed-at-v1"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(old, []byte("vault:v1:")) {
		t.Fatalf("before rotation: %.9s...", old)
	}

	if v := bao.RotateTransitKey(t, name); v != 2 {
		t.Fatalf("rotated to version %d", v)
	}
	cur, err := c.Encrypt(ctx, []byte("sealed-at-v2"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(cur, []byte("vault:v2:")) {
		t.Fatalf("after rotation: %.9s...", cur)
	}
	for ct, want := range map[string]string{string(old): "sealed-at-v1", string(cur): "sealed-at-v2"} {
		if p, err := c.Decrypt(ctx, []byte(ct), []byte("ad")); err != nil || string(p) != want {
			t.Fatalf("%.9s... after rotation: %v", ct, err)
		}
	}
	m2, _ := secrets.New(store, c, nil)
	if s, err := m2.Get(ctx, "ws", "TOKEN"); err != nil || string(s.Value.Reveal()) != "wrapped-at-v1" {
		t.Fatalf("a workspace wrapped before the rotation: %v", err)
	}
}

// TestTransitMinDecryptionVersion: once min_decryption_version passes the
// version that made a ciphertext, Transit refuses it: Decrypt fails as
// ErrDecrypt, and its error shows neither the token nor the plaintext.
// Lowering it again makes the ciphertext decrypt: it was refused, not
// damaged.
func TestTransitMinDecryptionVersion(t *testing.T) {
	bao := startOpenBao(t)
	name := newKeyName()
	c := bao.Cipher(t, bao.CreateTransitKey(t, name))
	ctx := context.Background()
	store := secrets.NewMemoryStore()
	m, _ := secrets.New(store, c, nil)
	if _, err := m.Set(ctx, "ws", "TOKEN", []byte("wrapped-at-v1"), nil); err != nil {
		t.Fatal(err)
	}
	old, err := c.Encrypt(ctx, []byte("sealed-at-v1"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	bao.RotateTransitKey(t, name)
	cur, err := c.Encrypt(ctx, []byte("sealed-at-v2"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}

	bao.ConfigTransitKey(t, name, map[string]any{"min_decryption_version": 2})
	if k := bao.TransitKey(t, name); k.MinDecryptionVersion != 2 {
		t.Fatalf("min_decryption_version %d", k.MinDecryptionVersion)
	}
	p, err := c.Decrypt(ctx, old, []byte("ad"))
	if !errors.Is(err, secrets.ErrDecrypt) || p != nil {
		t.Fatalf("a version 1 ciphertext under min_decryption_version 2: %v", err)
	}
	noSecrets(t, "Decrypt below min_decryption_version", err, bao.Token, "sealed-at-v1")
	t.Logf("refused: %v", err)
	m2, _ := secrets.New(store, c, nil)
	_, err = m2.Get(ctx, "ws", "TOKEN")
	if !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("a workspace wrapped at version 1: %v", err)
	}
	noSecrets(t, "Get below min_decryption_version", err, bao.Token, "wrapped-at-v1")
	if p, err := c.Decrypt(ctx, cur, []byte("ad")); err != nil || string(p) != "sealed-at-v2" {
		t.Fatalf("a version 2 ciphertext: %v", err)
	}

	bao.ConfigTransitKey(t, name, map[string]any{"min_decryption_version": 1})
	if p, err := c.Decrypt(ctx, old, []byte("ad")); err != nil || string(p) != "sealed-at-v1" {
		t.Fatalf("after lowering min_decryption_version: %v", err)
	}
}

// TestTransitServerStopped: Transit stops answering, becomes unreachable
// and comes back, then its server is killed (a server of the test's
// own). Every call returns by its ctx's deadline, or at once when the
// connection fails, with an error that shows neither the token nor any
// plaintext; a Manager that has not cached the workspace key reports the
// failure instead of hanging, and reads again once Transit is back.
func TestTransitServerStopped(t *testing.T) {
	bao := newOpenBao(t)
	uri := bao.CreateTransitKey(t, newKeyName())
	c := bao.Cipher(t, uri)
	ctx := context.Background()
	store := secrets.NewMemoryStore()
	m, _ := secrets.New(store, c, nil)
	if _, err := m.Set(ctx, "ws", "TOKEN", []byte("value-before-stop"), nil); err != nil {
		t.Fatal(err)
	}
	ct, err := c.Encrypt(ctx, []byte("sealed-before-stop"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	plaintexts := []string{"value-before-stop", "sealed-before-stop", "sealed-during-stop"}

	// each calls Encrypt, Decrypt, and Get through a new Manager (nothing
	// cached: it must unwrap the workspace key) under a deadline, and
	// checks that each fails by then with a clean error.
	const deadline = time.Second
	each := func(t *testing.T, c secrets.Cipher, check func(what string, err error)) {
		t.Helper()
		calls := []struct {
			what string
			f    func(ctx context.Context) error
		}{
			{"Encrypt", func(ctx context.Context) error {
				_, err := c.Encrypt(ctx, []byte("sealed-during-stop"), []byte("ad"))
				return err
			}},
			{"Decrypt", func(ctx context.Context) error {
				p, err := c.Decrypt(ctx, ct, []byte("ad"))
				if p != nil {
					t.Errorf("Decrypt returned %d bytes with its error", len(p))
				}
				return err
			}},
			{"Get", func(ctx context.Context) error {
				m2, _ := secrets.New(store, c, nil)
				_, err := m2.Get(ctx, "ws", "TOKEN")
				return err
			}},
		}
		for _, call := range calls {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			start := time.Now()
			err := call.f(ctx)
			took := time.Since(start)
			cancel()
			if err == nil {
				t.Fatalf("%s: no error", call.what)
			}
			if took > deadline+2*time.Second {
				t.Errorf("%s: returned after %v, deadline %v", call.what, took, deadline)
			}
			noSecrets(t, call.what, err, bao.Token, plaintexts...)
			t.Logf("%s: %v, after %v", call.what, err, took.Round(time.Millisecond))
			check(call.what, err)
		}
	}

	t.Run("Unresponsive", func(t *testing.T) {
		// What a hung server looks like from the client: connections are
		// accepted, and nothing answers.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var conns []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, conn)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			l.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, conn := range conns {
				conn.Close()
			}
		})
		// The same key URI, and so the same ID, on the silent address.
		hung := bao.Cipher(t, uri, "VAULT_ADDR=http://"+l.Addr().String())
		each(t, hung, func(what string, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want the deadline", what, err)
			}
		})
	})

	t.Run("CutAndRestored", func(t *testing.T) {
		// Transit unreachable for a while, then back with the same keys:
		// the calls made meanwhile fail, and the next ones succeed.
		r := bao.Relay(t)
		rc := bao.Cipher(t, uri, "VAULT_ADDR="+r.Addr(), "VAULT_MAX_RETRIES=0")
		if p, err := rc.Decrypt(ctx, ct, []byte("ad")); err != nil || string(p) != "sealed-before-stop" {
			t.Fatalf("through the relay: %v", err)
		}
		r.Cut()
		each(t, rc, func(string, error) {})
		r.Restore()
		if p, err := rc.Decrypt(ctx, ct, []byte("ad")); err != nil || string(p) != "sealed-before-stop" {
			t.Fatalf("Decrypt once restored: %v", err)
		}
		m2, _ := secrets.New(store, rc, nil)
		if s, err := m2.Get(ctx, "ws", "TOKEN"); err != nil || string(s.Value.Reveal()) != "value-before-stop" {
			t.Fatalf("Get once restored: %v", err)
		}
	})

	t.Run("Killed", func(t *testing.T) {
		if p, err := c.Decrypt(ctx, ct, []byte("ad")); err != nil || string(p) != "sealed-before-stop" {
			t.Fatalf("before the kill: %v", err)
		}
		bao.Stop(t)
		// The Vault client retries refused connections (twice, a second
		// apart): the deadline ends the wait.
		each(t, c, func(string, error) {})
		// Without retries, the refusal itself comes back at once, and
		// says what happened.
		quick := bao.Cipher(t, uri, "VAULT_MAX_RETRIES=0")
		each(t, quick, func(what string, err error) {
			if !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("%s without retries: %v, want the refusal", what, err)
			}
		})
	})
}

// TestTransitTokenNeverInErrors provokes every kind of failure a host can
// meet with Transit and checks that no error shows the token it used: a
// refused token, a missing key, a malformed or foreign ciphertext, a
// malformed URI, an unreachable server.
func TestTransitTokenNeverInErrors(t *testing.T) {
	bao := startOpenBao(t)
	ctx := context.Background()
	name := newKeyName()
	uri := bao.CreateTransitKey(t, name)
	c := bao.Cipher(t, uri)
	ct, err := c.Encrypt(ctx, []byte("token-test-plaintext"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	other := bao.Cipher(t, bao.CreateTransitKey(t, newKeyName()))

	type failure struct {
		what  string
		token string
		err   error
	}
	var failures []failure
	add := func(what, token string, err error) {
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		failures = append(failures, failure{what, token, err})
	}
	decryptErr := func(c secrets.Cipher, ct []byte) error {
		_, err := c.Decrypt(ctx, ct, []byte("ad"))
		return err
	}

	// A token the server does not know: it must not be shown either.
	const canary = "s.token-canary-0123456789abcdef"
	refused := bao.Cipher(t, uri, "VAULT_TOKEN="+canary)
	_, err = refused.Encrypt(ctx, []byte("token-test-plaintext"), []byte("ad"))
	add("Encrypt with a refused token", canary, err)
	add("Decrypt with a refused token", canary, decryptErr(refused, ct))

	t.Setenv("VAULT_TOKEN", bao.Token)
	missing, err := kms.NewCipher(ctx, bao.KeyURI(newKeyName()), nil)
	if err != nil {
		t.Fatal(err)
	}
	add("Decrypt with a key that does not exist", bao.Token, decryptErr(missing, ct))
	add("Decrypt of another key's ciphertext", bao.Token, decryptErr(other, ct))
	add("Decrypt of garbage", bao.Token, decryptErr(c, []byte("vault:v1:bm90IGEgY2lwaGVydGV4dA==")))
	add("Decrypt of a ciphertext without prefix", bao.Token, decryptErr(c, []byte("not-a-ciphertext")))
	add("Decrypt of a version that does not exist", bao.Token, decryptErr(c, bytes.Replace(ct, []byte("vault:v1:"), []byte("vault:v9:"), 1)))
	add("Decrypt with other associated data", bao.Token, func() error { _, err := c.Decrypt(ctx, ct, []byte("da")); return err }())
	_, err = kms.NewCipher(ctx, "hcvault://"+strings.TrimPrefix(bao.Addr, "http://")+"/transit/nokeys", nil)
	add("NewCipher with a malformed URI", bao.Token, err)

	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	t.Setenv("VAULT_MAX_RETRIES", "0")
	closed, err := kms.NewCipher(ctx, uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	add("Decrypt against a closed port", bao.Token, decryptErr(closed, ct))
	_, err = closed.Encrypt(ctx, []byte("token-test-plaintext"), []byte("ad"))
	add("Encrypt against a closed port", bao.Token, err)

	for _, f := range failures {
		noSecrets(t, f.what, f.err, f.token, "token-test-plaintext")
		noSecrets(t, f.what, f.err, bao.Token)
		t.Logf("%s: %v", f.what, f.err)
	}
}
