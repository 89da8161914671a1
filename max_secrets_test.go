package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// liveAndDeleted returns the names of ws's live and soft-deleted secrets.
func liveAndDeleted(t *testing.T, m *secrets.Manager, ws string) (live, deleted []string) {
	t.Helper()
	ctx := secrets.WithActor(context.Background(), "user:count")
	for _, del := range []bool{false, true} {
		p, err := m.List(ctx, ws, &secrets.ListOptions{Deleted: del})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Secrets {
			if del {
				deleted = append(deleted, s.Name)
			} else {
				live = append(live, s.Name)
			}
		}
	}
	return live, deleted
}

// wantTooMany checks that err is the refusal of a write past MaxSecrets
// n: ErrTooLarge, naming the limit and that deleted secrets count, and no
// value.
func wantTooMany(t *testing.T, what string, err error, n int) {
	t.Helper()
	if !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("%s at MaxSecrets %d: %v, want ErrTooLarge", what, n, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprintf("more than %d secrets", n)) || !strings.Contains(msg, "deleted secrets count until purged or destroyed") ||
		!strings.Contains(msg, "Config.MaxSecrets") || strings.Contains(msg, "s3cret") {
		t.Fatalf("%s: the message %q should name the limit and that deleted secrets count, and no value", what, msg)
	}
}

// TestMaxSecrets: a workspace holds at most Config.MaxSecrets secrets,
// live and deleted together. A write that would add one past it fails
// with ErrTooLarge and changes nothing; updates, renames, deletes and
// undeletes at the limit pass; a destroy or a purge makes room.
func TestMaxSecrets(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := secrets.WithActor(context.Background(), "user:cap")
		var now atomic.Int64
		now.Store(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
		clock := func() time.Time { return time.UnixMicro(now.Load()) }
		c := newCipher(t)
		m := newManager(t, b.replica(t), c, &secrets.Config{MaxSecrets: 3, Now: clock})
		if l := m.Limits(); l.MaxSecrets != 3 {
			t.Fatalf("Limits().MaxSecrets = %d, want 3", l.MaxSecrets)
		}
		const ws = "ws-cap"
		for _, n := range []string{"A", "B", "C@production"} { // a scoped secret counts too
			mustSet(t, m, ws, n, "v")
		}
		_, err := m.Set(ctx, ws, "D", []byte("s3cret"), nil)
		wantTooMany(t, "Set of a fourth name", err, 3)
		_, err = m.Import(ctx, ws, []byte("D=s3cret\nA=changed\n"), nil)
		wantTooMany(t, "Import of a fourth name", err, 3)
		if live, del := liveAndDeleted(t, m, ws); len(live) != 3 || len(del) != 0 {
			t.Fatalf("after the refusals: live %v, deleted %v", live, del)
		}
		if sec, err := m.Get(ctx, ws, "A"); err != nil || string(sec.Value.Reveal()) != "v" {
			t.Fatalf("the refused Import changed A: %v", err)
		}
		// Apply writes through the same batch; a backup's restore is
		// refused at its preview.
		d, err := m.Diff(ctx, ws, []byte("D=s3cret\nA=changed\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Apply(ctx, ws, []byte("D=s3cret\nA=changed\n"), d)
		wantTooMany(t, "Apply of a fourth name", err, 3)
		mustSet(t, m, "ws-src", "D", "s3cret")
		mustSet(t, m, "ws-src", "A", "changed")
		doc, err := m.Backup(ctx, "ws-src", nil)
		if err != nil {
			t.Fatal(err)
		}
		// Its preview refuses as Restore would (no plan is made that
		// Restore refuses).
		_, err = m.PreviewRestore(ctx, ws, doc, nil)
		wantTooMany(t, "the preview of a restore of a fourth name", err, 3)
		if sec, err := m.Get(ctx, ws, "A"); err != nil || string(sec.Value.Reveal()) != "v" {
			t.Fatalf("a refused Apply or Restore changed A: %v", err)
		}

		// At the limit: an update, an Import that only updates, a rename,
		// a delete and an undelete pass.
		mustSet(t, m, ws, "A", "v2")
		if _, err := m.Import(ctx, ws, []byte("A=v3\n"), nil); err != nil {
			t.Fatalf("an Import of an existing name at the limit: %v", err)
		}
		if _, err := m.Rename(ctx, ws, "A", "A2", nil); err != nil {
			t.Fatalf("a rename at the limit: %v", err)
		}
		if _, err := m.Delete(ctx, ws, "B", nil); err != nil {
			t.Fatal(err)
		}
		// A deleted secret still counts.
		_, err = m.Set(ctx, ws, "D", []byte("s3cret"), nil)
		wantTooMany(t, "Set with a deleted secret in the count", err, 3)
		if _, err := m.Undelete(ctx, ws, "B", nil); err != nil {
			t.Fatalf("an undelete at the limit: %v", err)
		}
		// A destroy makes room.
		if err := m.Destroy(ctx, ws, "B", nil); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, ws, "D", "v")
		_, err = m.Set(ctx, ws, "E", []byte("s3cret"), nil)
		wantTooMany(t, "Set after the room was taken", err, 3)

		// A purge makes room, once the deleted secret is past retention.
		if _, err := m.Delete(ctx, ws, "D", nil); err != nil {
			t.Fatal(err)
		}
		now.Add((31 * 24 * time.Hour).Microseconds())
		if res, err := m.Purge(ctx); err != nil || res.Destroyed != 1 {
			t.Fatalf("Purge: %+v, %v", res, err)
		}
		mustSet(t, m, ws, "E", "v")
		if live, del := liveAndDeleted(t, m, ws); len(live) != 3 || len(del) != 0 {
			t.Fatalf("at the end: live %v, deleted %v", live, del)
		}

		// Another workspace has its own count; no limit means none.
		mustSet(t, m, "ws-other", "A", "v")
		free := newManager(t, b.replica(t), c, &secrets.Config{MaxSecrets: -1})
		for i := range 5 {
			mustSet(t, free, "ws-free", fmt.Sprintf("N%d", i), "v")
		}
		if l := free.Limits(); l.MaxSecrets != -1 {
			t.Fatalf("Limits().MaxSecrets without a limit = %d", l.MaxSecrets)
		}
		if d := newManager(t, b.replica(t), c, nil).Limits().MaxSecrets; d != 10_000 {
			t.Fatalf("the default MaxSecrets is %d", d)
		}
	})
}

