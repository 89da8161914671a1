package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// A write under another spelling of an existing name is refused, naming
// the existing spelling; only Rename renames.
func TestNoSilentRenames(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		puts := &putCounter{Store: s}
		m := newManager(t, puts, newCipher(t), nil)
		mustSet(t, m, "ws", "API_TOKEN", "v1")
		for what, write := range map[string]func() error{
			"Set": func() error { _, err := m.Set(ctx, "ws", "api_token", []byte("v2"), nil); return err },
			"Set create-only": func() error {
				_, err := m.Set(ctx, "ws", "Api_Token", []byte("v2"), &secrets.SetOptions{IfAbsent: true})
				return err
			},
			"Set at its revision": func() error {
				_, err := m.Set(ctx, "ws", "api_token", []byte("v2"), &secrets.SetOptions{IfRevision: 1})
				return err
			},
		} {
			err := write()
			var ee *secrets.ExistsError
			if !errors.As(err, &ee) || ee.Name != "API_TOKEN" || !strings.Contains(err.Error(), "API_TOKEN") {
				t.Fatalf("%s under another spelling: %v", what, err)
			}
		}
		_, err := m.Import(ctx, "ws", []byte("OTHER=1\napi_token=v3\n"), nil)
		var de *secrets.DotenvError
		if !errors.As(err, &de) || de.Line != 2 || de.Reason != secrets.ErrExists || !strings.Contains(err.Error(), "API_TOKEN") {
			t.Fatalf("Import under another spelling: %v", err)
		}
		if d := cmp.Diff(map[string]string{"API_TOKEN": "v1"}, envMap(t, m, "ws")); d != "" {
			t.Fatalf("after refused writes (-want +got):\n%s", d)
		}
		// A rename onto a name another secret has is refused at once, as
		// taken, not retried as a race.
		mustSet(t, m, "ws", "OTHER_TOKEN", "v9")
		before := puts.n.Load()
		_, err = m.Rename(ctx, "ws", "OTHER_TOKEN", "Api_Token", nil)
		var ee *secrets.ExistsError
		if !errors.As(err, &ee) || ee.Name != "API_TOKEN" || puts.n.Load() != before {
			t.Fatalf("Rename onto a taken name: %v after %d writes", err, puts.n.Load()-before)
		}
		if _, err := m.Delete(ctx, "ws", "OTHER_TOKEN", nil); err != nil {
			t.Fatal(err)
		}
		if _, err = m.Rename(ctx, "ws", "API_TOKEN", "other_token", nil); !errors.As(err, &ee) || !ee.Deleted || ee.Name != "OTHER_TOKEN" {
			t.Fatalf("Rename onto a deleted secret's name: %v", err)
		}
		if _, err := m.Rename(ctx, "ws", "API_TOKEN", "api_token", nil); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]string{"api_token": "v1"}, envMap(t, m, "ws")); d != "" {
			t.Fatalf("after Rename (-want +got):\n%s", d)
		}
	})
}

// putCounter counts the writes that reach a Store.
type putCounter struct {
	secrets.Store
	n atomic.Int64
}

func (p *putCounter) Put(ctx context.Context, ws ...secrets.Write) error {
	p.n.Add(1)
	return p.Store.Put(ctx, ws...)
}

