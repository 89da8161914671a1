package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

var rotationTests = []test{
	{"Stale", testStale},
	{"Reencrypt", testReencrypt},
	{"ForeignKeys", testForeignKeys},
	{"Workspaces", testWorkspaces},
	{"DeleteWorkspace", testDeleteWorkspace},
	{"SetMasterKeyCheck", testSetMasterKeyCheck},
	{"RetireMasterKey", testRetireMasterKey},
}

func rotation(t *testing.T, s secrets.Store) secrets.RotationStore {
	rs, ok := s.(secrets.RotationStore)
	if !ok {
		t.Skip("not a RotationStore")
	}
	return rs
}

// keyed is create or newValue with the version under data key k and
// format f.
func keyed(w secrets.Write, k uint32, f int) secrets.Write {
	w.Entry.Current.KeyID, w.Entry.Current.Format = k, f
	return w
}

func testStale(t *testing.T, s secrets.Store) {
	rs := rotation(t, s)
	ctx := context.Background()
	a := put(t, s, keyed(create("ws", "a", "A"), 1, 2))
	a = put(t, s, keyed(newValue(a), 2, 2))
	a = put(t, s, keyed(newValue(a), 1, 2))
	b := put(t, s, keyed(create("ws", "b", "B"), 2, 1)) // legacy format under the new key
	del := next(b)
	del.Deleted = t0
	put(t, s, secrets.Write{Entry: del, Expect: b.Revision}) // deleted secrets rotate too
	put(t, s, keyed(create("ws", "c", "C"), 2, 2))
	put(t, s, keyed(create("other", "d", "D"), 1, 1))
	ref := func(vs []secrets.Version) []string {
		out := []string{}
		for _, v := range vs {
			out = append(out, fmt.Sprintf("%s/%d", v.SecretID, v.Version))
		}
		return out
	}
	vs, total, err := rs.Stale(ctx, "ws", secrets.StaleQuery{Keep: 2, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "stale versions", ref(vs), []string{"a/1", "a/3", "b/1"})
	if total != 3 {
		t.Fatalf("total %d, want 3", total)
	}
	vs, total, err = rs.Stale(ctx, "ws", secrets.StaleQuery{Keep: 2, AfterSecretID: "a", AfterVersion: 1, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "after a/1, limit 1", ref(vs), []string{"a/3"})
	if total != 3 {
		t.Fatalf("total with a cursor %d, want 3", total)
	}
	diff(t, "stale version", vs[0], a.Current, ignoreKeyGen)
}

func testReencrypt(t *testing.T, s secrets.Store) {
	rs := rotation(t, s)
	ctx := context.Background()
	gen := putKey(t, s, "ws", 0)
	a := put(t, s, keyed(create("ws", "a", "A"), 1, 1))
	a = put(t, s, keyed(newValue(a), 1, 2))
	items := []secrets.Reencryption{
		{SecretID: "a", Version: 1, FromKeyID: 1, FromFormat: 1, Ciphertext: []byte("new-a1"), KeyID: 2, Format: 2},
		{SecretID: "a", Version: 2, FromKeyID: 1, FromFormat: 2, Ciphertext: []byte("new-a2"), KeyID: 2, Format: 2},
		{SecretID: "a", Version: 2, FromKeyID: 9, FromFormat: 2, Ciphertext: []byte("wrong key"), KeyID: 2, Format: 2},
		{SecretID: "a", Version: 1, FromKeyID: 1, FromFormat: 2, Ciphertext: []byte("wrong format"), KeyID: 2, Format: 2},
		{SecretID: "gone", Version: 1, FromKeyID: 1, FromFormat: 2, Ciphertext: []byte("x"), KeyID: 2, Format: 2},
	}
	_, err := rs.Reencrypt(ctx, "ws", gen+1000, items)
	wantErr(t, "Reencrypt under another key generation", err, secrets.ErrKeyChanged)
	n, err := rs.Reencrypt(ctx, "ws", gen, items)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("Reencrypt applied %d, want 2", n)
	}
	got := lookup(t, s, "ws", "A")
	if string(got.Current.Ciphertext) != "new-a2" || got.Current.KeyID != 2 || got.Revision != a.Revision {
		t.Fatalf("current after Reencrypt: %q key %d revision %d", got.Current.Ciphertext, got.Current.KeyID, got.Revision)
	}
	h := history(t, s, "ws", "a")
	if string(h[1].Ciphertext) != "new-a1" || h[1].Format != 2 || h[1].KeyID != 2 {
		t.Fatalf("version 1 after Reencrypt: %q format %d key %d", h[1].Ciphertext, h[1].Format, h[1].KeyID)
	}
	if vs, total, _ := rs.Stale(ctx, "ws", secrets.StaleQuery{Keep: 2, Limit: 10}); len(vs) != 0 || total != 0 {
		t.Fatalf("stale after Reencrypt: %d", total)
	}
}

func testForeignKeys(t *testing.T, s secrets.Store) {
	rs := rotation(t, s)
	ctx := context.Background()
	for i, c := range []string{"old", "new", "old", "older", "old"} {
		if _, err := s.PutKey(ctx, secrets.WrappedKey{Workspace: fmt.Sprint("ws", i), CipherID: c, Ciphertext: []byte{byte(i)}, Updated: t0}, 0); err != nil {
			t.Fatal(err)
		}
	}
	ks, total, err := rs.ForeignKeys(ctx, secrets.ForeignKeysQuery{CipherID: "new", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if total != 4 || len(ks) != 2 || ks[0].Workspace != "ws0" || ks[1].Workspace != "ws2" || ks[0].Generation == 0 {
		t.Fatalf("ForeignKeys page 1: %d in all, %+v", total, ks)
	}
	ks, _, err = rs.ForeignKeys(ctx, secrets.ForeignKeysQuery{CipherID: "new", After: "ws2", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].Workspace != "ws3" || ks[1].Workspace != "ws4" {
		t.Fatalf("ForeignKeys after ws2: %+v", ks)
	}
}

func testWorkspaces(t *testing.T, s secrets.Store) {
	rs := rotation(t, s)
	for _, ws := range []string{"b", "a", "c"} {
		putKey(t, s, ws, 0)
	}
	got, err := rs.Workspaces(context.Background(), secrets.WorkspacesQuery{After: "a", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Workspaces after a", got, []string{"b", "c"})
}

func testDeleteWorkspace(t *testing.T, s secrets.Store) {
	d, ok := s.(secrets.WorkspaceDeleter)
	if !ok {
		t.Skip("not a WorkspaceDeleter")
	}
	ctx := context.Background()
	putKey(t, s, "ws", 0)
	a := put(t, s, create("ws", "a", "A"))
	put(t, s, newValue(a))
	gone := put(t, s, create("ws", "g", "GONE@production"))
	del := next(gone)
	del.Deleted, del.DeletedBy = t0.Add(time.Hour), "user:deleter"
	put(t, s, secrets.Write{Entry: del, Expect: gone.Revision, Keep: 10})
	put(t, s, create("other", "b", "B"))
	ev := &secrets.Event{Time: t0, Actor: "op", Action: secrets.ActionDeleteWorkspace, Workspace: "ws", Outcome: secrets.OutcomeOK}
	if err := d.DeleteWorkspace(ctx, "ws", ev); err != nil {
		t.Fatal(err)
	}
	// The event lists what the deletion removed, the soft-deleted secret
	// too, each at its current version: found by name and by fingerprint.
	removed := []secrets.EventSecret{
		{Name: "A", Version: 2, Fingerprint: []byte("fp-a-2")},
		{Name: "GONE@production", Version: 1, Fingerprint: []byte("fp-g-1")},
	}
	diff(t, "the deletion's event", ev.Secrets, removed)
	for what, q := range map[string]secrets.EventQuery{
		"by name":        {Name: "gone@PRODUCTION"},
		"by fingerprint": {Fingerprint: []byte("fp-a-2")},
	} {
		q.Workspace, q.Limit = "ws", 10
		es, err := s.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Action != secrets.ActionDeleteWorkspace || es[0].ID != ev.ID {
			t.Fatalf("events %s: %+v, want the deletion's (ID %d)", what, es, ev.ID)
		}
		diff(t, "the deletion's stored event "+what, es[0].Secrets, removed)
	}
	if _, err := s.Key(ctx, "ws"); err == nil {
		t.Fatal("key survived")
	}
	if _, err := s.Lookup(ctx, "ws", "A"); err == nil {
		t.Fatal("secret survived")
	}
	if _, err := s.History(ctx, "ws", "a"); err == nil {
		t.Fatal("versions survived")
	}
	lookup(t, s, "other", "B")
	es, err := s.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionDeleteWorkspace, Limit: 10})
	if err != nil || len(es) != 1 {
		t.Fatalf("delete event: %v %v", es, err)
	}
	if err := d.DeleteWorkspace(ctx, "never-existed", nil); err != nil {
		t.Fatalf("deleting an empty workspace: %v", err)
	}
	// The workspace made again delivers nothing of the old one: an inject
	// event of its new state lists only its new secret.
	put(t, s, create("ws", "c", "A"))
	inj := &secrets.Event{Time: t0, Actor: "job", Action: secrets.ActionInject, Workspace: "ws", Outcome: secrets.OutcomeOK}
	env(t, s, "ws", secrets.EnvQuery{Audit: inj})
	es, err = s.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Limit: 10})
	if err != nil || len(es) != 1 {
		t.Fatalf("inject event: %v %v", es, err)
	}
	diff(t, "delivered after the workspace was made again", es[0].Secrets, []secrets.EventSecret{{Name: "A", Version: 1, Fingerprint: []byte("fp-c-1")}})
}

func testSetMasterKeyCheck(t *testing.T, s secrets.Store) {
	rs := rotation(t, s)
	ctx := context.Background()
	a := secrets.MasterKey{ID: "hcvault://bao/transit/keys/k", Check: []byte("vault:v1:old"), Added: t0}
	b := secrets.MasterKey{ID: "tink-local:1", Check: []byte{1, 2, 3}, Added: t0}
	for _, k := range []secrets.MasterKey{a, b} {
		if err := s.AddMasterKey(ctx, k, false); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "an unknown key", rs.SetMasterKeyCheck(ctx, "tink-local:2", []byte{9}), secrets.ErrNotFound)
	check := []byte("vault:v2:new")
	if err := rs.SetMasterKeyCheck(ctx, a.ID, check); err != nil {
		t.Fatal(err)
	}
	check[0] = 'X' // the store keeps its own copy
	keys, err := s.MasterKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.Check = []byte("vault:v2:new")
	diff(t, "MasterKeys after a new check", keys, []secrets.MasterKey{a, b})
}

// testRetireMasterKey: a master key that wraps a workspace key cannot be
// retired; once its keys are re-wrapped it can, and then PutKey refuses
// any key wrapped by it (new or replacing one) while other master keys,
// and IDs never registered, are fine.
func testRetireMasterKey(t *testing.T, s secrets.Store) {
	r, ok := s.(secrets.MasterKeyRetirer)
	if !ok {
		t.Skip("not a MasterKeyRetirer")
	}
	ctx := context.Background()
	old := secrets.MasterKey{ID: "tink-local:old", Check: []byte{1}, Added: t0}
	cur := secrets.MasterKey{ID: "tink-local:new", Check: []byte{2}, Added: t0}
	for _, k := range []secrets.MasterKey{old, cur} {
		if err := s.AddMasterKey(ctx, k, false); err != nil {
			t.Fatal(err)
		}
	}
	gen, err := s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: old.ID, Ciphertext: []byte("under old"), Updated: t0}, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	err = r.RetireMasterKey(ctx, old.ID, at)
	wantErr(t, "retiring a key that wraps a workspace key", err, secrets.ErrMasterKey)
	var mk *secrets.MasterKeyError
	if !errors.As(err, &mk) || mk.ID != old.ID || mk.InUse == 0 {
		t.Fatalf("retiring a key in use: %#v", err)
	}
	wantErr(t, "retiring an unknown key", r.RetireMasterKey(ctx, "tink-local:none", at), secrets.ErrNotFound)
	if keys, err := s.MasterKeys(ctx); err != nil || !keys[0].Retired.IsZero() || !keys[1].Retired.IsZero() {
		t.Fatalf("a refused retirement retired: %v %v", keys, err)
	}

	// Re-wrapped: now it can go.
	if gen, err = s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: cur.ID, Ciphertext: []byte("under new"), Updated: t0}, gen); err != nil {
		t.Fatal(err)
	}
	if err := r.RetireMasterKey(ctx, old.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := r.RetireMasterKey(ctx, old.ID, at.Add(time.Hour)); err != nil {
		t.Fatalf("retiring again: %v", err)
	}
	keys, err := s.MasterKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old.Retired = at
	diff(t, "MasterKeys after retiring", keys, []secrets.MasterKey{cur, old})

	// Refused: a new workspace key and a replacement under the retired key.
	_, err = s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws2", CipherID: old.ID, Ciphertext: []byte("x"), Updated: t0}, 0)
	wantErr(t, "a new workspace key under a retired master key", err, secrets.ErrMasterKey)
	if !errors.As(err, &mk) || mk.ID != old.ID || !mk.Retired {
		t.Fatalf("PutKey under a retired key: %#v", err)
	}
	_, err = s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: old.ID, Ciphertext: []byte("x"), Updated: t0}, gen)
	wantErr(t, "a replacement under a retired master key", err, secrets.ErrMasterKey)
	if k, err := s.Key(ctx, "ws"); err != nil || k.CipherID != cur.ID || k.Generation != gen {
		t.Fatalf("the refused PutKey changed the key: %v %v", k, err)
	}
	if _, err := s.Key(ctx, "ws2"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("the refused PutKey made a key: %v", err)
	}
	// Fine: the current key, and an ID that is no registered master key.
	if _, err = s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: cur.ID, Ciphertext: []byte("rotated"), Updated: t0}, gen); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws3", CipherID: "c", Ciphertext: []byte("y"), Updated: t0}, 0); err != nil {
		t.Fatal(err)
	}
}
