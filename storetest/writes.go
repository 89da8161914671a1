package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

var writeTests = []test{
	{"CreateAndRead", testCreateAndRead},
	{"UpdateCheckAndSet", testUpdateCheckAndSet},
	{"NamesIgnoreCase", testNamesIgnoreCase},
	{"MetadataKeepsVersions", testMetadataKeepsVersions},
	{"RenameReseals", testRenameReseals},
	{"ResealCoversHistory", testResealCoversHistory},
	{"KeepVersions", testKeepVersions},
	{"EnvBudget", testEnvBudget},
	{"SoftDelete", testSoftDelete},
	{"Destroy", testDestroy},
	{"PutMany", testPutMany},
	{"PutAllOrNothing", testPutAllOrNothing},
	{"CheckWrites", testCheckWrites},
	{"ExpectState", testExpectState},
}

func testCreateAndRead(t *testing.T, s secrets.Store) {
	gen := putKey(t, s, "ws", 0)
	w := create("ws", "id1", "AUTH_TOKEN")
	w.Entry.Current.WriteOnly, w.Entry.Current.File = true, true
	w.Entry.RotateBy = t0.Add(time.Hour)
	e1 := put(t, s, w)
	got := lookup(t, s, "ws", "AUTH_TOKEN")
	diff(t, "Lookup", got, e1, ignoreKeyGen)
	if got.Current.KeyGen != gen {
		t.Fatalf("Lookup reports key generation %d, want %d", got.Current.KeyGen, gen)
	}
	e2 := put(t, s, newValue(e1))
	diff(t, "Lookup after update", lookup(t, s, "ws", "AUTH_TOKEN"), e2, ignoreKeyGen)
	hist := history(t, s, "ws", "id1")
	diff(t, "History", hist, []secrets.Version{e2.Current, e1.Current}, ignoreKeyGen)
	for _, v := range hist {
		if v.KeyGen != gen {
			t.Fatalf("History reports key generation %d, want %d", v.KeyGen, gen)
		}
	}
}

func testUpdateCheckAndSet(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	e1 := put(t, s, create("ws", "id1", "A"))
	e2 := put(t, s, newValue(e1))
	wantErr(t, "stale expect", s.Put(ctx, newValue(e1)), secrets.ErrConflict)
	future := newValue(e2)
	future.Expect, future.Entry.Revision = 5, 6
	wantErr(t, "future expect", s.Put(ctx, future), secrets.ErrConflict)
	skip := newValue(e2)
	skip.Entry.Revision++
	wantErr(t, "revision not expect+1", s.Put(ctx, skip), secrets.ErrConflict)
	jump := newValue(e2)
	jump.Entry.Current.Version++
	wantErr(t, "version not one more", s.Put(ctx, jump), secrets.ErrConflict)
	same := newInfo(e2, "x")
	same.Entry.Current.Version++
	wantErr(t, "metadata write with another version", s.Put(ctx, same), secrets.ErrConflict)
	wantErr(t, "create of an existing name", s.Put(ctx, create("ws", "id2", "A")), secrets.ErrExists)
	wantErr(t, "create of an existing ID", s.Put(ctx, create("ws", "id1", "B")), secrets.ErrConflict)
	missing := newValue(e2)
	missing.Entry.SecretID, missing.Entry.Current.SecretID = "no-such-id", "no-such-id"
	wantErr(t, "update of a missing secret", s.Put(ctx, missing), secrets.ErrNotFound)
	diff(t, "History after refused writes", history(t, s, "ws", "id1"), []secrets.Version{e2.Current, e1.Current}, ignoreKeyGen)
	diff(t, "secret after refused writes", lookup(t, s, "ws", "A"), e2, ignoreKeyGen)
	if _, err := s.History(ctx, "ws", "id2"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("refused create left secret id2 behind: %v", err)
	}
}

func testNamesIgnoreCase(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, create("ws", "id1", "Auth_Token"))
	for _, n := range []string{"AUTH_TOKEN", "auth_token", "Auth_Token"} {
		got := lookup(t, s, "ws", n)
		if got.SecretID != "id1" || got.Name != "Auth_Token" {
			t.Fatalf("Lookup(%s) = %s %s", n, got.SecretID, got.Name)
		}
	}
	wantErr(t, "create differing in case", s.Put(ctx, create("ws", "id2", "AUTH_TOKEN")), secrets.ErrExists)
}

