// Package storetest is the conformance suite for implementations of
// secrets.Store. A Store passes when
//
//	storetest.Run(t, func(t *testing.T) secrets.Store { return newEmptyStore(t) })
//
// passes under go test -race. Each subtest asks for a new, empty Store and
// may run in parallel with the others.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Run runs the suite. newStore must return a new, empty Store each call.
// The tests of secrets.RotationStore and secrets.WorkspaceDeleter run when
// the Store implements them, and are skipped otherwise.
func Run(t *testing.T, newStore func(t *testing.T) secrets.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s secrets.Store)
	}{
		{"KeyRoundTrip", testKeyRoundTrip},
		{"KeyCheckAndSet", testKeyCheckAndSet},
		{"Missing", testMissing},
		{"CreateAndRead", testCreateAndRead},
		{"UpdateCheckAndSet", testUpdateCheckAndSet},
		{"NamesIgnoreCase", testNamesIgnoreCase},
		{"Rename", testRename},
		{"KeepVersions", testKeepVersions},
		{"EnvBudget", testEnvBudget},
		{"Delete", testDelete},
		{"PutBatch", testPutBatch},
		{"PutBatchAllOrNothing", testPutBatchAllOrNothing},
		{"CurrentOrdering", testCurrentOrdering},
		{"Isolation", testIsolation},
		{"NoAliasing", testNoAliasing},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentCheckAndSet", testConcurrentCheckAndSet},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentReadsSeeWholeWrites", testConcurrentSnapshot},
		{"KeyRevision", testKeyRevision},
		{"Stale", testStale},
		{"Reencrypt", testReencrypt},
		{"ForeignKeys", testForeignKeys},
		{"DeleteWorkspace", testDeleteWorkspace},
		{"AuditRecordAndQuery", testAuditRecordAndQuery},
		{"AuditWithWrites", testAuditWithWrites},
		{"Env", testEnv},
		{"Due", testDue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

// version builds a version as the Manager would, with a fake ciphertext
// that the Store must keep byte for byte.
func version(ws, id, name string, n int64) secrets.Version {
	ct := []byte(fmt.Sprintf("\x01ct|%s|%s|%s|%d\x00\xff", ws, id, name, n))
	v := secrets.Version{
		Workspace: ws, SecretID: id, Name: name, Version: n, Ciphertext: ct,
		KeyID: 7, EnvSize: int64(len(name) + 10 + 2),
		Created: t0, CreatedBy: "user:creator",
		Updated: t0.Add(time.Duration(n) * time.Second), UpdatedBy: fmt.Sprintf("user:%d", n),
		Info: secrets.Info{Description: "about " + name},
	}
	if n%2 == 0 { // every other version has dates and is write-only
		v.Expires = t0.Add(time.Duration(n) * time.Hour)
		v.RotateBy = t0.Add(time.Duration(n) * time.Minute)
		v.WriteOnly = true
	}
	return v
}

func put(t *testing.T, s secrets.Store, v secrets.Version, expect int64) {
	t.Helper()
	if err := s.Put(context.Background(), secrets.Write{Version: v, Expect: expect, Keep: 10}); err != nil {
		t.Fatalf("Put(%s v%d, expect %d): %v", v.Name, v.Version, expect, err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("%s: mismatch (-want +got):\n%s", what, d)
	}
}

func testKeyRoundTrip(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	k := secrets.WrappedKey{Workspace: "ws", CipherID: "c1", Ciphertext: []byte{1, 2, 0, 255}, Updated: t0}
	if err := s.PutKey(ctx, k, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Key(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	k.Revision = 1
	diff(t, "Key", got, k)

	k2 := secrets.WrappedKey{Workspace: "ws", CipherID: "c2", Ciphertext: []byte{9, 9}, Updated: t0.Add(time.Hour)}
	if err := s.PutKey(ctx, k2, 1); err != nil {
		t.Fatal(err)
	}
	got, err = s.Key(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	k2.Revision = 2
	diff(t, "Key after update", got, k2)
}

func testKeyCheckAndSet(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	_, err := s.Key(ctx, "ws")
	wantErr(t, "Key of new workspace", err, secrets.ErrNotFound)
	wantErr(t, "PutKey expecting revision 1 of no key", s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{1}}, 1), secrets.ErrConflict)
	k := secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{1}, Updated: t0}
	if err := s.PutKey(ctx, k, 0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "second create", s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{2}}, 0), secrets.ErrConflict)
	wantErr(t, "stale revision", s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{2}}, 5), secrets.ErrConflict)
	got, err := s.Key(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	k.Revision = 1
	diff(t, "key after refused writes", got, k)
}

func testMissing(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	_, err := s.Lookup(ctx, "ws", "NOPE")
	wantErr(t, "Lookup", err, secrets.ErrNotFound)
	_, err = s.History(ctx, "ws", "no-such-id")
	wantErr(t, "History", err, secrets.ErrNotFound)
	wantErr(t, "Delete", s.Delete(ctx, "ws", "no-such-id", 1, nil), secrets.ErrNotFound)
	wantErr(t, "Put update of missing secret", s.Put(ctx, secrets.Write{Version: version("ws", "no-such-id", "A", 2), Expect: 1, Keep: 10}), secrets.ErrNotFound)
	cur, err := s.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) != 0 {
		t.Fatalf("Current of empty workspace: %d versions", len(cur))
	}
}

