package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/ciphertest"
	"github.com/google/go-cmp/cmp"
	"github.com/tink-crypto/tink-go/v2/testing/fakekms"
)

// expectDecryptFailure checks that every read path refuses the tampered
// secret and returns nothing.
func expectDecryptFailure(t *testing.T, m *secrets.Manager, ws, name string) {
	t.Helper()
	ctx := context.Background()
	s, err := m.Get(ctx, ws, name)
	if !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("Get: %v, want ErrDecrypt", err)
	}
	if s.Value.Len() != 0 {
		t.Fatal("Get returned a value with its error")
	}
	env, err := m.EnvFor(ctx, ws)
	if !errors.Is(err, secrets.ErrDecrypt) || env != nil {
		t.Fatalf("EnvFor: %d entries, %v; want nothing and ErrDecrypt", len(env), err)
	}
	var de *secrets.DecryptError
	if !errors.As(err, &de) || !cmp.Equal(de.Names, []string{name}) {
		t.Fatalf("EnvFor error %v does not name exactly %s", err, name)
	}
}

func TestTamperedCiphertextFails(t *testing.T) {
	ctx := context.Background()
	base := secrets.NewMemoryStore()
	ts := &tamperStore{Store: base}
	m := newManager(t, ts, newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "tamper-me-please")
	orig, err := base.Lookup(ctx, "ws", "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	n := len(orig.Current.Ciphertext)
	for i := range n {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			ts.version = func(v *secrets.Version) { v.Ciphertext[i] ^= mask }
			t.Run("", func(t *testing.T) { expectDecryptFailure(t, m, "ws", "TOKEN") })
		}
	}
	for l := range n {
		ts.version = func(v *secrets.Version) { v.Ciphertext = v.Ciphertext[:l] }
		t.Run("", func(t *testing.T) { expectDecryptFailure(t, m, "ws", "TOKEN") })
	}
	ts.version = func(v *secrets.Version) { v.Ciphertext = append(v.Ciphertext, 0) }
	expectDecryptFailure(t, m, "ws", "TOKEN")
	ts.version = nil
	if got := mustGet(t, m, "ws", "TOKEN"); got != "tamper-me-please" {
		t.Fatalf("untampered value: %q", got)
	}
}