// Metadata changes make revisions, not versions: fifty description edits
// keep every version, and a write without a new version keeps the stored
// ciphertext even if the writer's copy is stale (a rotation may have
// re-encrypted it meanwhile).
func testMetadataKeepsVersions(t *testing.T, s secrets.Store) {
	e := put(t, s, create("ws", "id1", "A"))
	e = put(t, s, newValue(e))
	stored := e.Current
	for i := range 50 {
		w := newInfo(e, fmt.Sprint("edit ", i))
		w.Entry.Current.Ciphertext = []byte("a stale copy")
		w.Keep = 1
		e = put(t, s, w)
	}
	got := lookup(t, s, "ws", "A")
	if got.Revision != 52 || got.Current.Version != 2 || got.Description != "edit 49" {
		t.Fatalf("after 50 edits: revision %d, version %d, description %q", got.Revision, got.Current.Version, got.Description)
	}
	diff(t, "current version after metadata edits", got.Current, stored, ignoreKeyGen)
	if h := history(t, s, "ws", "id1"); len(h) != 2 || h[1].Version != 1 {
		t.Fatalf("history after metadata edits: %d versions", len(h))
	}
}

// reseal returns the Write that renames e to name, re-encrypting every
// retained version.
func reseal(t *testing.T, s secrets.Store, e secrets.Entry, name string) secrets.Write {
	t.Helper()
	h := history(t, s, e.Workspace, e.SecretID)
	var rs []secrets.Version
	for i := len(h) - 1; i >= 0; i-- {
		v := h[i]
		v.KeyGen = 0
		v.Name, v.Ciphertext = name, ct(v.Workspace, v.SecretID, name, v.Version, "resealed")
		rs = append(rs, v)
	}
	ne := next(e)
	ne.Name, ne.Current = name, rs[len(rs)-1]
	return secrets.Write{Entry: ne, Expect: e.Revision, Reseal: rs, Keep: 10}
}

func testRenameReseals(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	e := put(t, s, create("ws", "id1", "OLD"))
	e = put(t, s, newValue(e))
	put(t, s, create("ws", "id2", "OTHER"))
	wantErr(t, "rename onto another secret", s.Put(ctx, reseal(t, s, e, "other")), secrets.ErrExists)
	w := reseal(t, s, e, "NEW")
	e = put(t, s, w)
	_, err := s.Lookup(ctx, "ws", "OLD")
	wantErr(t, "Lookup of the old name", err, secrets.ErrNotFound)
	diff(t, "renamed", lookup(t, s, "ws", "new"), e, ignoreKeyGen)
	diff(t, "history re-encrypted", history(t, s, "ws", "id1"), []secrets.Version{w.Reseal[1], w.Reseal[0]}, ignoreKeyGen)
	put(t, s, create("ws", "id3", "OLD")) // the old name is free again
	e = put(t, s, reseal(t, s, e, "New")) // a change of case only
	if got := lookup(t, s, "ws", "NEW"); got.Name != "New" || got.Revision != e.Revision {
		t.Fatalf("case-only rename: %s at revision %d", got.Name, got.Revision)
	}
}

// A reseal must name exactly the retained versions.
func testResealCoversHistory(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	e := put(t, s, create("ws", "id1", "A"))
	e = put(t, s, newValue(e))
	short := reseal(t, s, e, "B")
	short.Reseal = short.Reseal[1:]
	wantErr(t, "reseal missing a version", s.Put(ctx, short), secrets.ErrConflict)
	wrong := reseal(t, s, e, "B")
	wrong.Reseal[0].Version = 9
	wantErr(t, "reseal of a version not retained", s.Put(ctx, wrong), secrets.ErrConflict)
	diff(t, "after refused reseals", lookup(t, s, "ws", "A"), e, ignoreKeyGen)
}

func testKeepVersions(t *testing.T, s secrets.Store) {
	e := put(t, s, create("ws", "id1", "A"))
	want := []secrets.Version{e.Current}
	for range 5 {
		w := newValue(e)
		w.Keep = 3
		e = put(t, s, w)
		want = append([]secrets.Version{e.Current}, want...)
	}
	diff(t, "History with Keep 3", history(t, s, "ws", "id1"), want[:3], ignoreKeyGen)
	w := newValue(e)
	w.Keep = 0
	e = put(t, s, w)
	diff(t, "History with Keep 0", history(t, s, "ws", "id1"), []secrets.Version{e.Current}, ignoreKeyGen)
}