// Metadata changes (Info, names, deletes) make revisions, not versions:
// fifty description edits, renames and a delete and restore later, every
// value version is still there.
func TestMetadataEditsKeepHistory(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), &secrets.Config{KeepVersions: 10})
		for i := 1; i <= 10; i++ {
			mustSet(t, m, "ws", "TOKEN", fmt.Sprint("value-", i))
		}
		for i := range 50 {
			due := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
			if _, err := m.SetInfo(ctx, "ws", "TOKEN", secrets.Info{Description: fmt.Sprint("edit ", i), RotateBy: due}, nil); err != nil {
				t.Fatal(err)
			}
		}
		name := "TOKEN"
		for _, to := range []string{"RENAMED", "TOKEN2", "TOKEN"} {
			if _, err := m.Rename(ctx, "ws", name, to, nil); err != nil {
				t.Fatal(err)
			}
			name = to
		}
		if _, err := m.Delete(ctx, "ws", "TOKEN", nil); err != nil {
			t.Fatal(err)
		}
		meta, err := m.Undelete(ctx, "ws", "TOKEN", nil)
		if err != nil {
			t.Fatal(err)
		}
		if meta.Version != 10 || meta.Revision != 10+50+3+2 || meta.Description != "edit 49" {
			t.Fatalf("after the edits: version %d, revision %d, %q", meta.Version, meta.Revision, meta.Description)
		}
		vs, err := m.Versions(ctx, "ws", "TOKEN")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 10 || vs[0].Version != 10 || !vs[0].Current || vs[9].Version != 1 {
			t.Fatalf("versions: %+v", vs)
		}
		for v := int64(1); v <= 10; v++ {
			old, err := m.GetVersion(ctx, "ws", "TOKEN", v)
			if err != nil || string(old.Value.Reveal()) != fmt.Sprint("value-", v) {
				t.Fatalf("version %d after renames: %v", v, err)
			}
		}
	})
}

// conditionalWrites are the writes an editor makes from a revision seen.
var conditionalWrites = map[string]func(ctx context.Context, m *secrets.Manager, seen int64, name string) error{
	"Set": func(ctx context.Context, m *secrets.Manager, seen int64, name string) error {
		_, err := m.Set(ctx, "ws", "TOKEN", []byte(fmt.Sprint("from ", seen)), &secrets.SetOptions{IfRevision: seen})
		return err
	},
	"Set with Info": func(ctx context.Context, m *secrets.Manager, seen int64, name string) error {
		_, err := m.Set(ctx, "ws", "TOKEN", []byte("x"), &secrets.SetOptions{IfRevision: seen, Info: &secrets.Info{File: true}})
		return err
	},
	"SetInfo": func(ctx context.Context, m *secrets.Manager, seen int64, name string) error {
		_, err := m.SetInfo(ctx, "ws", "TOKEN", secrets.Info{Description: fmt.Sprint(seen)}, &secrets.WriteOptions{IfRevision: seen})
		return err
	},
	"Rename": func(ctx context.Context, m *secrets.Manager, seen int64, name string) error {
		to := "token" // a change of case, back and forth
		if name == to {
			to = "TOKEN"
		}
		_, err := m.Rename(ctx, "ws", "TOKEN", to, &secrets.WriteOptions{IfRevision: seen})
		return err
	},
	"Rollback": func(ctx context.Context, m *secrets.Manager, seen int64, name string) error {
		_, err := m.Rollback(ctx, "ws", "TOKEN", 1, &secrets.WriteOptions{IfRevision: seen})
		return err
	},
	"Delete": func(ctx context.Context, m *secrets.Manager, seen int64, name string) error {
		_, err := m.Delete(ctx, "ws", "TOKEN", &secrets.WriteOptions{IfRevision: seen})
		return err
	},
	"Destroy": func(ctx context.Context, m *secrets.Manager, seen int64, name string) error {
		return m.Destroy(ctx, "ws", "TOKEN", &secrets.WriteOptions{IfRevision: seen})
	},
}