func testCreateAndRead(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	v1 := version("ws", "id1", "AUTH_TOKEN", 1)
	put(t, s, v1, 0)
	got, err := s.Lookup(ctx, "ws", "AUTH_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Lookup", got, v1)
	v2 := version("ws", "id1", "AUTH_TOKEN", 2)
	put(t, s, v2, 1)
	got, err = s.Lookup(ctx, "ws", "AUTH_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Lookup after update", got, v2)
	hist, err := s.History(ctx, "ws", "id1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "History", hist, []secrets.Version{v2, v1})
	cur, err := s.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Current", cur, []secrets.Version{v2})
}

func testUpdateCheckAndSet(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, version("ws", "id1", "A", 1), 0)
	put(t, s, version("ws", "id1", "A", 2), 1)
	wantErr(t, "stale expect", s.Put(ctx, secrets.Write{Version: version("ws", "id1", "A", 2), Expect: 1, Keep: 10}), secrets.ErrConflict)
	wantErr(t, "future expect", s.Put(ctx, secrets.Write{Version: version("ws", "id1", "A", 4), Expect: 3, Keep: 10}), secrets.ErrConflict)
	wantErr(t, "version not expect+1", s.Put(ctx, secrets.Write{Version: version("ws", "id1", "A", 5), Expect: 2, Keep: 10}), secrets.ErrConflict)
	wantErr(t, "create of existing name", s.Put(ctx, secrets.Write{Version: version("ws", "id2", "A", 1), Keep: 10}), secrets.ErrExists)
	hist, err := s.History(ctx, "ws", "id1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "History after refused writes", hist, []secrets.Version{version("ws", "id1", "A", 2), version("ws", "id1", "A", 1)})
	if _, err := s.History(ctx, "ws", "id2"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("refused create left secret id2 behind: %v", err)
	}
}

func testNamesIgnoreCase(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, version("ws", "id1", "Auth_Token", 1), 0)
	for _, n := range []string{"AUTH_TOKEN", "auth_token", "Auth_Token"} {
		got, err := s.Lookup(ctx, "ws", n)
		if err != nil {
			t.Fatalf("Lookup(%s): %v", n, err)
		}
		if got.SecretID != "id1" || got.Name != "Auth_Token" {
			t.Fatalf("Lookup(%s) = %s %s", n, got.SecretID, got.Name)
		}
	}
	wantErr(t, "create differing in case", s.Put(ctx, secrets.Write{Version: version("ws", "id2", "AUTH_TOKEN", 1), Keep: 10}), secrets.ErrExists)
}

func testRename(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, version("ws", "id1", "OLD", 1), 0)
	put(t, s, version("ws", "id2", "OTHER", 1), 0)
	wantErr(t, "rename onto another secret", s.Put(ctx, secrets.Write{Version: version("ws", "id1", "other", 2), Expect: 1, Keep: 10}), secrets.ErrExists)
	put(t, s, version("ws", "id1", "NEW", 2), 1)
	_, err := s.Lookup(ctx, "ws", "OLD")
	wantErr(t, "Lookup of old name", err, secrets.ErrNotFound)
	got, err := s.Lookup(ctx, "ws", "new")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "renamed", got, version("ws", "id1", "NEW", 2))
	// The old name is free again.
	put(t, s, version("ws", "id3", "OLD", 1), 0)
	// A change of case only.
	put(t, s, version("ws", "id1", "New", 3), 2)
	hist, err := s.History(ctx, "ws", "id1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "history keeps each version's name", hist, []secrets.Version{version("ws", "id1", "New", 3), version("ws", "id1", "NEW", 2), version("ws", "id1", "OLD", 1)})
}