func testEnvBudget(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	sized := func(w secrets.Write, size, max int64) secrets.Write {
		w.Entry.Current.EnvSize, w.MaxEnvBytes = size, max
		return w
	}
	a := put(t, s, sized(create("ws", "id1", "A"), 60, 100))
	wantErr(t, "second secret over budget", s.Put(ctx, sized(create("ws", "id2", "B"), 41, 100)), secrets.ErrTooLarge)
	b := put(t, s, sized(create("ws", "id2", "B"), 40, 100))
	a = put(t, s, sized(newValue(a), 30, 100)) // A counts its new size instead of its old one
	a = put(t, s, sized(newValue(a), 60, 100))
	wantErr(t, "growing A over budget", s.Put(ctx, sized(newValue(a), 61, 100)), secrets.ErrTooLarge)
	// A lowered budget refuses growth but not shrinking.
	a = put(t, s, sized(newValue(a), 55, 50))
	wantErr(t, "growing under a lowered budget", s.Put(ctx, sized(newValue(a), 56, 50)), secrets.ErrTooLarge)
	// A deleted secret does not count; restoring it does.
	del := next(b)
	del.Deleted, del.DeletedBy = t0, "user:x"
	b = put(t, s, secrets.Write{Entry: del, Expect: b.Revision, MaxEnvBytes: 100})
	put(t, s, sized(newValue(a), 100, 100))
	undel := next(b)
	undel.Deleted, undel.DeletedBy = time.Time{}, ""
	wantErr(t, "restoring over budget", s.Put(ctx, secrets.Write{Entry: undel, Expect: b.Revision, MaxEnvBytes: 100}), secrets.ErrTooLarge)
	// Another workspace has a budget of its own.
	put(t, s, sized(create("other", "id9", "A"), 100, 100))
	if got := lookup(t, s, "ws", "A"); got.Current.Version != 5 || got.Current.EnvSize != 100 {
		t.Fatalf("A is v%d size %d, want v5 size 100", got.Current.Version, got.Current.EnvSize)
	}
}

func testSoftDelete(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	a := put(t, s, create("ws", "id1", "A"))
	a = put(t, s, newValue(a))
	put(t, s, create("ws", "id2", "B"))
	del := next(a)
	del.Deleted, del.DeletedBy = t0.Add(time.Hour), "user:del"
	a = put(t, s, secrets.Write{Entry: del, Expect: a.Revision})
	diff(t, "Lookup of a deleted secret", lookup(t, s, "ws", "A"), a, ignoreKeyGen)
	if got := envNames(env(t, s, "ws", secrets.EnvQuery{}).Entries); len(got) != 1 || got[0] != "B" {
		t.Fatalf("Env with A deleted: %v", got)
	}
	live, err := s.List(ctx, "ws", secrets.ListQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "live list", names(live), []string{"B"})
	deleted, err := s.List(ctx, "ws", secrets.ListQuery{Limit: 10, Deleted: true})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "deleted list", names(deleted), []string{"A"})
	wantErr(t, "create over a deleted secret's name", s.Put(ctx, create("ws", "id3", "a")), secrets.ErrExists)
	if h := history(t, s, "ws", "id1"); len(h) != 2 {
		t.Fatalf("deleted secret's history: %d versions", len(h))
	}
	undel := next(a)
	undel.Deleted, undel.DeletedBy = time.Time{}, ""
	a = put(t, s, secrets.Write{Entry: undel, Expect: a.Revision})
	if got := envNames(env(t, s, "ws", secrets.EnvQuery{}).Entries); len(got) != 2 {
		t.Fatalf("Env after restore: %v", got)
	}
	diff(t, "restored", lookup(t, s, "ws", "A"), a, ignoreKeyGen)
}

func testDestroy(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	a := put(t, s, create("ws", "id1", "A"))
	a = put(t, s, newValue(a))
	b := put(t, s, create("ws", "id2", "B"))
	stale := secrets.Write{Entry: next(a), Expect: a.Revision - 1, Destroy: true}
	wantErr(t, "destroy at a stale revision", s.Put(ctx, stale), secrets.ErrConflict)
	put(t, s, secrets.Write{Entry: next(a), Expect: a.Revision, Destroy: true})
	_, err := s.Lookup(ctx, "ws", "A")
	wantErr(t, "Lookup after destroy", err, secrets.ErrNotFound)
	_, err = s.History(ctx, "ws", "id1")
	wantErr(t, "History after destroy", err, secrets.ErrNotFound)
	wantErr(t, "second destroy", s.Put(ctx, secrets.Write{Entry: next(a), Expect: a.Revision, Destroy: true}), secrets.ErrNotFound)
	diff(t, "Env after destroy", nonNil(env(t, s, "ws", secrets.EnvQuery{}).Entries), envFields([]secrets.Entry{b}))
	put(t, s, create("ws", "id3", "a")) // the name is free again
	// A soft-deleted secret can be destroyed too.
	del := next(b)
	del.Deleted = t0
	b = put(t, s, secrets.Write{Entry: del, Expect: b.Revision})
	put(t, s, secrets.Write{Entry: next(b), Expect: b.Revision, Destroy: true})
	if _, err := s.Lookup(ctx, "ws", "B"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("destroyed deleted secret: %v", err)
	}
}