// Every write takes the revision the editor saw: a stale one is refused
// with the current revision, and of editors racing from the same one,
// on several replicas, exactly one wins.
func TestEveryWriteIsConditional(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newCipher(t)
		replicas := make([]*secrets.Manager, 3)
		for i := range replicas {
			replicas[i] = newManager(t, b.replica(t), c, nil)
		}
		m := replicas[0]
		for what, write := range conditionalWrites {
			if err := m.Destroy(ctx, "ws", "TOKEN", nil); err != nil && !errors.Is(err, secrets.ErrNotFound) {
				t.Fatal(err)
			}
			mustSet(t, m, "ws", "TOKEN", "v1")
			cur := mustSet(t, m, "ws", "TOKEN", "v2")
			err := write(ctx, m, cur.Revision-1, cur.Name)
			var ce *secrets.ConflictError
			if !errors.As(err, &ce) || ce.Revision != cur.Revision || ce.Version != cur.Version || ce.Seen != cur.Revision-1 || ce.Name != "TOKEN" {
				t.Fatalf("%s from a stale revision: %v (%+v)", what, err, ce)
			}
			rounds := 3
			if what == "Destroy" || what == "Delete" {
				rounds = 1
			}
			for round := range rounds {
				meta, err := m.Meta(ctx, "ws", "TOKEN")
				if err != nil {
					t.Fatal(err)
				}
				var wins atomic.Int32
				var wg sync.WaitGroup
				for i := range 6 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						err := write(ctx, replicas[i%len(replicas)], meta.Revision, meta.Name)
						switch {
						case err == nil:
							wins.Add(1)
						case errors.Is(err, secrets.ErrConflict):
						default:
							t.Errorf("%s: a racing editor got %v", what, err)
						}
					}()
				}
				wg.Wait()
				if wins.Load() != 1 {
					t.Fatalf("%s round %d: %d editors won", what, round, wins.Load())
				}
			}
		}
		// Undelete too.
		mustSet(t, m, "ws", "GONE", "x")
		del, err := m.Delete(ctx, "ws", "GONE", nil)
		if err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := replicas[i%3].Undelete(ctx, "ws", "GONE", &secrets.WriteOptions{IfRevision: del.Revision}); err == nil {
					wins.Add(1)
				} else if !errors.Is(err, secrets.ErrConflict) {
					t.Errorf("racing Undelete: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("Undelete: %d editors won", wins.Load())
		}
	})
}

