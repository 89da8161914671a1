package secrets_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// staleHook is a Postgres store whose first Stale call (the rotation
// that Config.DestroyRotates starts once the destroy has committed) runs
// before first, as an attacker's put-back would land in between.
type staleHook struct {
	*secrets.PostgresStore
	once   sync.Once
	before func()
}

func (s *staleHook) Stale(ctx context.Context, ws string, q secrets.StaleQuery) ([]secrets.Version, int, error) {
	s.once.Do(s.before)
	return s.PostgresStore.Stale(ctx, ws, q)
}

// TestDestroyRotatesPutBackDuring: rows of a secret put back between its
// destroy and the rotation that Config.DestroyRotates runs after it (by
// Destroy, or by Purge) are not re-encrypted with the workspace's other
// versions: they stay under the former keys, which are deleted, so that
// they never decrypt again, a secrets row put back later included. An
// attacker trial won 10 of 10 tries with a polling loop: the rotation
// re-encrypted the copied rows, and the destroyed value came back.
func TestDestroyRotatesPutBackDuring(t *testing.T) {
	db := pgDB(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		purge     bool
		orphans   bool // only the versions rows come back during it, the secrets row after it
		wantValue string
	}{
		{name: "Destroy"},
		{name: "Destroy, versions rows alone", orphans: true},
		{name: "Purge", purge: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := newPGStore(t, db)
			exec := schemaExec(t, db, base.Schema())
			s := &staleHook{PostgresStore: base}
			s.before = func() {
				if !tc.orphans {
					exec(`INSERT INTO S.secrets SELECT * FROM S.copy_secrets`)
				}
				exec(`INSERT INTO S.versions SELECT * FROM S.copy_versions`)
			}
			clock := &pitrClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
			c := newCipher(t)
			m := newManager(t, s, c, &secrets.Config{DestroyRotates: true, Now: clock.Now, DeleteRetention: time.Hour})
			mustSet(t, m, "ws", "KEEP", "kept-v1")
			mustSet(t, m, "ws", "GONE", "destroyed-value-1")
			gone := mustSet(t, m, "ws", "GONE", "destroyed-value-2")
			exec(`CREATE TABLE S.copy_secrets AS SELECT * FROM S.secrets WHERE name = 'GONE'`)
			exec(`CREATE TABLE S.copy_versions AS SELECT * FROM S.versions WHERE name = 'GONE'`)
			if tc.purge {
				if _, err := m.Delete(ctx, "ws", "GONE", nil); err != nil {
					t.Fatal(err)
				}
				clock.step()
				clock.step()
				if _, err := m.Purge(ctx); err != nil {
					t.Fatalf("Purge: %v", err)
				}
			} else if err := m.Destroy(ctx, "ws", "GONE", &secrets.WriteOptions{IfRevision: gone.Revision}); err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			if keys, err := m.Keys(ctx, "ws"); err != nil || len(keys) != 1 {
				t.Fatalf("the keyset after the destroy: %+v, %v; want the new primary alone", keys, err)
			}
			if tc.orphans {
				// The secrets row, with the current version's ciphertext
				// as its versions row holds it now.
				exec(`INSERT INTO S.secrets SELECT * FROM S.copy_secrets`)
				exec(`UPDATE S.secrets s SET ciphertext = v.ciphertext, key_id = v.key_id, format = v.format FROM S.versions v
					WHERE s.workspace = 'ws' AND s.name = 'GONE' AND v.workspace = s.workspace AND v.secret_id = s.secret_id AND v.version = s.version`)
			}
			fresh := newManager(t, sameSchema(t, db, base), c, &secrets.Config{Now: clock.Now}) // no cached key
			for _, v := range []int64{0, 1} {
				sec, err := getVersion(ctx, fresh, "GONE", v)
				if !errors.Is(err, secrets.ErrDecrypt) || sec.Value.Len() != 0 {
					t.Fatalf("GetVersion %d of the destroyed secret put back: %d bytes, %v; want ErrDecrypt", v, sec.Value.Len(), err)
				}
			}
			if env, err := fresh.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrDecrypt) || env != nil {
				t.Fatalf("EnvFor with the destroyed secret put back: %d variables, %v; want ErrDecrypt", len(env), err)
			}
			// The other secret was re-encrypted: it reads as before.
			if got := mustGet(t, fresh, "ws", "KEEP"); got != "kept-v1" {
				t.Fatalf("KEEP after the rotation: %q", got)
			}
		})
	}
}

// TestGetNeverEmptyWithoutAnError: a reveal whose reads never settle
// (the newest version row deleted, the workspace's key generation moved,
// with SQL) fails as ErrDecrypt; it returned an empty value and no error
// once its attempts ran out (a trial).
func TestGetNeverEmptyWithoutAnError(t *testing.T) {
	db := pgDB(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, sql string
		version   int64
	}{
		{"GetVersion, the newest version row deleted", `DELETE FROM S.versions WHERE workspace = 'ws' AND version = 2`, 1},
		{"Get, the key generation moved", `UPDATE S.workspaces SET key_gen = key_gen + 1000 WHERE workspace = 'ws'`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newPGStore(t, db)
			m := newManager(t, s, newCipher(t), nil)
			mustSet(t, m, "ws", "DB_PASSWORD", "password-version-1")
			mustSet(t, m, "ws", "DB_PASSWORD", "password-version-2")
			schemaExec(t, db, s.Schema())(tc.sql)
			sec, err := getVersion(ctx, m, "DB_PASSWORD", tc.version)
			var de *secrets.DecryptError
			if !errors.As(err, &de) || len(de.Names) != 1 || de.Names[0] != "DB_PASSWORD" || sec.Value.Len() != 0 {
				t.Fatalf("GetVersion %d: %d bytes, %v; want ErrDecrypt naming DB_PASSWORD", tc.version, sec.Value.Len(), err)
			}
			// Recorded as a failed reveal.
			evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionReveal, Limit: 10})
			if err != nil || len(evs) != 1 || evs[0].Outcome != secrets.OutcomeFailed {
				t.Fatalf("reveal events: %+v, %v; want one failed", evs, err)
			}
		})
	}
}

// getVersion is Get for version 0, GetVersion otherwise, of workspace ws.
func getVersion(ctx context.Context, m *secrets.Manager, name string, version int64) (secrets.Secret, error) {
	if version == 0 {
		return m.Get(ctx, "ws", name)
	}
	return m.GetVersion(ctx, "ws", name, version)
}