func testKeepVersions(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	var want []secrets.Version
	for n := int64(1); n <= 6; n++ {
		v := version("ws", "id1", "A", n)
		if err := s.Put(ctx, secrets.Write{Version: v, Expect: n - 1, Keep: 3}); err != nil {
			t.Fatal(err)
		}
		want = append([]secrets.Version{v}, want...)
	}
	hist, err := s.History(ctx, "ws", "id1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "History with Keep 3", hist, want[:3])
	v := version("ws", "id1", "A", 7)
	if err := s.Put(ctx, secrets.Write{Version: v, Expect: 6, Keep: 0}); err != nil {
		t.Fatal(err)
	}
	hist, err = s.History(ctx, "ws", "id1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "History with Keep 0", hist, []secrets.Version{v})
}

func testEnvBudget(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	w := func(v secrets.Version, size, expect int64) secrets.Write {
		v.EnvSize = size
		return secrets.Write{Version: v, Expect: expect, Keep: 10, MaxEnvBytes: 100}
	}
	if err := s.Put(ctx, w(version("ws", "id1", "A", 1), 60, 0)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "second secret over budget", s.Put(ctx, w(version("ws", "id2", "B", 1), 41, 0)), secrets.ErrTooLarge)
	if err := s.Put(ctx, w(version("ws", "id2", "B", 1), 40, 0)); err != nil {
		t.Fatalf("secret filling the budget exactly: %v", err)
	}
	// Replacing A counts its new size instead of its old one.
	if err := s.Put(ctx, w(version("ws", "id1", "A", 2), 30, 1)); err != nil {
		t.Fatalf("shrinking A: %v", err)
	}
	if err := s.Put(ctx, w(version("ws", "id1", "A", 3), 60, 2)); err != nil {
		t.Fatalf("growing A back: %v", err)
	}
	wantErr(t, "growing A over budget", s.Put(ctx, w(version("ws", "id1", "A", 4), 61, 3)), secrets.ErrTooLarge)
	// Deleting B frees its share.
	if err := s.Delete(ctx, "ws", "id2", 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, w(version("ws", "id1", "A", 4), 100, 3)); err != nil {
		t.Fatalf("A alone at the budget: %v", err)
	}
	// Another workspace has a budget of its own.
	if err := s.Put(ctx, w(version("other", "id9", "A", 1), 100, 0)); err != nil {
		t.Fatalf("other workspace: %v", err)
	}
	got, err := s.Lookup(ctx, "ws", "A")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 4 || got.EnvSize != 100 {
		t.Fatalf("A is v%d size %d, want v4 size 100", got.Version, got.EnvSize)
	}
}

func testDelete(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, version("ws", "id1", "A", 1), 0)
	put(t, s, version("ws", "id1", "A", 2), 1)
	put(t, s, version("ws", "id2", "B", 1), 0)
	wantErr(t, "Delete stale", s.Delete(ctx, "ws", "id1", 1, nil), secrets.ErrConflict)
	if _, err := s.Lookup(ctx, "ws", "A"); err != nil {
		t.Fatalf("refused delete removed A: %v", err)
	}
	if err := s.Delete(ctx, "ws", "id1", 2, nil); err != nil {
		t.Fatal(err)
	}
	_, err := s.Lookup(ctx, "ws", "A")
	wantErr(t, "Lookup after delete", err, secrets.ErrNotFound)
	_, err = s.History(ctx, "ws", "id1")
	wantErr(t, "History after delete", err, secrets.ErrNotFound)
	wantErr(t, "second delete", s.Delete(ctx, "ws", "id1", 2, nil), secrets.ErrNotFound)
	cur, err := s.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Current after delete", cur, []secrets.Version{version("ws", "id2", "B", 1)})
	put(t, s, version("ws", "id3", "a", 1), 0) // the name is free again
}

func testPutBatch(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, version("ws", "id1", "A", 1), 0)
	writes := []secrets.Write{
		{Version: version("ws", "id1", "A", 2), Expect: 1, Keep: 10},
		{Version: version("ws", "id2", "B", 1), Keep: 10},
		{Version: version("ws", "id1", "A", 3), Expect: 2, Keep: 2}, // sees the write before it
		{Version: version("other", "id9", "C", 1), Keep: 10},
	}
	if err := s.PutBatch(ctx, writes); err != nil {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, "ws", "id1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "History after batch", hist, []secrets.Version{version("ws", "id1", "A", 3), version("ws", "id1", "A", 2)})
	cur, err := s.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Current after batch", cur, []secrets.Version{version("ws", "id1", "A", 3), version("ws", "id2", "B", 1)})
	if _, err := s.Lookup(ctx, "other", "C"); err != nil {
		t.Fatalf("batch write to another workspace: %v", err)
	}
	if err := s.PutBatch(ctx, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

func testPutBatchAllOrNothing(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, version("ws", "id1", "A", 1), 0)
	before, err := s.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	withSize := func(w secrets.Write, n int64) secrets.Write { w.Version.EnvSize = n; w.MaxEnvBytes = 100; return w }
	for name, tc := range map[string]struct {
		writes []secrets.Write
		want   error
	}{
		"stale last": {[]secrets.Write{
			{Version: version("ws", "id2", "B", 1), Keep: 10},
			{Version: version("ws", "id1", "A", 2), Expect: 1, Keep: 10},
			{Version: version("ws", "id1", "A", 2), Expect: 1, Keep: 10},
		}, secrets.ErrConflict},
		"name twice": {[]secrets.Write{
			{Version: version("ws", "id2", "B", 1), Keep: 10},
			{Version: version("ws", "id3", "b", 1), Keep: 10},
		}, secrets.ErrExists},
		"over budget together": {[]secrets.Write{
			withSize(secrets.Write{Version: version("ws", "id2", "B", 1), Keep: 10}, 45),
			withSize(secrets.Write{Version: version("ws", "id3", "C", 1), Keep: 10}, 45),
		}, secrets.ErrTooLarge},
		"missing secret": {[]secrets.Write{
			{Version: version("ws", "id2", "B", 1), Keep: 10},
			{Version: version("ws", "nope", "D", 2), Expect: 1, Keep: 10},
		}, secrets.ErrNotFound},
	} {
		wantErr(t, name, s.PutBatch(ctx, tc.writes), tc.want)
		after, err := s.Current(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		diff(t, name+": Current after a failed batch", after, before)
		hist, err := s.History(ctx, "ws", "id1")
		if err != nil {
			t.Fatal(err)
		}
		diff(t, name+": History after a failed batch", hist, []secrets.Version{version("ws", "id1", "A", 1)})
	}
	// The failed batches left the budget's accounting alone: A alone fits
	// a budget of exactly its own size.
	v := version("ws", "id1", "A", 2)
	if err := s.Put(ctx, secrets.Write{Version: v, Expect: 1, Keep: 10, MaxEnvBytes: v.EnvSize}); err != nil {
		t.Fatalf("after failed batches: %v", err)
	}
}

func testCurrentOrdering(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	names := []string{"b", "A0", "A", "_X", "c", "B_1", "Z", "A_B"}
	for i, n := range names {
		put(t, s, version("ws", fmt.Sprint("id", i), n, 1), 0)
	}
	cur, err := s.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range cur {
		got = append(got, v.Name)
	}
	diff(t, "Current order (byte order of names)", got, []string{"A", "A0", "A_B", "B_1", "Z", "_X", "b", "c"})
}

func testIsolation(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	if err := s.PutKey(ctx, secrets.WrappedKey{Workspace: "A", CipherID: "c", Ciphertext: []byte{1}}, 0); err != nil {
		t.Fatal(err)
	}
	put(t, s, version("A", "idA", "TOKEN", 1), 0)
	put(t, s, version("A", "idA", "TOKEN", 2), 1)

	_, err := s.Key(ctx, "B")
	wantErr(t, "Key of B", err, secrets.ErrNotFound)
	_, err = s.Lookup(ctx, "B", "TOKEN")
	wantErr(t, "Lookup in B", err, secrets.ErrNotFound)
	_, err = s.History(ctx, "B", "idA")
	wantErr(t, "History of A's secret through B", err, secrets.ErrNotFound)
	wantErr(t, "Delete of A's secret through B", s.Delete(ctx, "B", "idA", 2, nil), secrets.ErrNotFound)
	wantErr(t, "update of A's secret through B", s.Put(ctx, secrets.Write{Version: version("B", "idA", "TOKEN", 3), Expect: 2, Keep: 10}), secrets.ErrNotFound)
	cur, err := s.Current(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) != 0 {
		t.Fatalf("Current(B) sees %d of A's secrets", len(cur))
	}
	// B may use the same name, and even the same secret ID, independently.
	put(t, s, version("B", "idA", "TOKEN", 1), 0)
	if err := s.PutKey(ctx, secrets.WrappedKey{Workspace: "B", CipherID: "c", Ciphertext: []byte{2}}, 0); err != nil {
		t.Fatalf("PutKey(B): %v", err)
	}
	if err := s.Delete(ctx, "B", "idA", 1, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Lookup(ctx, "A", "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "A after B's changes", got, version("A", "idA", "TOKEN", 2))
	k, err := s.Key(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "A's key after B's", k.Ciphertext, []byte{1})
}

func testNoAliasing(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	v := version("ws", "id1", "A", 1)
	want := version("ws", "id1", "A", 1)
	if err := s.Put(ctx, secrets.Write{Version: v, Keep: 10}); err != nil {
		t.Fatal(err)
	}
	v.Ciphertext[0] ^= 0xff // the caller reuses its buffer
	got, err := s.Lookup(ctx, "ws", "A")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "after caller changed its input", got, want)
	got.Ciphertext[0] ^= 0xff // the caller scribbles on what it got
	for _, read := range []func() (secrets.Version, error){
		func() (secrets.Version, error) { return s.Lookup(ctx, "ws", "A") },
		func() (secrets.Version, error) { h, err := s.History(ctx, "ws", "id1"); return first(h), err },
		func() (secrets.Version, error) { c, err := s.Current(ctx, "ws"); return first(c), err },
	} {
		got, err := read()
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "after caller changed its output", got, want)
		got.Ciphertext[1] ^= 0xff
	}
	k := secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{1, 2, 3}}
	if err := s.PutKey(ctx, k, 0); err != nil {
		t.Fatal(err)
	}
	k.Ciphertext[0] = 9
	gk, err := s.Key(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	gk.Ciphertext[1] = 9
	gk, err = s.Key(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "key after caller changes", gk.Ciphertext, []byte{1, 2, 3})
}

func first(vs []secrets.Version) secrets.Version {
	if len(vs) == 0 {
		return secrets.Version{}
	}
	return vs[0]
}

func testCancelledContext(t *testing.T, s secrets.Store) {
	put(t, s, version("ws", "id1", "A", 1), 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"Key": func() error { _, err := s.Key(ctx, "ws"); return err },
		"PutKey": func() error {
			return s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{1}}, 0)
		},
		"Lookup":  func() error { _, err := s.Lookup(ctx, "ws", "A"); return err },
		"History": func() error { _, err := s.History(ctx, "ws", "id1"); return err },
		"Current": func() error { _, err := s.Current(ctx, "ws"); return err },
		"Put": func() error {
			return s.Put(ctx, secrets.Write{Version: version("ws", "id1", "A", 2), Expect: 1, Keep: 10})
		},
		"Delete": func() error { return s.Delete(ctx, "ws", "id1", 1, nil) },
		"PutBatch": func() error {
			return s.PutBatch(ctx, []secrets.Write{{Version: version("ws", "id1", "A", 2), Expect: 1, Keep: 10}})
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
		}
	}
	got, err := s.Lookup(context.Background(), "ws", "A")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "after cancelled calls", got, version("ws", "id1", "A", 1))
	if _, err := s.Key(context.Background(), "ws"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("cancelled PutKey stored a key: %v", err)
	}
}