// No secret is ever at a negative revision: a write from one is refused
// as a conflict, whether the secret exists or not, audited, and nothing
// is written (Set used to return a bare error, unaudited, and the other
// writes ignored it).
func TestNegativeRevisionRefused(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	writes := maps.Clone(conditionalWrites)
	writes["Undelete"] = func(ctx context.Context, m *secrets.Manager, seen int64, name string) error {
		_, err := m.Undelete(ctx, "ws", "TOKEN", &secrets.WriteOptions{IfRevision: seen})
		return err
	}
	for what, write := range writes {
		for _, exists := range []bool{true, false} {
			if err := m.Destroy(ctx, "ws", "TOKEN", nil); err != nil && !errors.Is(err, secrets.ErrNotFound) {
				t.Fatal(err)
			}
			var before secrets.Meta
			if exists {
				mustSet(t, m, "ws", "TOKEN", "v1")
				before = mustSet(t, m, "ws", "TOKEN", "v2")
				if what == "Undelete" {
					var err error
					if before, err = m.Delete(ctx, "ws", "TOKEN", nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			events, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			err = write(ctx, m, -1, "TOKEN")
			var ce *secrets.ConflictError
			if !errors.As(err, &ce) || !errors.Is(err, secrets.ErrConflict) || ce.Seen != -1 {
				t.Errorf("%s from revision -1 (secret exists: %v): %v, want a *ConflictError", what, exists, err)
				continue
			}
			now, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			after, err := m.Meta(ctx, "ws", "TOKEN")
			switch {
			case exists && (err != nil || after.Revision != before.Revision):
				t.Errorf("%s from revision -1 wrote: revision %d, was %d (%v)", what, after.Revision, before.Revision, err)
			case !exists && !errors.Is(err, secrets.ErrNotFound):
				t.Errorf("%s from revision -1 created the secret: %v", what, err)
			}
			if len(now) != len(events)+1 || now[len(now)-1].Outcome != secrets.OutcomeFailed {
				t.Errorf("%s from revision -1 was not audited as failed", what)
			}
		}
	}
}

// A replica remembers the secrets it wrote; what another replica did
// since (delete, destroy and create again, rename) never makes it refuse
// an editor's write on what it remembers.
func TestRememberedEntriesNeverRefuse(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newCipher(t)
		a, other := newManager(t, b.replica(t), c, nil), newManager(t, b.replica(t), c, nil)
		mustSet(t, a, "ws", "TOKEN", "v1")
		if _, err := a.Delete(ctx, "ws", "TOKEN", nil); err != nil {
			t.Fatal(err)
		}
		// a remembers TOKEN as deleted; other destroys it and makes a new one.
		if err := other.Destroy(ctx, "ws", "TOKEN", nil); err != nil {
			t.Fatal(err)
		}
		fresh := mustSet(t, other, "ws", "TOKEN", "v1 again")
		if _, err := a.Set(ctx, "ws", "TOKEN", []byte("from a"), &secrets.SetOptions{IfRevision: fresh.Revision}); err != nil {
			t.Fatalf("a Set on the live secret was refused on a remembered one: %v", err)
		}
		// a remembers TOKEN live; other renames it away and another takes the name.
		meta, err := a.Meta(ctx, "ws", "TOKEN")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Rename(ctx, "ws", "TOKEN", "OLD_TOKEN", &secrets.WriteOptions{IfRevision: meta.Revision}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Set(ctx, "ws", "TOKEN", []byte("a new one"), &secrets.SetOptions{IfAbsent: true}); err != nil {
			t.Fatalf("IfAbsent on a name freed by another replica: %v", err)
		}
		if got := mustGet(t, other, "ws", "OLD_TOKEN"); got != "from a" {
			t.Fatalf("OLD_TOKEN holds %q", got)
		}
	})
}

// A write-only secret can be created only if absent, write-only from its
// first version.
func TestCreateWriteOnlyIfAbsent(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		opts := &secrets.SetOptions{IfAbsent: true, Info: &secrets.Info{WriteOnly: true, Description: "deploy key"}}
		meta, err := m.Set(ctx, "ws", "DEPLOY_KEY", []byte("k1"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if meta.Revision != 1 || meta.Version != 1 || !meta.WriteOnly || meta.Description != "deploy key" {
			t.Fatalf("created: %+v", meta)
		}
		if _, err := m.Get(ctx, "ws", "DEPLOY_KEY"); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Fatalf("Get of a write-only secret: %v", err)
		}
		if _, err := m.GetVersion(ctx, "ws", "DEPLOY_KEY", 1); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Fatalf("GetVersion 1 of a write-only secret: %v", err)
		}
		var ee *secrets.ExistsError
		if _, err := m.Set(ctx, "ws", "DEPLOY_KEY", []byte("k2"), opts); !errors.As(err, &ee) || ee.Name != "DEPLOY_KEY" {
			t.Fatalf("second create-only write: %v", err)
		}
		if _, err := m.SetInfo(ctx, "ws", "DEPLOY_KEY", secrets.Info{}, nil); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Fatalf("making it readable: %v", err)
		}
		if got := envMap(t, m, "ws")["DEPLOY_KEY"]; got != "k1" {
			t.Fatalf("injected value %q", got)
		}
	})
}

