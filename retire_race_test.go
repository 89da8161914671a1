package secrets_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// waitForLock polls until the backend pid waits on a lock: the other
// connection's statement is blocked, not merely slow.
func waitForLock(t *testing.T, db *sql.DB, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var w sql.NullString
		if err := db.QueryRow("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid).Scan(&w); err != nil {
			t.Fatal(err)
		}
		if w.String == "Lock" {
			return
		}
	}
	t.Fatalf("backend %d never waited on a lock", pid)
}

// Retiring a master key and storing a workspace key wrapped by it exclude
// each other on Postgres, whichever comes first: a workspace key stored in
// a transaction still open makes the retirement wait, then refuse (SC007);
// a retirement still open makes the store of a key wait, then refuse
// (SC006). Each waiter is seen waiting on a lock before the other commits.
func TestPostgresRetireMasterKeyRace(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	ctx := context.Background()
	oldKey, newKey := newCipher(t), newCipher(t)
	mustSet(t, newManager(t, s, oldKey, nil), "ws", "TOKEN", "v")
	moving := newManager(t, s, newKey, &secrets.Config{DecryptOnly: []secrets.Cipher{oldKey}, AddMasterKey: true})
	if _, err := moving.Rewrap(ctx, nil); err != nil {
		t.Fatal(err)
	}
	sch := pq.QuoteIdentifier(s.Schema())
	putKey := "SELECT " + sch + ".put_key($1, $2, '\\x00'::bytea, now(), 0)"
	retire := "SELECT " + sch + ".retire_master_key($1, now())"
	conn := func() (*sql.Conn, int) {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		var pid int
		if err := c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return c, pid
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
	a, apid := conn()
	b, bpid := conn()
	if _, err := a.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, putKey, "first", oldKey.ID()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := b.ExecContext(ctx, retire, oldKey.ID()); done <- err }()
	waitForLock(t, db.DB, bpid)
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
	waitForLock(t, db.DB, apid)
	if _, err := b.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; code(err) != "SC006" {
		t.Fatalf("the key stored while the retirement was open: %v, want SC006", err)
	}
}
