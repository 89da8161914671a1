package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// TestRetireMasterKey: after a move to a new master key, the former one
// can be retired once Rewrap has moved every workspace key off it, not
// before; then a Manager still configured with it as its primary (a
// stale replica, a tool) cannot make a workspace key, whether it checked
// the master keys before the retirement or after, while it still reads
// with the new key among its DecryptOnly.
func TestRetireMasterKey(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := secrets.WithActor(context.Background(), "user:admin")
		oldKey, newKey := newCipher(t), newCipher(t)
		stale := newManager(t, s, oldKey, nil) // writes before the move, and keeps running
		wants := map[string]map[string]string{}
		for i := range 3 {
			ws := fmt.Sprint("ws-", i)
			wants[ws] = fillHistory(t, stale, ws, 2)
		}
		moving := newManager(t, s, newKey, &secrets.Config{DecryptOnly: []secrets.Cipher{oldKey}, AddMasterKey: true, Authorize: viewerPolicy})

		err := moving.RetireMasterKey(ctx, oldKey.ID())
		var mk *secrets.MasterKeyError
		if !errors.As(err, &mk) || !errors.Is(err, secrets.ErrMasterKey) || mk.ID != oldKey.ID() || mk.InUse != 3 ||
			!strings.Contains(err.Error(), "still wraps 3 workspace keys") {
			t.Fatalf("retiring a key that wraps workspace keys: %v", err)
		}
		err = moving.RetireMasterKey(ctx, newKey.ID())
		if !errors.As(err, &mk) || !mk.Primary || mk.ID != newKey.ID() {
			t.Fatalf("retiring the Manager's own key: %v", err)
		}
		if err := moving.RetireMasterKey(ctx, "tink-local:none"); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("retiring an unknown key: %v", err)
		}
		viewer := secrets.WithActor(context.Background(), "user:viewer")
		if err := moving.RetireMasterKey(viewer, oldKey.ID()); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatalf("retiring as a viewer: %v", err)
		}
		if keys, err := s.MasterKeys(ctx); err != nil || len(keys) != 2 || !keys[0].Retired.IsZero() || !keys[1].Retired.IsZero() {
			t.Fatalf("refused retirements retired: %v %v", keys, err)
		}

		if _, err := moving.Rewrap(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := moving.RetireMasterKey(ctx, oldKey.ID()); err != nil {
			t.Fatalf("retiring after Rewrap: %v", err)
		}
		evs, err := moving.Events(ctx, secrets.EventQuery{Action: secrets.ActionRotate, Newest: true, Limit: 1})
		if err != nil || len(evs) != 1 || evs[0].Outcome != secrets.OutcomeOK || evs[0].Actor != "user:admin" ||
			!strings.Contains(evs[0].Detail, "master key "+oldKey.ID()+" retired") {
			t.Fatalf("the retirement's event: %+v %v", evs, err)
		}

		// The stale Manager had checked the master keys before: the
		// Store refuses its new workspace key and its rotation.
		if _, err := stale.Set(ctx, "fresh", "TOKEN", []byte("x"), nil); !errors.As(err, &mk) || !mk.Retired || mk.ID != oldKey.ID() {
			t.Fatalf("a new workspace under the retired key, from a Manager started before: %v", err)
		}
		// A Manager started after, with the new key to read with.
		replica := newManager(t, s, oldKey, &secrets.Config{DecryptOnly: []secrets.Cipher{newKey}})
		_, err = replica.Set(ctx, "fresh", "TOKEN", []byte("x"), nil)
		if !errors.As(err, &mk) || !mk.Retired || mk.ID != oldKey.ID() || !strings.Contains(err.Error(), "master key "+oldKey.ID()+" is retired") {
			t.Fatalf("a new workspace under the retired key: %v", err)
		}
		if _, err := replica.RotateKey(ctx, "ws-0", nil); !errors.Is(err, secrets.ErrMasterKey) {
			t.Fatalf("a rotation under the retired key: %v", err)
		}
		if _, err := s.Key(ctx, "fresh"); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("a workspace key under the retired key was stored: %v", err)
		}
		for ws, want := range wants {
			checkAll(t, replica, ws, want)
			checkAll(t, moving, ws, want)
		}
		// The new key writes on.
		if _, err := moving.Set(ctx, "fresh", "TOKEN", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPostgresRetiredMasterKeyOldReplica: the database refuses a
// workspace key wrapped by a retired master key from a release that knows
// nothing of retirement, which calls put_key of migration 1 as it is.
func TestPostgresRetiredMasterKeyOldReplica(t *testing.T) {
	mv := movedPG(t)
	db, s, ctx, oldKey, newKey, moving, putKey := mv.db, mv.s, context.Background(), mv.oldKey, mv.newKey, mv.moving, mv.putKey
	if _, err := db.Exec(putKey, "before", oldKey.ID()); err != nil {
		t.Fatalf("put_key under the old key before it is retired: %v", err)
	}
	if err := moving.RetireMasterKey(ctx, oldKey.ID()); !errors.Is(err, secrets.ErrMasterKey) {
		t.Fatalf("retiring while the old release's key is there: %v", err)
	}
	if _, err := db.Exec("DELETE FROM " + pq.QuoteIdentifier(s.Schema()) + ".workspace_keys WHERE workspace = 'before'"); err != nil {
		t.Fatal(err)
	}
	if err := moving.RetireMasterKey(ctx, oldKey.ID()); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec(putKey, "after", oldKey.ID())
	var pqe *pq.Error
	if !errors.As(err, &pqe) || pqe.Code != "SC006" || !strings.Contains(pqe.Message, oldKey.ID()) {
		t.Fatalf("put_key under a retired key, as an older release calls it: %v", err)
	}
	if _, err := db.Exec(putKey, "after", newKey.ID()); err != nil {
		t.Fatalf("put_key under the current key: %v", err)
	}
}

// A movedKeys is a Postgres store whose one workspace key moved from
// oldKey to newKey (moving's Rewrap), with the statement that stores a
// workspace key as put_key of any release does ($1 workspace, $2 master
// key ID).
type movedKeys struct {
	db             *sqlx.DB
	s              *secrets.PostgresStore
	oldKey, newKey *secrets.LocalCipher
	moving         *secrets.Manager
	putKey         string
}

func movedPG(t *testing.T) movedKeys {
	t.Helper()
	db := pgDB(t)
	mv := movedKeys{db: db, s: newPGStore(t, db), oldKey: newCipher(t), newKey: newCipher(t)}
	mustSet(t, newManager(t, mv.s, mv.oldKey, nil), "ws", "TOKEN", "v")
	mv.moving = newManager(t, mv.s, mv.newKey, &secrets.Config{DecryptOnly: []secrets.Cipher{mv.oldKey}, AddMasterKey: true})
	if _, err := mv.moving.Rewrap(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	mv.putKey = "SELECT " + pq.QuoteIdentifier(mv.s.Schema()) + ".put_key($1, $2, '\\x00'::bytea, now(), 0)"
	return mv
}