// Delete is soft: the secret is not listed or injected, holds its name,
// and comes back with Undelete; Destroy removes it and frees the name.
func TestSoftDeleteUndeleteDestroy(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := secrets.WithActor(context.Background(), "user:del")
		m := newManager(t, s, newCipher(t), &secrets.Config{KeepVersions: 3})
		mustSet(t, m, "ws", "TOKEN", "v1")
		mustSet(t, m, "ws", "TOKEN", "v2")
		mustSet(t, m, "ws", "OTHER", "o")
		del, err := m.Delete(ctx, "ws", "TOKEN", nil)
		if err != nil {
			t.Fatal(err)
		}
		if del.Deleted.IsZero() || del.DeletedBy != "user:del" {
			t.Fatalf("deleted: %+v", del)
		}
		if d := cmp.Diff(map[string]string{"OTHER": "o"}, envMap(t, m, "ws")); d != "" {
			t.Fatalf("EnvFor with TOKEN deleted (-want +got):\n%s", d)
		}
		if l := listAll(t, m, "ws"); len(l) != 1 || l[0].Name != "OTHER" {
			t.Fatalf("List with TOKEN deleted: %+v", l)
		}
		p, err := m.List(ctx, "ws", &secrets.ListOptions{Deleted: true})
		if err != nil || len(p.Secrets) != 1 || p.Secrets[0].Name != "TOKEN" {
			t.Fatalf("List of deleted: %+v %v", p, err)
		}
		for what, err := range map[string]error{
			"Get":     func() error { _, err := m.Get(ctx, "ws", "TOKEN"); return err }(),
			"Delete":  func() error { _, err := m.Delete(ctx, "ws", "TOKEN", nil); return err }(),
			"SetInfo": func() error { _, err := m.SetInfo(ctx, "ws", "TOKEN", secrets.Info{}, nil); return err }(),
		} {
			if !errors.Is(err, secrets.ErrNotFound) {
				t.Fatalf("%s of a deleted secret: %v", what, err)
			}
		}
		var ee *secrets.ExistsError
		if _, err := m.Set(ctx, "ws", "token", []byte("new"), nil); !errors.As(err, &ee) || !ee.Deleted || ee.Name != "TOKEN" {
			t.Fatalf("Set of a deleted secret's name: %v", err)
		}
		if meta, err := m.Meta(ctx, "ws", "TOKEN"); err != nil || meta.Deleted.IsZero() {
			t.Fatalf("Meta of a deleted secret: %+v %v", meta, err)
		}
		und, err := m.Undelete(ctx, "ws", "TOKEN", &secrets.WriteOptions{IfRevision: del.Revision})
		if err != nil {
			t.Fatal(err)
		}
		if !und.Deleted.IsZero() || und.Version != 2 || mustGet(t, m, "ws", "TOKEN") != "v2" {
			t.Fatalf("restored: %+v", und)
		}
		var ce *secrets.ConflictError
		if _, err := m.Undelete(ctx, "ws", "TOKEN", nil); !errors.As(err, &ce) || ce.Deleted {
			t.Fatalf("Undelete of a live secret: %v", err)
		}
		if err := m.Destroy(ctx, "ws", "TOKEN", &secrets.WriteOptions{IfRevision: und.Revision}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Meta(ctx, "ws", "TOKEN"); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("Meta after Destroy: %v", err)
		}
		if _, err := m.Versions(ctx, "ws", "TOKEN"); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("Versions after Destroy: %v", err)
		}
		meta := mustSet(t, m, "ws", "token", "reborn")
		if meta.Version != 1 || meta.Revision != 1 {
			t.Fatalf("the name after Destroy: %+v", meta)
		}
	})
}

// Set says when a value is too short to be masked in a job's output
// (Meta.ShortValue), and saves it all the same; a value of the minimum
// length, and an empty one, are not flagged. A job's output shows the
// short one (the new-user trial's PIN=1234).
func TestSetShortValue(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	for _, c := range []struct {
		value string
		short bool
	}{{"1234", true}, {"12345", true}, {"123456", false}, {"", false}} {
		meta, err := m.Set(ctx, "ws", "PIN", []byte(c.value), nil)
		if err != nil || meta.ShortValue != c.short {
			t.Fatalf("%q: ShortValue %v, %v; want %v", c.value, meta.ShortValue, err, c.short)
		}
	}
	mustSet(t, m, "ws", "PIN", "1234")
	var out bytes.Buffer
	if _, err := m.Run(ctx, "ws", secrets.Job{Path: needProgram(t, "sh"), Args: []string{"-c", `echo "pin=$PIN"`}, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "pin=1234\n" {
		t.Fatalf("job output %q: the short value should be shown as it is", out.String())
	}
}