// TestMaxSecretsConcurrent: writers of new names on two replicas (each
// with a pool of its own on Postgres) never take a workspace past
// MaxSecrets: the count is checked under the workspace's lock.
func TestMaxSecretsConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := secrets.WithActor(context.Background(), "user:race")
		const limit, writers, each = 12, 8, 4 // 32 new names for 12 places
		c := newCipher(t)
		ms := []*secrets.Manager{
			newManager(t, b.replica(t), c, &secrets.Config{MaxSecrets: limit, AddMasterKey: true}),
			newManager(t, b.replica(t), c, &secrets.Config{MaxSecrets: limit, AddMasterKey: true}),
		}
		mustSet(t, ms[0], "ws-race", "FIRST", "v") // the workspace key exists before the race
		var wg sync.WaitGroup
		var ok, refused atomic.Int64
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := ms[w%2]
				for i := range each {
					_, err := m.Set(ctx, "ws-race", fmt.Sprintf("N_%d_%d", w, i), []byte("v"), nil)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, secrets.ErrTooLarge):
						refused.Add(1)
					default:
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("a writer failed otherwise: %v", err)
		}
		live, del := liveAndDeleted(t, ms[1], "ws-race")
		if len(live)+len(del) != limit || ok.Load() != limit-1 || refused.Load() != writers*each-(limit-1) {
			t.Fatalf("%d secrets stored (%d writes passed, %d refused), want exactly %d", len(live)+len(del), ok.Load(), refused.Load(), limit)
		}
		// Destroying one frees exactly one place, seen by the other replica.
		if err := ms[0].Destroy(ctx, "ws-race", "FIRST", nil); err != nil {
			t.Fatal(err)
		}
		mustSet(t, ms[1], "ws-race", "AGAIN", "v")
		_, err := ms[0].Set(ctx, "ws-race", "ONE_TOO_MANY", []byte("s3cret"), nil)
		wantTooMany(t, "Set past the limit after the race", err, limit)
	})
}

// TestMaxSecretsNeedsMigration9: a replica of this release on a schema
// at migration 8 (started without Migrate) writes nothing that could pass
// the limit unchecked: Set, Import and a backup's Restore fail naming
// Migrate and change nothing (a trial's Import and Restore went through
// put_batch's previous signature, which ignores the limit).
func TestMaxSecretsNeedsMigration9(t *testing.T) {
	db := pgDB(t)
	ctx := context.Background()
	s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: randomSchema("t_")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); dropSchema(t, db, s.Schema()) })
	if err := secrets.MigrateTo(ctx, s, 8); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, s, newCipher(t), &secrets.Config{MaxSecrets: 1})
	src := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, src, "src", "B", "b")
	doc, err := src.Backup(ctx, "src", nil)
	if err != nil {
		t.Fatal(err)
	}
	for what, write := range map[string]func() error{
		"Set":    func() error { _, err := m.Set(ctx, "ws", "A", []byte("a"), nil); return err },
		"Import": func() error { _, err := m.Import(ctx, "ws", []byte("A=a\n"), nil); return err },
		"Restore": func() error {
			plan, err := m.PreviewRestore(ctx, "ws", doc, nil)
			if err != nil {
				return err
			}
			_, err = m.Restore(ctx, "ws", doc, plan, nil)
			return err
		},
	} {
		if err := write(); err == nil || !strings.Contains(err.Error(), "call Migrate") {
			t.Errorf("%s on a schema at migration 8: %v, want an error naming Migrate", what, err)
		}
	}
	var n int
	if err := db.Get(&n, "SELECT count(*) FROM "+pq.QuoteIdentifier(s.Schema())+".secrets"); err != nil || n != 0 {
		t.Fatalf("%d secrets written, %v", n, err)
	}
}