// testConcurrentCheckAndSet: writers race to update one secret, each
// expecting the version it last read. No update may be lost: the final
// version is one plus the number of successful writes, and every success is
// in the history exactly once.
func testConcurrentCheckAndSet(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, version("ws", "id1", "A", 1), 0)
	const writers, tries = 16, 8
	var (
		mu   sync.Mutex
		wins = map[int64]string{}
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range tries {
				cur, err := s.Lookup(ctx, "ws", "A")
				if err != nil {
					t.Error(err)
					return
				}
				v := version("ws", "id1", "A", cur.Version+1)
				v.UpdatedBy = fmt.Sprintf("writer:%d:%d", w, i)
				err = s.Put(ctx, secrets.Write{Version: v, Expect: cur.Version, Keep: writers * tries * 2})
				switch {
				case err == nil:
					mu.Lock()
					if prev, dup := wins[v.Version]; dup {
						t.Errorf("version %d written twice: by %s and %s", v.Version, prev, v.UpdatedBy)
					}
					wins[v.Version] = v.UpdatedBy
					mu.Unlock()
				case !errors.Is(err, secrets.ErrConflict):
					t.Errorf("Put: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	hist, err := s.History(ctx, "ws", "id1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hist[0].Version, int64(len(wins)+1); got != want {
		t.Fatalf("final version %d, want %d (1 + %d successful writes)", got, want, len(wins))
	}
	for _, v := range hist[:len(hist)-1] {
		if wins[v.Version] != v.UpdatedBy {
			t.Fatalf("version %d by %q, but %q's write succeeded", v.Version, v.UpdatedBy, wins[v.Version])
		}
	}
}

func testConcurrentCreate(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	const n = 16
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "TOKEN"
			if i%2 == 1 {
				name = "token"
			}
			err := s.Put(ctx, secrets.Write{Version: version("ws", fmt.Sprint("id", i), name, 1), Keep: 10})
			switch {
			case err == nil:
				ok.Add(1)
			case !errors.Is(err, secrets.ErrExists) && !errors.Is(err, secrets.ErrConflict):
				t.Errorf("Put: %v", err)
			}
			kerr := s.PutKey(ctx, secrets.WrappedKey{Workspace: "ws", CipherID: "c", Ciphertext: []byte{byte(i)}}, 0)
			if kerr != nil && !errors.Is(kerr, secrets.ErrConflict) {
				t.Errorf("PutKey: %v", kerr)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d creators of one name succeeded, want exactly 1", ok.Load())
	}
	cur, err := s.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) != 1 {
		t.Fatalf("%d secrets after racing creates, want 1", len(cur))
	}
	k, err := s.Key(ctx, "ws")
	if err != nil || k.Revision != 1 {
		t.Fatalf("key after racing creates: revision %d, %v", k.Revision, err)
	}
}

// testConcurrentSnapshot: a writer renames and updates secrets while
// readers take snapshots; each snapshot must be one state the writer left
// behind: never two secrets with one name, never a half-applied write.
func testConcurrentSnapshot(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, version("ws", "id1", "A", 1), 0)
	put(t, s, version("ws", "id2", "B", 1), 0)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				cur, err := s.Current(ctx, "ws")
				if err != nil {
					t.Error(err)
					return
				}
				seen := map[string]bool{}
				for _, v := range cur {
					if seen[v.SecretID] {
						t.Errorf("secret %s twice in one snapshot", v.SecretID)
					}
					seen[v.SecretID] = true
				}
				if len(cur) != 2 {
					t.Errorf("snapshot has %d secrets, want 2", len(cur))
				}
			}
		}()
	}
	names := []string{"A", "C"}
	for n := int64(2); n <= 40; n++ {
		put(t, s, version("ws", "id1", names[n%2], n), n-1)
	}
	close(done)
	wg.Wait()
}

