package secrets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// holdWorkspace takes the write lock of workspace ws of s's schema in a
// transaction of admin's, released when the test ends or by the returned
// function, and waits until a write of the workspace is blocked on it:
// it returns that backend's pid.
func holdWorkspace(t *testing.T, admin *sqlx.DB, s *secrets.PostgresStore, ws string, start func()) (pid int, release func()) {
	t.Helper()
	lock, err := admin.BeginTxx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Rollback() })
	if _, err := lock.Exec(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, pq.QuoteIdentifier(s.Schema()), ws); err != nil {
		t.Fatal(err)
	}
	start()
	waitFor(t, "the write to wait for the workspace's lock", func() bool {
		pid, _ = blockedBackend(t, admin, "put_secret")
		return pid != 0
	})
	return pid, func() { lock.Rollback() }
}

// TestPostgresWriteRunAgainAfterTerminate: a write whose backend the
// server terminates before its COMMIT (pg_terminate_backend, as a DBA or
// a failover tool does) was rolled back, and the store runs it again on
// another connection, over both drivers: pgx reports the termination as
// SQLSTATE 57P01 where lib/pq calls the connection bad (a trial: on pgx
// the write failed with ErrDatabaseUnavailable, "may have been
// committed", although nothing was).
func TestPostgresWriteRunAgainAfterTerminate(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			ctx := context.Background()
			admin := pgDB(t)
			s := newPGStore(t, p.open(t, 4))
			m := newManager(t, s, newCipher(t), nil)
			mustSet(t, m, "ws", "TOKEN", "terminate-before")
			done := make(chan error, 1)
			pid, release := holdWorkspace(t, admin, s, "ws", func() {
				go func() {
					_, err := m.Set(ctx, "ws", "TOKEN", []byte("terminate-after"), nil)
					done <- err
				}()
			})
			if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
				t.Fatal(err)
			}
			// The write runs again on another connection, which waits for
			// the lock as the first did.
			waitFor(t, "the write to run again", func() bool {
				again, _ := blockedBackend(t, admin, "put_secret")
				return again != 0 && again != pid
			})
			release()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Set: %v, want it run again", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Set did not return")
			}
			if vs, err := m.Versions(ctx, "ws", "TOKEN"); err != nil || len(vs) != 2 {
				t.Errorf("%d versions, %v: want the write made once", len(vs), err)
			}
		})
	}
}

// TestPostgresStatementTimeout: a write that the server cancels at its
// statement_timeout is ErrDatabaseUnavailable (the database could not
// serve it: try again), and nothing of it is written.
func TestPostgresStatementTimeout(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			ctx := context.Background()
			admin := pgDB(t)
			s := newPGStore(t, p.open(t, 4))
			c := newCipher(t)
			m := newManager(t, s, c, nil)
			mustSet(t, m, "ws", "TOKEN", "timeout-before")
			p.params = "statement_timeout=200"
			timed := newManager(t, sameSchema(t, p.open(t, 2), s), c, nil)
			done := make(chan error, 1)
			holdWorkspace(t, admin, s, "ws", func() {
				go func() {
					_, err := timed.Set(ctx, "ws", "TOKEN", []byte("timeout-after"), nil)
					done <- err
				}()
			})
			select {
			case err := <-done:
				if !errors.Is(err, secrets.ErrDatabaseUnavailable) {
					t.Errorf("Set cancelled by statement_timeout: %v, want ErrDatabaseUnavailable", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Set did not return")
			}
			if vs, err := m.Versions(ctx, "ws", "TOKEN"); err != nil || len(vs) != 1 {
				t.Errorf("%d versions, %v: want nothing written", len(vs), err)
			}
		})
	}
}
