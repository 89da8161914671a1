package secrets_test

import (
	"context"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// TestPostgresMigrateGivesWayToReaders: a migration that alters a table
// while a long transaction reads it (a pg_dump, a psql session) does not
// hold up the replicas' statements until that transaction ends, as it did
// (an SRE trial: every replica stalled as long as the reader ran): each
// attempt waits a bounded time for its lock and gives way between
// attempts; the migration completes once the reader is gone.
func TestPostgresMigrateGivesWayToReaders(t *testing.T) {
	db := pgDB(t)
	ctx := context.Background()
	s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: randomSchema("t_")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); dropSchema(t, db, s.Schema()) })
	if err := secrets.MigrateTo(ctx, s, 8); err != nil { // migration 9 alters workspaces
		t.Fatal(err)
	}
	workspaces := pq.QuoteIdentifier(s.Schema()) + ".workspaces"
	long, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Rollback()
	if _, err := long.Exec("SELECT count(*) FROM " + workspaces); err != nil {
		t.Fatal(err)
	}
	migrated := make(chan error, 1)
	go func() { migrated <- s.Migrate(ctx) }()
	// The migration waits for its lock on workspaces.
	for i := 0; ; i++ {
		var waiting int
		if err := db.Get(&waiting, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass", workspaces); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if i == 500 {
			t.Fatal("the migration never waited for its lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A replica's read of the table, queued behind the migration's lock
	// request, is answered while the long reader still runs.
	read := make(chan error, 1)
	go func() {
		var n int
		read <- db.Get(&n, "SELECT count(*) FROM "+workspaces)
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Error("a replica's read waited 10 s behind the migration, for the long reader")
	}
	if err := long.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-migrated:
		if err != nil {
			t.Fatalf("Migrate once the reader ended: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Migrate did not end 60 s after the reader")
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v < 9 {
		t.Fatalf("SchemaVersion after Migrate: %d, %v", v, err)
	}
}
