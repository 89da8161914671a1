package secrets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"
)

// TestPostgresRestoreReissuesNoKeyGeneration: after the database is
// restored from a backup taken before a rotation, the next rotation is
// not given the generation that rotation had: a replica that still has
// that rotation's key cached would see its number match and write values
// under a key the database no longer holds (an SRE trial: acknowledged
// writes no replica could read again). The restore is done with SQL: the
// schema's tables and the states sequence set back to a copy.
func TestPostgresRestoreReissuesNoKeyGeneration(t *testing.T) {
	db := pgDB(t)
	ctx := context.Background()
	s := newPGStore(t, db)
	c := newCipher(t)
	exec := schemaExec(t, db, s.Schema())
	a := newManager(t, s, c, nil) // the replica that keeps running
	mustSet(t, a, "ws", "X", "x-1")

	// The backup.
	tables := []string{"workspaces", "workspace_keys", "secrets", "versions"}
	for _, tb := range tables {
		exec("CREATE TABLE S.saved_" + tb + " AS SELECT * FROM S." + tb)
	}
	var seq int64
	if err := db.Get(&seq, "SELECT last_value FROM "+pq.QuoteIdentifier(s.Schema())+".states"); err != nil {
		t.Fatal(err)
	}

	// Another replica rotates; a's next write loads the new key and keeps
	// it cached.
	b := newManager(t, s, c, nil)
	if _, err := b.RotateKey(ctx, "ws", nil); err != nil {
		t.Fatal(err)
	}
	mustSet(t, a, "ws", "X", "x-2")

	// The restore, then a rotation by a third replica, the first thing
	// after it.
	for _, tb := range tables {
		exec("DELETE FROM S." + tb)
		exec("INSERT INTO S." + tb + " SELECT * FROM S.saved_" + tb)
	}
	if _, err := db.Exec("SELECT setval($1::regclass, $2)", pq.QuoteIdentifier(s.Schema())+".states", seq); err != nil {
		t.Fatal(err)
	}
	// Until then a's cached key is newer than the restored one, which a
	// is not to trust (a rollback by a database writer looks the same):
	// its reads fail, a fresh replica's do not (hence the README: restart
	// the replicas after a restore).
	if env, err := a.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrDecrypt) || env != nil {
		t.Fatalf("EnvFor on the running replica after the restore: %d variables, %v; want ErrDecrypt", len(env), err)
	}
	if env, err := newManager(t, s, c, nil).EnvFor(ctx, "ws"); err != nil || len(env) != 1 || env[0] != "X=x-1" {
		t.Fatalf("EnvFor on a fresh replica after the restore: %q, %v", env, err)
	}
	if _, err := newManager(t, s, c, nil).RotateKey(ctx, "ws", nil); err != nil {
		t.Fatal(err)
	}

	// a writes; a replica that never saw a key before reads everything.
	mustSet(t, a, "ws", "Y", "y-after-restore")
	mustSet(t, a, "ws", "X", "x-after-restore")
	env, err := newManager(t, s, c, nil).EnvFor(ctx, "ws")
	if err != nil {
		t.Fatalf("EnvFor on a fresh replica after a's writes: %v", err)
	}
	if d := cmp.Diff([]string{"X=x-after-restore", "Y=y-after-restore"}, env); d != "" {
		t.Errorf("EnvFor (-want +got):\n%s", d)
	}
}
