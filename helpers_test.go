package secrets_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/dataspace/secrets"
)

// keyMaterial returns the base64 key material of the only key of a Tink
// JSON keyset, for tests that search output for it.
func keyMaterial(t testing.TB, keysetJSON []byte) string {
	t.Helper()
	var ks struct {
		Key []struct {
			KeyData struct{ Value string } `json:"keyData"`
		} `json:"key"`
	}
	if err := json.Unmarshal(keysetJSON, &ks); err != nil || len(ks.Key) != 1 || ks.Key[0].KeyData.Value == "" {
		t.Fatalf("not a one-key Tink JSON keyset: %v", err)
	}
	return ks.Key[0].KeyData.Value
}

// newCipher returns a fresh local master key.
func newCipher(t testing.TB) *secrets.LocalCipher {
	t.Helper()
	k, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newManager(t testing.TB, s secrets.Store, c secrets.Cipher, cfg *secrets.Config) *secrets.Manager {
	t.Helper()
	m, err := secrets.New(s, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// countingCipher counts master-key calls, as a KMS bill would.
type countingCipher struct {
	secrets.Cipher
	decrypts atomic.Int64
}

func (c *countingCipher) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	c.decrypts.Add(1)
	return c.Cipher.Decrypt(ctx, ct, ad)
}

// renamedCipher presents a different key under another key's ID, as a
// misconfigured deployment would.
type renamedCipher struct {
	secrets.Cipher
	id string
}

func (c renamedCipher) ID() string { return c.id }

// tamperStore passes every call to a real Store but lets a test change the
// versions it returns, as someone with write access to the database would.
type tamperStore struct {
	secrets.Store
	version func(*secrets.Version)
	key     func(*secrets.WrappedKey)
}

func (s *tamperStore) fix(v *secrets.Version) {
	if s.version != nil {
		s.version(v)
	}
}

func (s *tamperStore) Key(ctx context.Context, ws string) (secrets.WrappedKey, error) {
	k, err := s.Store.Key(ctx, ws)
	if err == nil && s.key != nil {
		s.key(&k)
	}
	return k, err
}

func (s *tamperStore) Lookup(ctx context.Context, ws, name string) (secrets.Version, error) {
	v, err := s.Store.Lookup(ctx, ws, name)
	if err == nil {
		s.fix(&v)
	}
	return v, err
}

func (s *tamperStore) History(ctx context.Context, ws, id string) ([]secrets.Version, error) {
	vs, err := s.Store.History(ctx, ws, id)
	for i := range vs {
		s.fix(&vs[i])
	}
	return vs, err
}

func (s *tamperStore) Current(ctx context.Context, ws string) ([]secrets.Version, error) {
	vs, err := s.Store.Current(ctx, ws)
	for i := range vs {
		s.fix(&vs[i])
	}
	return vs, err
}

// fuzzCipher is one master key for all fuzz iterations, which would spend
// their time generating keys otherwise.
var fuzzCipher = func() secrets.Cipher {
	k, err := secrets.GenerateLocalKey()
	if err != nil {
		panic(err)
	}
	c, err := secrets.NewLocalCipher(k)
	if err != nil {
		panic(err)
	}
	return c
}()