// TestMovedCiphertextFails moves ciphertexts between rows through the
// Store itself, as someone with write access to the database could.
func TestMovedCiphertextFails(t *testing.T) {
	ctx := context.Background()
	var c secrets.Cipher
	setup := func(t *testing.T) (*secrets.MemoryStore, *secrets.Manager) {
		s := secrets.NewMemoryStore()
		c = newCipher(t)
		m := newManager(t, s, c, nil)
		mustSet(t, m, "A", "TOKEN", "a-token-v1")
		mustSet(t, m, "A", "TOKEN", "a-token-v2")
		mustSet(t, m, "A", "OTHER", "a-other")
		mustSet(t, m, "B", "TOKEN", "b-token")
		return s, m
	}
	lookup := func(t *testing.T, s secrets.Store, ws, name string) secrets.Entry {
		e, err := s.Lookup(ctx, ws, name)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// overwrite gives dst a new version whose ciphertext is src.
	overwrite := func(t *testing.T, s secrets.Store, dst secrets.Entry, src []byte) {
		next := dst
		next.Revision++
		next.Current.Version++
		next.Current.Ciphertext = src
		if err := s.Put(ctx, secrets.Write{Entry: next, Expect: dst.Revision, NewVersion: true, Keep: 10}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("another secret", func(t *testing.T) {
		s, m := setup(t)
		overwrite(t, s, lookup(t, s, "A", "OTHER"), lookup(t, s, "A", "TOKEN").Current.Ciphertext)
		expectDecryptFailure(t, m, "A", "OTHER")
	})
	t.Run("another workspace", func(t *testing.T) {
		s, m := setup(t)
		overwrite(t, s, lookup(t, s, "B", "TOKEN"), lookup(t, s, "A", "TOKEN").Current.Ciphertext)
		expectDecryptFailure(t, m, "B", "TOKEN")
	})
	t.Run("another workspace with the same key", func(t *testing.T) {
		// Even if B's wrapped key is replaced by A's, the key's associated
		// data names A, so it fails to unwrap.
		s, m := setup(t)
		ka, _ := s.Key(ctx, "A")
		kb, _ := s.Key(ctx, "B")
		ka.Workspace = "B"
		if _, err := s.PutKey(ctx, ka, kb.Generation); err != nil {
			t.Fatal(err)
		}
		_ = m
		expectDecryptFailure(t, newManager(t, s, c, nil), "B", "TOKEN")
	})
	t.Run("older version put back as current", func(t *testing.T) {
		s, m := setup(t)
		cur := lookup(t, s, "A", "TOKEN")
		hist, err := s.History(ctx, "A", cur.SecretID)
		if err != nil {
			t.Fatal(err)
		}
		overwrite(t, s, cur, hist[1].Ciphertext)
		expectDecryptFailure(t, m, "A", "TOKEN")
	})
	t.Run("renamed row", func(t *testing.T) {
		s, m := setup(t)
		e := lookup(t, s, "A", "OTHER")
		next := e
		next.Revision++
		next.Name, next.Current.Name = "RENAMED", "RENAMED"
		reseal := []secrets.Version{next.Current} // the same ciphertext under another name
		if err := s.Put(ctx, secrets.Write{Entry: next, Expect: e.Revision, Reseal: reseal, Keep: 10}); err != nil {
			t.Fatal(err)
		}
		expectDecryptFailure(t, m, "A", "RENAMED")
	})
	t.Run("destroyed and recreated secret", func(t *testing.T) {
		s, m := setup(t)
		old := lookup(t, s, "A", "OTHER")
		if err := m.Destroy(ctx, "A", "OTHER", nil); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "A", "OTHER", "new-value")
		fresh := lookup(t, s, "A", "OTHER")
		// Same name, same version number, a new secret ID.
		if err := s.Put(ctx, secrets.Write{Entry: fresh, Expect: fresh.Revision, Destroy: true}); err != nil {
			t.Fatal(err)
		}
		fresh.Current.Ciphertext = old.Current.Ciphertext
		if err := s.Put(ctx, secrets.Write{Entry: fresh, NewVersion: true, Keep: 10}); err != nil {
			t.Fatal(err)
		}
		expectDecryptFailure(t, m, "A", "OTHER")
	})
}

// Flags that decide who sees a value, and how it is delivered, are bound
// into its ciphertext: flipping one in the database, or passing a current
// ciphertext off as one of the first format (without flags), makes it
// fail to decrypt, never reveals it.
func TestFlagsAreBound(t *testing.T) {
	ctx := context.Background()
	base := secrets.NewMemoryStore()
	ts := &tamperStore{Store: base}
	m := newManager(t, ts, newCipher(t), nil)
	if _, err := m.Set(ctx, "ws", "DEPLOY_KEY", []byte("write-only-value"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, m, "ws", "DEPLOY_KEY", "write-only-value-2") // history of two
	if _, err := m.Get(ctx, "ws", "DEPLOY_KEY"); !errors.Is(err, secrets.ErrWriteOnly) {
		t.Fatalf("Get: %v", err)
	}
	for what, flip := range map[string]func(v *secrets.Version){
		"write-only off": func(v *secrets.Version) { v.WriteOnly = false },
		"file on":        func(v *secrets.Version) { v.File = true },
		"format 1":       func(v *secrets.Version) { v.Format = 1 },
	} {
		ts.version = flip
		env, err := m.EnvFor(ctx, "ws")
		var de *secrets.DecryptError
		if !errors.As(err, &de) || env != nil || !cmp.Equal(de.Names, []string{"DEPLOY_KEY"}) {
			t.Fatalf("%s: EnvFor %d entries, %v", what, len(env), err)
		}
		if what != "write-only off" {
			continue // Get refuses a write-only secret before decrypting
		}
		for _, v := range []int64{0, 1, 2} {
			var err error
			var got secrets.Secret
			if v == 0 {
				got, err = m.Get(ctx, "ws", "DEPLOY_KEY")
			} else {
				got, err = m.GetVersion(ctx, "ws", "DEPLOY_KEY", v)
			}
			if !errors.Is(err, secrets.ErrDecrypt) || got.Value.Len() != 0 {
				t.Fatalf("%s, version %d: %v", what, v, err)
			}
		}
		if text, err := m.Export(ctx, "ws", nil); !errors.Is(err, secrets.ErrDecrypt) || text != nil {
			t.Fatalf("%s: Export %v", what, err)
		}
	}
	ts.version = nil
	if got := envMap(t, m, "ws")["DEPLOY_KEY"]; got != "write-only-value-2" {
		t.Fatalf("untampered: %q", got)
	}
}

func TestWrongMasterKeyFails(t *testing.T) {
	ctx := context.Background()
	s := secrets.NewMemoryStore()
	right := newCipher(t)
	m := newManager(t, s, right, nil)
	mustSet(t, m, "ws", "TOKEN", "value")

	// A different key under its own ID: the Manager knows it cannot unwrap.
	other := newManager(t, s, newCipher(t), nil)
	expectDecryptFailure(t, other, "ws", "TOKEN")
	if _, err := other.Get(ctx, "ws", "TOKEN"); err == nil || !strings.Contains(err.Error(), "Config.DecryptOnly") {
		t.Fatalf("the error does not say how to give the master key: %v", err)
	}

	// A different key presented under the right ID: authentication fails.
	impostor := newManager(t, s, renamedCipher{Cipher: newCipher(t), id: right.ID()}, nil)
	expectDecryptFailure(t, impostor, "ws", "TOKEN")

	// A flipped byte in the wrapped key.
	for i := range 64 {
		ts := &tamperStore{Store: s, key: func(k *secrets.WrappedKey) { k.Ciphertext[i*len(k.Ciphertext)/64] ^= 1 }}
		expectDecryptFailure(t, newManager(t, ts, right, nil), "ws", "TOKEN")
	}
	// The right key in a new Manager still works.
	if got := mustGet(t, newManager(t, s, right, nil), "ws", "TOKEN"); got != "value" {
		t.Fatalf("right key: %q", got)
	}
	// A former master key given as DecryptOnly keeps old data readable.
	m2 := newManager(t, s, newCipher(t), &secrets.Config{DecryptOnly: []secrets.Cipher{right}})
	if got := mustGet(t, m2, "ws", "TOKEN"); got != "value" {
		t.Fatalf("DecryptOnly key: %q", got)
	}
	if _, err := s.Key(ctx, "ws"); err != nil {
		t.Fatal(err)
	}
}

func TestKeyCache(t *testing.T) {
	ctx := context.Background()
	s := secrets.NewMemoryStore()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }

	c := &countingCipher{Cipher: newCipher(t)}
	writer := newManager(t, s, c, nil)
	for _, ws := range []string{"w1", "w2", "w3"} {
		mustSet(t, writer, ws, "A", "1")
		mustSet(t, writer, ws, "B", "2")
	}
	if n := c.decrypts.Load(); n != 0 {
		t.Fatalf("writes unwrapped %d keys; new keys are cached as created", n)
	}

	m := newManager(t, s, c, &secrets.Config{KeyCacheSize: 2, KeyCacheTTL: time.Minute, Now: now})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.EnvFor(ctx, "w1"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := c.decrypts.Load(); n != 1 {
		t.Fatalf("20 concurrent EnvFor calls on a cold cache unwrapped %d times, want 1", n)
	}
	for range 10 {
		mustGet(t, m, "w1", "A")
	}
	if n := c.decrypts.Load(); n != 1 {
		t.Fatalf("warm reads unwrapped again: %d", n)
	}
	advance(61 * time.Second)
	mustGet(t, m, "w1", "A")
	if n := c.decrypts.Load(); n != 2 {
		t.Fatalf("after the TTL: %d unwraps, want 2", n)
	}
	// Size bound: three workspaces in a cache of two evict each other.
	for range 2 {
		for _, ws := range []string{"w1", "w2", "w3"} {
			mustGet(t, m, ws, "A")
		}
	}
	// w1 is cached; then w2, w3, w1, w2, w3 each miss.
	if n := c.decrypts.Load(); n != 2+5 {
		t.Fatalf("round robin over 3 workspaces with a cache of 2: %d unwraps, want 7", n)
	}
}

func TestLocalCipherLoading(t *testing.T) {
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	c1, err := secrets.NewLocalCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "master.json")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	c2, err := secrets.LoadLocalCipher(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_SECRETS_MASTER_KEY", string(key))
	c3, err := secrets.LocalCipherFromEnv("TEST_SECRETS_MASTER_KEY")
	if err != nil {
		t.Fatal(err)
	}
	if c1.ID() != c2.ID() || c1.ID() != c3.ID() || !strings.HasPrefix(c1.ID(), "tink-local:") {
		t.Fatalf("IDs differ: %s %s %s", c1.ID(), c2.ID(), c3.ID())
	}
	ctx := context.Background()
	ct, err := c1.Encrypt(ctx, []byte("p"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*secrets.LocalCipher{c2, c3} {
		if p, err := c.Decrypt(ctx, ct, []byte("ad")); err != nil || string(p) != "p" {
			t.Fatalf("Decrypt with loaded key: %q %v", p, err)
		}
	}
	if p, err := c1.Decrypt(ctx, ct, []byte("other")); !errors.Is(err, secrets.ErrDecrypt) || p != nil {
		t.Fatalf("Decrypt with other associated data: %q %v", p, err)
	}
	// Two encryptions of one plaintext differ.
	ct2, _ := c1.Encrypt(ctx, []byte("p"), []byte("ad"))
	if bytes.Equal(ct, ct2) {
		t.Fatal("encryption is deterministic")
	}

	// Bad input: errors that do not quote the input.
	bad := map[string][]byte{
		"empty":     {},
		"not json":  []byte("hunter2-not-a-keyset"),
		"truncated": key[:len(key)/2],
	}
	for name, b := range bad {
		_, err := secrets.NewLocalCipher(b)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if len(b) > 8 && strings.Contains(err.Error(), string(b[:8])) {
			t.Errorf("%s: error quotes the input: %v", name, err)
		}
	}
	if _, err := secrets.LoadLocalCipher(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("LoadLocalCipher of a missing file: no error")
	}
	if _, err := secrets.LocalCipherFromEnv("TEST_SECRETS_UNSET_VARIABLE"); err == nil {
		t.Error("LocalCipherFromEnv of an unset variable: no error")
	}
	keyMaterial(t, key) // a one-key Tink JSON keyset
}

func fakeKMSCipher(t *testing.T, id string) *secrets.RemoteCipher {
	t.Helper()
	uri, err := fakekms.NewKeyURI()
	if err != nil {
		t.Fatal(err)
	}
	client, err := fakekms.NewClient("fake-kms://")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := secrets.NewKMSCipher(client, uri); err != nil || c.ID() != uri {
		t.Fatalf("NewKMSCipher: %v", err)
	}
	a, err := client.GetAEAD(uri)
	if err != nil {
		t.Fatal(err)
	}
	// The fake's URI holds its key, so it is no ID to store: name it by id.
	return secrets.NewRemoteCipher(id, a)
}

// TestRemoteCipher uses Tink's fake KMS as a master key: round trips,
// wrong keys and tampered wrapped keys, and a move from a local key.
func TestRemoteCipher(t *testing.T) {
	ctx := context.Background()
	s := secrets.NewMemoryStore()
	kms := fakeKMSCipher(t, "fake-kms:key-1")
	m := newManager(t, s, kms, nil)
	mustSet(t, m, "ws", "TOKEN", "via-kms")
	if got := mustGet(t, newManager(t, s, kms, nil), "ws", "TOKEN"); got != "via-kms" {
		t.Fatal(got)
	}
	wk, err := s.Key(ctx, "ws")
	if err != nil || wk.CipherID != "fake-kms:key-1" {
		t.Fatalf("wrapped key: %+v %v", wk.CipherID, err)
	}
	// Another KMS key under the same ID: the service refuses.
	impostor := fakeKMSCipher(t, "fake-kms:key-1")
	expectDecryptFailure(t, newManager(t, s, impostor, nil), "ws", "TOKEN")
	// A flipped byte in the wrapped key.
	ts := &tamperStore{Store: s, key: func(k *secrets.WrappedKey) { k.Ciphertext[len(k.Ciphertext)/2] ^= 1 }}
	expectDecryptFailure(t, newManager(t, ts, kms, nil), "ws", "TOKEN")
	// A cancelled context is not a decryption failure.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := kms.Decrypt(cctx, wk.Ciphertext, []byte("x")); !errors.Is(err, context.Canceled) || errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("cancelled Decrypt: %v", err)
	}

	// From a local master key to the KMS, while serving.
	local := newCipher(t)
	m2 := newManager(t, s, local, &secrets.Config{AddMasterKey: true})
	mustSet(t, m2, "legacy", "OLD", "local-wrapped")
	moving := newManager(t, s, kms, &secrets.Config{DecryptOnly: []secrets.Cipher{local}})
	if res, err := moving.Rewrap(ctx, nil); err != nil || res.Rewrapped != 1 {
		t.Fatalf("rewrap to the KMS: %+v %v", res, err)
	}
	if got := mustGet(t, newManager(t, s, kms, nil), "legacy", "OLD"); got != "local-wrapped" {
		t.Fatal(got)
	}
	if !strings.Contains(fmt.Sprint(kms), "fake-kms:key-1") {
		t.Fatalf("RemoteCipher prints %v", kms)
	}

	client, _ := fakekms.NewClient("fake-kms://")
	if _, err := secrets.NewKMSCipher(client, "aws-kms://arn:aws:kms:eu-west-1:1:key/x"); err == nil {
		t.Fatal("a fake client accepted an AWS key URI")
	}
}

func TestLocalCipherConformance(t *testing.T) {
	ciphertest.Run(t, func(t *testing.T) secrets.Cipher { return newCipher(t) })
}

func TestRemoteCipherConformance(t *testing.T) {
	n := 0
	ciphertest.Run(t, func(t *testing.T) secrets.Cipher {
		n++
		return fakeKMSCipher(t, fmt.Sprint("fake-kms:conformance-", n))
	})
}
