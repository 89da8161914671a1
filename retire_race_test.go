package secrets_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/lib/pq"
)

// waitForLock polls until a backend running a statement that holds
// fragment waits on a lock: the other connection's statement is blocked,
// not merely slow. It goes by the statement, not by a backend's PID, which
// a transaction-mode pooler may change between statements.
func waitForLock(t *testing.T, db *sql.DB, fragment string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0", fragment).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatalf("no statement holding %s waited on a lock", fragment)
}

// Retiring a master key and storing a workspace key wrapped by it exclude
// each other on Postgres, whichever comes first: a workspace key stored in
// a transaction still open makes the retirement wait, then refuse (SC007);
// a retirement still open makes the store of a key wait, then refuse
// (SC006). Each waiter is seen waiting on a lock before the other commits.
func TestPostgresRetireMasterKeyRace(t *testing.T) {
	mv := movedPG(t)
	db, ctx, oldKey, putKey := mv.db, context.Background(), mv.oldKey, mv.putKey
	sch := pq.QuoteIdentifier(mv.s.Schema())
	retire := "SELECT " + sch + ".retire_master_key($1, now())"
	conn := func() *sql.Conn {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	code := func(err error) string {
		var pe *pq.Error
		if errors.As(err, &pe) {
			return string(pe.Code)
		}
		return ""
	}

	// A key stored first, in a transaction still open: the retirement waits,
	// then refuses.
	a, b := conn(), conn()
	if _, err := a.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, putKey, "first", oldKey.ID()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := b.ExecContext(ctx, retire, oldKey.ID()); done <- err }()
	waitForLock(t, db.DB, sch+".retire_master_key")
	if _, err := a.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; code(err) != "SC007" {
		t.Fatalf("the retirement that waited for a stored key: %v, want SC007", err)
	}
	if _, err := db.Exec("DELETE FROM " + sch + ".workspace_keys WHERE workspace = 'first'"); err != nil {
		t.Fatal(err)
	}

	// The retirement first, still open: the store of a key waits, then
	// refuses.
	if _, err := b.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ExecContext(ctx, retire, oldKey.ID()); err != nil {
		t.Fatal(err)
	}
	go func() { _, err := a.ExecContext(ctx, putKey, "second", oldKey.ID()); done <- err }()
	waitForLock(t, db.DB, sch+".put_key")
	if _, err := b.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; code(err) != "SC006" {
		t.Fatalf("the key stored while the retirement was open: %v, want SC006", err)
	}
}
