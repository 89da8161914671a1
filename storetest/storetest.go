// Package storetest is the conformance suite for implementations of
// secrets.Store. A Store passes when
//
//	storetest.Run(t, func(t *testing.T) secrets.Store { return newEmptyStore(t) })
//
// passes under go test -race. Each subtest asks for a new, empty Store and
// may run in parallel with the others. The tests of the optional
// interfaces (RotationStore, WorkspaceDeleter, DueStore, Purger,
// FingerprintStore, LedgerStore, MasterKeyRetirer) run when the Store
// implements them and are skipped otherwise.
//
// The suite is split by concern: keys and master keys (keys.go), writes
// (writes.go), reads (reads.go), concurrency (concurrency.go), rotation
// and workspace deletion (rotation.go), and the audit trail and its
// ledger (audit.go).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type test struct {
	name string
	fn   func(t *testing.T, s secrets.Store)
}

// Run runs the suite. newStore must return a new, empty Store each call.
func Run(t *testing.T, newStore func(t *testing.T) secrets.Store) {
	var all []test
	for _, group := range [][]test{keyTests, writeTests, readTests, concurrencyTests, rotationTests, auditTests} {
		all = append(all, group...)
	}
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

// ct is a fake ciphertext that the Store must keep byte for byte.
func ct(ws, id, name string, n int64, tag string) []byte {
	return []byte(fmt.Sprintf("\x01ct|%s|%s|%s|%d|%s\x00\xff", ws, id, name, n, tag))
}

// ver builds version n of a secret as the Manager would.
func ver(ws, id, name string, n int64) secrets.Version {
	return secrets.Version{
		Workspace: ws, SecretID: id, Version: n, Name: name, Format: 2,
		Ciphertext: ct(ws, id, name, n, ""), KeyID: 7, EnvSize: int64(len(name) + 10 + 2),
		Fingerprint: []byte(fmt.Sprintf("fp-%s-%d", id, n)),
		Written:     t0.Add(time.Duration(n) * time.Second), WrittenBy: fmt.Sprintf("user:%d", n),
	}
}

// create returns the Write that creates a secret.
func create(ws, id, name string) secrets.Write {
	e := secrets.Entry{
		Workspace: ws, SecretID: id, Name: name, Revision: 1,
		Created: t0, CreatedBy: "user:creator", Updated: t0, UpdatedBy: "user:creator",
		Description: "about " + name, Expires: t0.Add(48 * time.Hour),
		Current: ver(ws, id, name, 1),
	}
	return secrets.Write{Entry: e, NewVersion: true, Keep: 10}
}

// newValue returns the Write that gives e a new version.
func newValue(e secrets.Entry) secrets.Write {
	ne := next(e)
	ne.Current = ver(e.Workspace, e.SecretID, e.Name, e.Current.Version+1)
	ne.Current.WriteOnly, ne.Current.File = e.Current.WriteOnly, e.Current.File
	return secrets.Write{Entry: ne, Expect: e.Revision, NewVersion: true, Keep: 10}
}

// newInfo returns the Write that changes e's description only.
func newInfo(e secrets.Entry, desc string) secrets.Write {
	ne := next(e)
	ne.Description = desc
	return secrets.Write{Entry: ne, Expect: e.Revision, Keep: 10}
}

// next is e at its next revision.
func next(e secrets.Entry) secrets.Entry {
	e.Revision++
	e.Updated = e.Updated.Add(time.Minute)
	e.UpdatedBy = fmt.Sprintf("user:rev%d", e.Revision)
	e.Current.KeyGen = 0
	return e
}

// put applies writes and returns the entry of the last one.
func put(t *testing.T, s secrets.Store, ws ...secrets.Write) secrets.Entry {
	t.Helper()
	if err := s.Put(context.Background(), ws...); err != nil {
		t.Fatalf("Put(%s rev %d): %v", ws[len(ws)-1].Entry.Name, ws[len(ws)-1].Entry.Revision, err)
	}
	return ws[len(ws)-1].Entry
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// ignoreKeyGen compares stored data, not the generation a read reports.
var ignoreKeyGen = cmpopts.IgnoreFields(secrets.Version{}, "KeyGen")

func diff(t *testing.T, what string, got, want any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, append(opts, cmpopts.EquateEmpty())...); d != "" {
		t.Fatalf("%s: mismatch (-want +got):\n%s", what, d)
	}
}

func lookup(t *testing.T, s secrets.Store, ws, name string) secrets.Entry {
	t.Helper()
	e, err := s.Lookup(context.Background(), ws, name)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", name, err)
	}
	return e
}

func history(t *testing.T, s secrets.Store, ws, id string) []secrets.Version {
	t.Helper()
	h, err := s.History(context.Background(), ws, id)
	if err != nil {
		t.Fatalf("History(%s): %v", id, err)
	}
	return h
}

func env(t *testing.T, s secrets.Store, ws string, q secrets.EnvQuery) secrets.Snapshot {
	t.Helper()
	snap, err := s.Env(context.Background(), ws, q)
	if err != nil {
		t.Fatalf("Env(%s): %v", ws, err)
	}
	return snap
}

func names(es []secrets.Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func envNames(es []secrets.EnvEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

// eventNames are the names of e's secrets, in order.
func eventNames(e secrets.Event) []string {
	var out []string
	for _, s := range e.Secrets {
		out = append(out, s.Name)
	}
	return out
}

// putKey gives ws a key and returns its generation.
func putKey(t *testing.T, s secrets.Store, ws string, expect int64) int64 {
	t.Helper()
	gen, err := s.PutKey(context.Background(), secrets.WrappedKey{Workspace: ws, CipherID: "c1", Ciphertext: []byte("wrapped-" + ws), Updated: t0}, expect)
	if err != nil {
		t.Fatalf("PutKey(%s, %d): %v", ws, expect, err)
	}
	return gen
}

// envFields keeps what Env is sure to return of each entry.
func envFields(es []secrets.Entry) []secrets.EnvEntry {
	out := []secrets.EnvEntry{}
	for _, e := range es {
		c := e.Current
		out = append(out, secrets.EnvEntry{SecretID: e.SecretID, Name: e.Name, Version: c.Version, Format: c.Format,
			WriteOnly: c.WriteOnly, File: c.File, Protected: c.Protected, Ciphertext: c.Ciphertext, Expires: e.Expires})
	}
	return out
}

// nonNil returns es, or an empty slice for nil, to compare with envFields.
func nonNil(es []secrets.EnvEntry) []secrets.EnvEntry {
	if es == nil {
		return []secrets.EnvEntry{}
	}
	return es
}