func putKey(t *testing.T, s secrets.Store, ws string, expect int64) {
	t.Helper()
	if err := s.PutKey(context.Background(), secrets.WrappedKey{Workspace: ws, CipherID: "c", Ciphertext: []byte{byte(expect)}}, expect); err != nil {
		t.Fatal(err)
	}
}

func testKeyRevision(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	w := func(v secrets.Version, expect, rev int64) secrets.Write {
		return secrets.Write{Version: v, Expect: expect, Keep: 10, KeyRevision: rev}
	}
	wantErr(t, "key revision without a key", s.Put(ctx, w(version("ws", "id1", "A", 1), 0, 1)), secrets.ErrKeyChanged)
	put(t, s, version("ws", "id1", "A", 1), 0) // KeyRevision 0: not checked
	putKey(t, s, "ws", 0)
	if err := s.Put(ctx, w(version("ws", "id1", "A", 2), 1, 1)); err != nil {
		t.Fatalf("write at the key's revision: %v", err)
	}
	putKey(t, s, "ws", 1)
	wantErr(t, "write at an old key revision", s.Put(ctx, w(version("ws", "id1", "A", 3), 2, 1)), secrets.ErrKeyChanged)
	wantErr(t, "batch at an old key revision", s.PutBatch(ctx, []secrets.Write{w(version("ws", "id2", "B", 1), 0, 1)}), secrets.ErrKeyChanged)
	if err := s.Put(ctx, w(version("ws", "id1", "A", 3), 2, 2)); err != nil {
		t.Fatalf("write at the new key revision: %v", err)
	}
	cur, err := s.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Current", cur, []secrets.Version{version("ws", "id1", "A", 3)})
}

func rotation(t *testing.T, s secrets.Store) secrets.RotationStore {
	rs, ok := s.(secrets.RotationStore)
	if !ok {
		t.Skip("not a secrets.RotationStore")
	}
	return rs
}

// keyed returns version n of a secret, under data key k.
func keyed(ws, id, name string, n int64, k uint32) secrets.Version {
	v := version(ws, id, name, n)
	v.KeyID = k
	return v
}