func testPutMany(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	a := put(t, s, create("ws", "id1", "A"))
	a2 := newValue(a)
	a3 := newValue(a2.Entry)
	a3.Keep = 2
	other := create("other", "id9", "C")
	b := create("ws", "id2", "B")
	if err := s.Put(ctx, a2, b, a3, other); err != nil { // a3 sees a2
		t.Fatal(err)
	}
	diff(t, "History after the batch", history(t, s, "ws", "id1"), []secrets.Version{a3.Entry.Current, a2.Entry.Current}, ignoreKeyGen)
	diff(t, "Env after the batch", nonNil(env(t, s, "ws", secrets.EnvQuery{}).Entries), envFields([]secrets.Entry{a3.Entry, b.Entry}))
	lookup(t, s, "other", "C")
	if err := s.Put(ctx); err != nil {
		t.Fatalf("empty Put: %v", err)
	}
}

func testPutAllOrNothing(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	a := put(t, s, create("ws", "id1", "A"))
	before := env(t, s, "ws", secrets.EnvQuery{})
	sized := func(w secrets.Write, n int64) secrets.Write {
		w.Entry.Current.EnvSize, w.MaxEnvBytes = n, 100
		return w
	}
	for name, tc := range map[string]struct {
		writes []secrets.Write
		want   error
	}{
		"stale last":           {[]secrets.Write{create("ws", "id2", "B"), newValue(a), newValue(a)}, secrets.ErrConflict},
		"name twice":           {[]secrets.Write{create("ws", "id2", "B"), create("ws", "id3", "b")}, secrets.ErrExists},
		"over budget together": {[]secrets.Write{sized(create("ws", "id2", "B"), 50), sized(create("ws", "id3", "C"), 51)}, secrets.ErrTooLarge},
		"key changed":          {[]secrets.Write{create("ws", "id2", "B"), func() secrets.Write { w := newValue(a); w.KeyGen = 12345; return w }()}, secrets.ErrKeyChanged},
	} {
		wantErr(t, name, s.Put(ctx, tc.writes...), tc.want)
		diff(t, name+": workspace after the refused batch", env(t, s, "ws", secrets.EnvQuery{}), before)
	}
	if _, err := s.Lookup(ctx, "ws", "B"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("a refused batch created B: %v", err)
	}
}

// A Check write changes nothing but holds the batch to a revision.
func testCheckWrites(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	a := put(t, s, create("ws", "id1", "A"))
	b := put(t, s, create("ws", "id2", "B"))
	check := secrets.Write{Entry: a, Expect: a.Revision, Check: true}
	nb := newValue(b)
	if err := s.Put(ctx, check, nb); err != nil {
		t.Fatal(err)
	}
	b = nb.Entry
	diff(t, "checked secret", lookup(t, s, "ws", "A"), a, ignoreKeyGen)
	a2 := put(t, s, newValue(a))
	wantErr(t, "check of a stale revision", s.Put(ctx, check, newValue(b)), secrets.ErrConflict)
	diff(t, "B after the refused batch", lookup(t, s, "ws", "B"), b, ignoreKeyGen)
	diff(t, "A after the refused batch", lookup(t, s, "ws", "A"), a2, ignoreKeyGen)
}

// ExpectState holds a whole Put to the workspace's state: a secret created
// since that state, which no write of the batch names, refuses it.
func testExpectState(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	a := put(t, s, create("ws", "id1", "A"))
	state := env(t, s, "ws", secrets.EnvQuery{}).State
	first := newValue(a)
	first.CheckState, first.ExpectState = true, state
	if err := s.Put(ctx, first, create("ws", "id2", "B")); err != nil {
		t.Fatalf("a batch at the expected state: %v", err)
	}
	a = first.Entry
	state = env(t, s, "ws", secrets.EnvQuery{}).State
	put(t, s, create("ws", "id3", "LATE")) // moves the state; no write below names it
	before := env(t, s, "ws", secrets.EnvQuery{})
	stale := newValue(a)
	stale.CheckState, stale.ExpectState = true, state
	wantErr(t, "a batch after a secret was created", s.Put(ctx, stale, create("ws", "id4", "D")), secrets.ErrConflict)
	wantErr(t, "a write after a secret was created", s.Put(ctx, stale), secrets.ErrConflict)
	diff(t, "workspace after the refused batch", env(t, s, "ws", secrets.EnvQuery{}), before)
	// A workspace never written is at state 0, and a secret created there
	// moves it.
	fresh := create("fresh", "id5", "E")
	fresh.CheckState = true
	if err := s.Put(ctx, fresh); err != nil {
		t.Fatalf("a write expecting a workspace never written: %v", err)
	}
	put(t, s, create("fresh2", "id6", "F"))
	late := create("fresh2", "id7", "G")
	late.CheckState = true
	wantErr(t, "a write expecting state 0 after a secret was created", s.Put(ctx, late), secrets.ErrConflict)
}
