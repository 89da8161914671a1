package secrets_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
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

// A backend makes Stores over one set of data: each call of replica gives
// another Store onto it, as another backend process has (for Postgres,
// with a pool of its own).
type backend struct {
	name    string
	replica func(t testing.TB) secrets.Store
}

// backends returns the memory store and, where a database is reachable,
// Postgres over each pool kind and each of extra, each with fresh data.
func backends(t *testing.T, extra ...pgPool) []backend {
	mem := func() backend {
		var once sync.Once
		var s *secrets.MemoryStore
		return backend{"memory", func(testing.TB) secrets.Store {
			once.Do(func() { s = secrets.NewMemoryStore() })
			return s
		}}
	}
	out := []backend{mem()}
	for _, p := range append(pgPools[:len(pgPools):len(pgPools)], extra...) {
		var once sync.Once
		var first *secrets.PostgresStore
		out = append(out, backend{"postgres-" + p.String(), func(t testing.TB) secrets.Store {
			once.Do(func() { first = newPGStore(t, p.db(t)) })
			return sameSchema(t, p.open(t, 4), first)
		}})
	}
	return out
}

// eachBackend runs fn on every backend, in parallel subtests.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) { eachBackendAnd(t, nil, fn) }

// eachBackendAnd runs fn on every backend and on Postgres over each of
// extra, in parallel subtests.
func eachBackendAnd(t *testing.T, extra []pgPool, fn func(t *testing.T, b backend)) {
	for _, b := range backends(t, extra...) {
		t.Run(b.name, func(t *testing.T) {
			if strings.HasPrefix(b.name, "postgres") {
				pgURL(t)
			}
			t.Parallel()
			fn(t, b)
		})
	}
}

// eachStore runs fn with one Store of every backend.
func eachStore(t *testing.T, fn func(t *testing.T, s secrets.Store)) {
	eachBackend(t, func(t *testing.T, b backend) { fn(t, b.replica(t)) })
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

// tamperStore passes every call to a real Store but lets a test change
// what it returns, as someone with write access to the database would.
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

func (s *tamperStore) Lookup(ctx context.Context, ws, name string) (secrets.Entry, error) {
	e, err := s.Store.Lookup(ctx, ws, name)
	if err == nil {
		s.fix(&e.Current)
	}
	return e, err
}

func (s *tamperStore) History(ctx context.Context, ws, id string) ([]secrets.Version, error) {
	vs, err := s.Store.History(ctx, ws, id)
	for i := range vs {
		s.fix(&vs[i])
	}
	return vs, err
}

func (s *tamperStore) Env(ctx context.Context, ws string, q secrets.EnvQuery) (secrets.Snapshot, error) {
	snap, err := s.Store.Env(ctx, ws, q)
	for i := range snap.Entries {
		e := &snap.Entries[i]
		v := secrets.Version{Workspace: ws, SecretID: e.SecretID, Name: e.Name, Version: e.Version, Format: e.Format,
			WriteOnly: e.WriteOnly, File: e.File, Ciphertext: e.Ciphertext}
		s.fix(&v)
		e.SecretID, e.Name, e.Version, e.Format, e.WriteOnly, e.File, e.Ciphertext = v.SecretID, v.Name, v.Version, v.Format, v.WriteOnly, v.File, v.Ciphertext
	}
	return snap, err
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

func mustSet(t testing.TB, m *secrets.Manager, ws, name, value string) secrets.Meta {
	t.Helper()
	meta, err := m.Set(context.Background(), ws, name, []byte(value), nil)
	if err != nil {
		t.Fatalf("Set(%s, %s): %v", ws, name, err)
	}
	return meta
}

func mustGet(t testing.TB, m *secrets.Manager, ws, name string) string {
	t.Helper()
	s, err := m.Get(context.Background(), ws, name)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", ws, name, err)
	}
	return string(s.Value.Reveal())
}

// envMap returns EnvFor as a map.
func envMap(t testing.TB, m *secrets.Manager, ws string) map[string]string {
	t.Helper()
	env, err := m.EnvFor(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// listAll returns every live secret's metadata.
func listAll(t testing.TB, m *secrets.Manager, ws string) []secrets.Meta {
	t.Helper()
	var out []secrets.Meta
	opts := &secrets.ListOptions{Limit: 1000}
	for {
		p, err := m.List(context.Background(), ws, opts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Secrets...)
		if p.Next == "" {
			return out
		}
		opts.After = p.Next
	}
}