func testStale(t *testing.T, s secrets.Store) {
	rs := rotation(t, s)
	ctx := context.Background()
	for _, v := range []secrets.Version{keyed("ws", "b", "B", 1, 1), keyed("ws", "a", "A", 1, 1), keyed("other", "a", "A", 1, 1)} {
		put(t, s, v, 0)
	}
	put(t, s, keyed("ws", "a", "A", 2, 2), 1)
	put(t, s, keyed("ws", "a", "A", 3, 1), 2)
	got, total, err := rs.Stale(ctx, "ws", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 {
		t.Fatalf("total %d, want 3", total)
	}
	diff(t, "Stale, first 2", got, []secrets.Version{keyed("ws", "a", "A", 1, 1), keyed("ws", "a", "A", 3, 1)})
	got, total, err = rs.Stale(ctx, "ws", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Stale keeping key 1", got, []secrets.Version{keyed("ws", "a", "A", 2, 2)})
	if total != 1 {
		t.Fatalf("total %d, want 1", total)
	}
	if _, total, _ := rs.Stale(ctx, "empty", 1, 10); total != 0 {
		t.Fatalf("empty workspace: %d", total)
	}
}

func testReencrypt(t *testing.T, s secrets.Store) {
	rs := rotation(t, s)
	ctx := context.Background()
	putKey(t, s, "ws", 0)
	put(t, s, keyed("ws", "a", "A", 1, 1), 0)
	put(t, s, keyed("ws", "a", "A", 2, 1), 1)
	put(t, s, keyed("ws", "b", "B", 1, 1), 0)
	items := []secrets.Reencryption{
		{SecretID: "a", Version: 1, FromKeyID: 1, Ciphertext: []byte("a1-new"), KeyID: 9},
		{SecretID: "a", Version: 2, FromKeyID: 1, Ciphertext: []byte("a2-new"), KeyID: 9},
		{SecretID: "b", Version: 1, FromKeyID: 5, Ciphertext: []byte("b1-new"), KeyID: 9}, // not under key 5: skipped
		{SecretID: "c", Version: 1, FromKeyID: 1, Ciphertext: []byte("c1-new"), KeyID: 9}, // no such secret: skipped
	}
	if _, err := rs.Reencrypt(ctx, "ws", 2, items); !errors.Is(err, secrets.ErrKeyChanged) {
		t.Fatalf("Reencrypt at a stale key revision: %v", err)
	}
	if got, _ := s.Lookup(ctx, "ws", "A"); got.KeyID != 1 {
		t.Fatal("a refused Reencrypt changed a version")
	}
	n, err := rs.Reencrypt(ctx, "ws", 1, items)
	if err != nil || n != 2 {
		t.Fatalf("Reencrypt: %d, %v; want 2 applied", n, err)
	}
	want2 := keyed("ws", "a", "A", 2, 9)
	want2.Ciphertext = []byte("a2-new")
	want1 := keyed("ws", "a", "A", 1, 9)
	want1.Ciphertext = []byte("a1-new")
	got, err := s.Lookup(ctx, "ws", "a")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Lookup after Reencrypt", got, want2)
	hist, err := s.History(ctx, "ws", "a")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "History after Reencrypt", hist, []secrets.Version{want2, want1})
	cur, err := s.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Current after Reencrypt", cur, []secrets.Version{want2, keyed("ws", "b", "B", 1, 1)})
	// Applying again finds nothing under key 1.
	if n, err := rs.Reencrypt(ctx, "ws", 1, items); err != nil || n != 0 {
		t.Fatalf("second Reencrypt: %d %v", n, err)
	}
}

func testForeignKeys(t *testing.T, s secrets.Store) {
	rs := rotation(t, s)
	ctx := context.Background()
	for _, k := range []secrets.WrappedKey{
		{Workspace: "w3", CipherID: "old", Ciphertext: []byte{3}},
		{Workspace: "w1", CipherID: "old", Ciphertext: []byte{1}},
		{Workspace: "w2", CipherID: "new", Ciphertext: []byte{2}},
		{Workspace: "w4", CipherID: "older", Ciphertext: []byte{4}},
	} {
		if err := s.PutKey(ctx, k, 0); err != nil {
			t.Fatal(err)
		}
	}
	got, total, err := rs.ForeignKeys(ctx, "new", 2)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range got {
		names = append(names, k.Workspace+":"+k.CipherID)
	}
	diff(t, "ForeignKeys", names, []string{"w1:old", "w3:old"})
	if total != 3 {
		t.Fatalf("total %d, want 3", total)
	}
	put(t, s, version("no-key", "a", "A", 1), 0) // no key: not listed
	var all []string
	for after := ""; ; {
		page, err := rs.Workspaces(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1]
	}
	diff(t, "Workspaces", all, []string{"w1", "w2", "w3", "w4"})
}

func testDeleteWorkspace(t *testing.T, s secrets.Store) {
	d, ok := s.(secrets.WorkspaceDeleter)
	if !ok {
		t.Skip("not a secrets.WorkspaceDeleter")
	}
	ctx := context.Background()
	putKey(t, s, "ws", 0)
	putKey(t, s, "other", 0)
	put(t, s, version("ws", "a", "A", 1), 0)
	put(t, s, version("ws", "a", "A", 2), 1)
	put(t, s, version("other", "a", "A", 1), 0)
	if err := d.DeleteWorkspace(ctx, "ws", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(ctx, "ws"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("key after DeleteWorkspace: %v", err)
	}
	if _, err := s.History(ctx, "ws", "a"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("history after DeleteWorkspace: %v", err)
	}
	if cur, _ := s.Current(ctx, "ws"); len(cur) != 0 {
		t.Fatalf("%d secrets after DeleteWorkspace", len(cur))
	}
	if got, err := s.Lookup(ctx, "other", "A"); err != nil || got.Version != 1 {
		t.Fatalf("the other workspace: %v", err)
	}
	if err := d.DeleteWorkspace(ctx, "never", nil); err != nil {
		t.Fatalf("DeleteWorkspace of nothing: %v", err)
	}
	// The workspace starts afresh, budget included.
	v := version("ws", "a", "A", 1)
	if err := s.Put(ctx, secrets.Write{Version: v, Keep: 10, MaxEnvBytes: v.EnvSize}); err != nil {
		t.Fatalf("after DeleteWorkspace: %v", err)
	}
	putKey(t, s, "ws", 0)
}

func event(ws, actor string, action secrets.Action, at time.Time, secretsOf ...secrets.EventSecret) secrets.Event {
	return secrets.Event{Time: at, Actor: actor, Action: action, Workspace: ws, Secrets: secretsOf, Outcome: secrets.OutcomeOK}
}

func ids(es []secrets.Event) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testAuditRecordAndQuery(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	fp := []byte{0xfa, 0, 0xce}
	in := []secrets.Event{
		event("ws", "user:1", secrets.ActionInject, t0, secrets.EventSecret{Name: "A", Version: 3, Fingerprint: fp}, secrets.EventSecret{Name: "B", Version: 1}),
		event("ws", "user:2", secrets.ActionReveal, t0.Add(time.Minute), secrets.EventSecret{Name: "A", Version: 3, Fingerprint: []byte{1}}),
		event("other", "user:1", secrets.ActionInject, t0.Add(2*time.Minute), secrets.EventSecret{Name: "A", Version: 1, Fingerprint: fp}),
		{Time: t0.Add(3 * time.Minute), Actor: "user:3", Action: secrets.ActionSet, Workspace: "ws", Outcome: secrets.OutcomeDenied, Detail: "no"},
	}
	if err := s.Record(ctx, in[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, in[1:]); err != nil {
		t.Fatal(err)
	}
	all, err := s.Events(ctx, secrets.EventQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("%d events, want 4", len(all))
	}
	for i := range all {
		if i > 0 && all[i].ID <= all[i-1].ID {
			t.Fatalf("IDs not increasing: %v", ids(all))
		}
		want := in[i]
		want.ID = all[i].ID
		diff(t, fmt.Sprintf("event %d", i), all[i], want)
	}
	for name, tc := range map[string]struct {
		q    secrets.EventQuery
		want []int64
	}{
		"workspace":   {secrets.EventQuery{Workspace: "ws"}, []int64{all[0].ID, all[1].ID, all[3].ID}},
		"actor":       {secrets.EventQuery{Actor: "user:1"}, []int64{all[0].ID, all[2].ID}},
		"action":      {secrets.EventQuery{Action: secrets.ActionReveal}, []int64{all[1].ID}},
		"from":        {secrets.EventQuery{From: t0.Add(time.Minute)}, []int64{all[1].ID, all[2].ID, all[3].ID}},
		"to":          {secrets.EventQuery{To: t0.Add(time.Minute)}, []int64{all[0].ID}},
		"fingerprint": {secrets.EventQuery{Fingerprint: fp}, []int64{all[0].ID, all[2].ID}},
		"fp and ws":   {secrets.EventQuery{Fingerprint: fp, Workspace: "other"}, []int64{all[2].ID}},
		"after":       {secrets.EventQuery{AfterID: all[1].ID}, []int64{all[2].ID, all[3].ID}},
		"limit":       {secrets.EventQuery{Limit: 2}, []int64{all[0].ID, all[1].ID}},
		"nothing":     {secrets.EventQuery{Fingerprint: []byte{9, 9}}, []int64{}},
	} {
		if tc.q.Limit == 0 {
			tc.q.Limit = 100
		}
		got, err := s.Events(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, name, ids(got), tc.want)
	}
	// Events are copies.
	all[0].Secrets[0].Fingerprint[0] = 0
	again, _ := s.Events(ctx, secrets.EventQuery{Limit: 1})
	diff(t, "event after the caller changed its copy", again[0].Secrets[0].Fingerprint, fp)
}

// testAuditWithWrites: a write's event is recorded with it, and only if
// it commits.
func testAuditWithWrites(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	ev := func(n int64) *secrets.Event {
		e := event("ws", "user:w", secrets.ActionSet, t0, secrets.EventSecret{Name: "A", Version: n})
		return &e
	}
	if err := s.Put(ctx, secrets.Write{Version: version("ws", "a", "A", 1), Keep: 10, Audit: ev(1)}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "stale Put", s.Put(ctx, secrets.Write{Version: version("ws", "a", "A", 1), Keep: 10, Audit: ev(99)}), secrets.ErrExists)
	wantErr(t, "failed batch", s.PutBatch(ctx, []secrets.Write{
		{Version: version("ws", "a", "A", 2), Expect: 1, Keep: 10, Audit: ev(98)},
		{Version: version("ws", "a", "A", 2), Expect: 1, Keep: 10},
	}), secrets.ErrConflict)
	if err := s.PutBatch(ctx, []secrets.Write{{Version: version("ws", "a", "A", 2), Expect: 1, Keep: 10, Audit: ev(2)}}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "stale Delete", s.Delete(ctx, "ws", "a", 1, ev(97)), secrets.ErrConflict)
	del := event("ws", "user:w", secrets.ActionDelete, t0, secrets.EventSecret{Name: "A", Version: 2})
	if err := s.Delete(ctx, "ws", "a", 2, &del); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(ctx, secrets.EventQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range got {
		seen = append(seen, fmt.Sprintf("%s %s@%d", e.Action, e.Secrets[0].Name, e.Secrets[0].Version))
	}
	diff(t, "events of committed writes only", seen, []string{"set A@1", "set A@2", "delete A@2"})
}

// testEnv: an EnvStore's fast read agrees with Current and records its
// event with what it read.
func testEnv(t *testing.T, s secrets.Store) {
	es, ok := s.(secrets.EnvStore)
	if !ok {
		t.Skip("not a secrets.EnvStore")
	}
	ctx := context.Background()
	put(t, s, version("ws", "b", "B", 1), 0)
	put(t, s, version("ws", "a", "A", 1), 0)
	put(t, s, version("ws", "a", "A", 2), 1)
	put(t, s, version("other", "c", "C", 1), 0)
	a2, b1 := version("ws", "a", "A", 2), version("ws", "b", "B", 1)
	a2.Fingerprint, b1.Fingerprint = []byte{0xa2}, nil
	if err := s.Put(ctx, secrets.Write{Version: withFP(version("ws", "a", "A", 3), 0xa3), Expect: 2, Keep: 10}); err != nil {
		t.Fatal(err)
	}
	// The fields Env must set; others may be set too.
	slim := func(vs []secrets.Version, fp bool) []secrets.Version {
		out := make([]secrets.Version, len(vs))
		for i, v := range vs {
			out[i] = secrets.Version{Workspace: v.Workspace, SecretID: v.SecretID, Name: v.Name, Version: v.Version, Ciphertext: v.Ciphertext}
			if fp {
				out[i].Fingerprint = v.Fingerprint
			}
		}
		return out
	}
	want := []secrets.Version{withFP(version("ws", "a", "A", 3), 0xa3), version("ws", "b", "B", 1)}
	got, err := es.Env(ctx, "ws", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Env", slim(got, false), slim(want, false))
	e := event("ws", "user:env", secrets.ActionInject, t0)
	got, err = es.Env(ctx, "ws", &e, false)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Env with audit", slim(got, true), slim(want, true))
	diff(t, "the event's secrets", e.Secrets, []secrets.EventSecret{{Name: "A", Version: 3, Fingerprint: []byte{0xa3}}, {Name: "B", Version: 1}})
	recorded, err := s.Events(ctx, secrets.EventQuery{Action: secrets.ActionInject, Limit: 10})
	if err != nil || len(recorded) != 1 {
		t.Fatalf("recorded: %v %v", recorded, err)
	}
	e.ID = recorded[0].ID
	diff(t, "recorded event", recorded[0], e)
	empty := event("empty", "user:env", secrets.ActionInject, t0)
	if got, err := es.Env(ctx, "empty", &empty, true); err != nil || len(got) != 0 {
		t.Fatalf("Env of an empty workspace: %v %v", got, err)
	}
	if n, _ := s.Events(ctx, secrets.EventQuery{Workspace: "empty", Limit: 10}); len(n) != 1 {
		t.Fatalf("an empty read was not recorded: %d", len(n))
	}
}

func withFP(v secrets.Version, b byte) secrets.Version {
	v.Fingerprint = []byte{b}
	return v
}

// testDue: a DueStore finds current versions with a date before the time,
// in every workspace, and nothing else.
func testDue(t *testing.T, s secrets.Store) {
	ds, ok := s.(secrets.DueStore)
	if !ok {
		t.Skip("not a secrets.DueStore")
	}
	ctx := context.Background()
	dated := func(ws, id, name string, n int64, expires, rotateBy time.Duration) secrets.Version {
		v := version(ws, id, name, n)
		v.Expires, v.RotateBy = time.Time{}, time.Time{}
		if expires != 0 {
			v.Expires = t0.Add(expires)
		}
		if rotateBy != 0 {
			v.RotateBy = t0.Add(rotateBy)
		}
		return v
	}
	put(t, s, dated("b", "1", "SOON", 1, time.Hour, 0), 0)
	put(t, s, dated("a", "2", "ROTATE", 1, 0, 2*time.Hour), 0)
	put(t, s, dated("a", "3", "LATER", 1, 30*time.Hour, 40*time.Hour), 0)
	put(t, s, dated("a", "4", "NEVER", 1, 0, 0), 0)
	put(t, s, dated("a", "5", "WAS_DUE", 1, time.Hour, 0), 0)
	put(t, s, dated("a", "5", "WAS_DUE", 2, 0, 0), 1) // no longer dated
	got, err := ds.Due(ctx, t0.Add(24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range got {
		names = append(names, v.Workspace+"/"+v.Name)
	}
	diff(t, "Due within a day", names, []string{"a/ROTATE", "b/SOON"})
	if got, _ := ds.Due(ctx, t0.Add(48*time.Hour), 1); len(got) != 1 || got[0].Name != "LATER" {
		t.Fatalf("Due with limit 1: %v", got)
	}
}
