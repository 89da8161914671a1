package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

var keyTests = []test{
	{"KeyRoundTrip", testKeyRoundTrip},
	{"KeyCheckAndSet", testKeyCheckAndSet},
	{"GenerationsNeverRepeat", testGenerationsNeverRepeat},
	{"KeyGenGuardsWrites", testKeyGenGuardsWrites},
	{"MasterKeys", testMasterKeys},
	{"FirstMasterKeyOnlyOnEmptyStore", testFirstMasterKeyOnlyOnEmptyStore},
}

func testKeyRoundTrip(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	k := secrets.WrappedKey{Workspace: "ws", CipherID: "c1", Ciphertext: []byte{1, 2, 0, 255}, Updated: t0}
	gen, err := s.PutKey(ctx, k, 0)
	if err != nil {
		t.Fatal(err)
	}
	if gen <= 0 {
		t.Fatalf("PutKey returned generation %d", gen)
	}
	got, err := s.Key(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	k.Generation = gen
	diff(t, "Key", got, k)

	k2 := secrets.WrappedKey{Workspace: "ws", CipherID: "c2", Ciphertext: []byte{9, 9}, Updated: t0.Add(time.Hour)}
	gen2, err := s.PutKey(ctx, k2, gen)
	if err != nil {
		t.Fatal(err)
	}
	if gen2 <= gen {
		t.Fatalf("second generation %d after %d", gen2, gen)
	}
	got, err = s.Key(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	k2.Generation = gen2
	diff(t, "Key after update", got, k2)
}

func testKeyCheckAndSet(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	_, err := s.Key(ctx, "ws")
	wantErr(t, "Key of new workspace", err, secrets.ErrNotFound)
	_, err = s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{1}}, 1)
	wantErr(t, "PutKey expecting a generation of no key", err, secrets.ErrConflict)
	k := secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{1}, Updated: t0}
	gen, err := s.PutKey(ctx, k, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{2}}, 0)
	wantErr(t, "second create", err, secrets.ErrConflict)
	_, err = s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{2}}, gen+1000)
	wantErr(t, "stale generation", err, secrets.ErrConflict)
	got, err := s.Key(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	k.Generation = gen
	diff(t, "key after refused writes", got, k)
}

// Key generations and workspace states never repeat, across workspaces
// and after a workspace is deleted and made again (see
// secrets.WrappedKey.Generation).
func testGenerationsNeverRepeat(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	seen := map[int64]string{}
	note := func(what string, n int64) {
		t.Helper()
		if n <= 0 {
			t.Fatalf("%s: %d", what, n)
		}
		if prev, dup := seen[n]; dup {
			t.Fatalf("%s repeats %d of %s", what, n, prev)
		}
		seen[n] = what
	}
	g1 := putKey(t, s, "ws", 0)
	note("first key", g1)
	note("key of another workspace", putKey(t, s, "other", 0))
	g2 := putKey(t, s, "ws", g1)
	note("rotated key", g2)
	e := put(t, s, create("ws", "id1", "A"))
	note("state after a write", env(t, s, "ws", secrets.EnvQuery{}).State)
	put(t, s, newValue(e))
	note("state after a second write", env(t, s, "ws", secrets.EnvQuery{}).State)
	d, ok := s.(secrets.WorkspaceDeleter)
	if !ok {
		return
	}
	if err := d.DeleteWorkspace(ctx, "ws", nil); err != nil {
		t.Fatal(err)
	}
	if snap := env(t, s, "ws", secrets.EnvQuery{}); snap.KeyGen != 0 || len(snap.Entries) != 0 {
		t.Fatalf("deleted workspace: key generation %d, %d secrets", snap.KeyGen, len(snap.Entries))
	}
	g3 := putKey(t, s, "ws", 0)
	note("key of the workspace made again", g3)
	put(t, s, create("ws", "id2", "A"))
	note("state of the workspace made again", env(t, s, "ws", secrets.EnvQuery{}).State)
}

// A write under a key generation that is not current is refused with
// ErrKeyChanged, also after the workspace is deleted and made again.
func testKeyGenGuardsWrites(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	g1 := putKey(t, s, "ws", 0)
	w := create("ws", "id1", "A")
	w.KeyGen = g1
	e := put(t, s, w)
	g2 := putKey(t, s, "ws", g1)
	stale := newValue(e)
	stale.KeyGen = g1
	wantErr(t, "write under the old generation", s.Put(ctx, stale), secrets.ErrKeyChanged)
	fresh := newValue(e)
	fresh.KeyGen = g2
	e = put(t, s, fresh)
	// Without a generation (metadata only), no check.
	put(t, s, newInfo(e, "no ciphertext written"))
	if got := lookup(t, s, "ws", "A"); got.Current.Version != 2 || got.Revision != 3 || got.Current.KeyGen != g2 {
		t.Fatalf("after the writes: version %d revision %d key generation %d", got.Current.Version, got.Revision, got.Current.KeyGen)
	}
	d, ok := s.(secrets.WorkspaceDeleter)
	if !ok {
		return
	}
	if err := d.DeleteWorkspace(ctx, "ws", nil); err != nil {
		t.Fatal(err)
	}
	putKey(t, s, "ws", 0)
	again := create("ws", "id2", "A")
	again.KeyGen = g2
	wantErr(t, "create under the generation of the deleted workspace's key", s.Put(ctx, again), secrets.ErrKeyChanged)
}

func testMasterKeys(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	keys, err := s.MasterKeys(ctx)
	if err != nil || len(keys) != 0 {
		t.Fatalf("MasterKeys of an empty store: %v, %v", keys, err)
	}
	a := secrets.MasterKey{ID: "tink-local:1", Check: []byte{0, 1, 2, 255}, Added: t0}
	if err := s.AddMasterKey(ctx, a, true); err != nil {
		t.Fatalf("first master key: %v", err)
	}
	wantErr(t, "the same ID again", s.AddMasterKey(ctx, secrets.MasterKey{ID: a.ID, Check: []byte{9}, Added: t0}, false), secrets.ErrExists)
	wantErr(t, "a second first key", s.AddMasterKey(ctx, secrets.MasterKey{ID: "other", Check: []byte{9}, Added: t0}, true), secrets.ErrConflict)
	b := secrets.MasterKey{ID: "hcvault://bao/transit/keys/k", Check: []byte{7}, Added: t0.Add(time.Hour)}
	if err := s.AddMasterKey(ctx, b, false); err != nil {
		t.Fatalf("an added master key: %v", err)
	}
	keys, err = s.MasterKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "MasterKeys", keys, []secrets.MasterKey{b, a})
}

// A first master key is accepted only on a store with no master key and no
// workspace key: the first start of a deployment.
func testFirstMasterKeyOnlyOnEmptyStore(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	putKey(t, s, "ws", 0)
	wantErr(t, "first master key on a store with workspace keys", s.AddMasterKey(ctx, secrets.MasterKey{ID: "k", Check: []byte{1}, Added: t0}, true), secrets.ErrConflict)
	if keys, err := s.MasterKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("refused registration left %v, %v", keys, err)
	}
}
