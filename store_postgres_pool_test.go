package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// TestPostgresPreparedNoDeadlock: with PreparedStatements, a replica's
// first read of a kind prepares its statement while a write transaction
// holds the last connection of the pool and is about to run its own
// prepared statement. Preparing held the store's lock while it waited for
// a connection, which the write, waiting for that lock, never gave back
// (a trial: every call of the replica hung until its deadline).
func TestPostgresPreparedNoDeadlock(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			admin := pgDB(t)
			db := p.open(t, 2)
			s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: randomSchema("t_"), PreparedStatements: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close(); dropSchema(t, admin, s.Schema()) })
			m := newManager(t, s, newCipher(t), nil)
			mustSet(t, m, "ws", "A", "a-value") // the writes' statements are prepared
			// The workspace's write lock, held elsewhere, stops inside
			// its transaction, which holds a connection, a Set whose value
			// references another (it is written on condition that the
			// workspace has not changed since its references were read),
			// before its prepared statement.
			lock, err := admin.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Rollback()
			if _, err := lock.Exec(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, `"`+s.Schema()+`"`, "ws"); err != nil {
				t.Fatal(err)
			}
			held, err := db.Conn(ctx) // the pool's other connection
			if err != nil {
				t.Fatal(err)
			}
			applied := make(chan error, 1)
			go func() {
				_, err := m.Set(ctx, "ws", "B", []byte("b-${A}"), &secrets.SetOptions{Info: &secrets.Info{Expand: true}})
				applied <- err
			}()
			waitFor(t, "the Set to wait for the workspace's lock", func() bool {
				var n int
				admin.Get(&n, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)
				return n > 0
			})
			// The job's statement is not prepared yet (the Set read
			// without an event): preparing it waits for a connection.
			waits := db.Stats().WaitCount
			read := make(chan error, 1)
			go func() { _, err := m.EnvFor(ctx, "ws"); read <- err }()
			waitFor(t, "the read to wait for a connection", func() bool { return db.Stats().WaitCount > waits })
			lock.Rollback() // the Set goes on, and gives its connection back
			if err := <-applied; err != nil {
				t.Fatalf("Set: %v", err)
			}
			if err := <-read; err != nil {
				t.Fatalf("EnvFor: %v", err)
			}
			held.Close()
		})
	}
}

// TestPostgresIdleConnectionsKilled: after the server ended every idle
// connection of a replica's pool (a failover, a restart,
// idle_session_timeout, pg_terminate_backend), its next calls run on new
// ones, over either driver. database/sql tries another connection only
// when the driver calls one bad, as lib/pq does; pgx returned the
// server's notice (57P01) on each stale connection, and writes failed at
// BEGIN and reads at their statement (a trial).
func TestPostgresIdleConnectionsKilled(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			admin := pgDB(t)
			db := p.open(t, 4)
			s := newPGStore(t, db)
			m := newManager(t, s, newCipher(t), nil)
			ctx := context.Background()
			mustSet(t, m, "ws", "A", "a-value")
			for round := range 2 {
				// Four connections at once, so that the pool keeps four
				// idle; each says which backend it is.
				conns := make([]*sqlx.Conn, 4)
				pids := make([]int, 4)
				for i := range conns {
					// The last round's stale connections fail first.
					for try := 0; conns[i] == nil; try++ {
						c, err := db.Connx(ctx)
						if err != nil {
							t.Fatal(err)
						}
						if err := c.GetContext(ctx, &pids[i], `SELECT pg_backend_pid()`); err != nil {
							c.Close()
							if try == 8 {
								t.Fatal(err)
							}
							continue
						}
						conns[i] = c
					}
				}
				for _, c := range conns {
					c.Close()
				}
				// Within a second of their last use: pgx checks an idle
				// connection (a ping) only past that.
				if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid`, pq.Array(pids)); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the backends to end", func() bool {
					var n int
					admin.Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)`, pq.Array(pids))
					return n == 0
				})
				for i := range 6 {
					var err error
					switch i % 3 {
					case 0:
						_, err = m.Set(ctx, "ws", "A", []byte(fmt.Sprintf("a-%d-%d", round, i)), nil)
					case 1:
						_, err = m.EnvFor(ctx, "ws")
					case 2:
						_, err = m.Get(ctx, "ws", "A")
					}
					if err != nil {
						t.Fatalf("round %d, call %d after the pool's connections were ended: %v", round, i, err)
					}
				}
			}
		})
	}
}

// TestPostgresStandbyWritesUnavailable: a write sent to a standby (a
// primary demoted in a failover, a DSN that names the wrong server) is
// ErrDatabaseUnavailable over both drivers, which a host retries. lib/pq
// begins its transactions READ WRITE, which a standby refuses as a
// feature not supported (0A000), not as read-only (25006) as pgx meets it
// (a trial).
func TestPostgresStandbyWritesUnavailable(t *testing.T) {
	t.Parallel()
	primary := newCrashCluster(t, "-c wal_level=replica")
	ctx := context.Background()
	pdb, ps := primary.open(t, "postgres", "")
	_ = pdb
	cipher := newCipher(t)
	mustSet(t, newManager(t, ps, cipher, nil), "ws", "A", "a-value")
	standby := primary.standby(t, "unavailable_standby")
	for _, driver := range []string{"postgres", "pgx"} {
		t.Run(driver, func(t *testing.T) {
			db, err := sqlx.Open(driver, standby.dsn())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			s, err := secrets.NewPostgresStore(db, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := newManager(t, s, cipher, &secrets.Config{AuditReads: secrets.AuditWritesOnly})
			if got := envMap(t, m, "ws")["A"]; got != "a-value" {
				t.Fatalf("the standby's copy: A=%q", got)
			}
			for what, call := range map[string]func() error{
				"Set": func() error { _, err := m.Set(ctx, "ws", "A", []byte("new"), nil); return err },
				"Import": func() error {
					_, err := m.Import(ctx, "ws", []byte("B=b-value\n"), nil)
					return err
				},
				"RotateKey": func() error { _, err := m.RotateKey(ctx, "ws", nil); return err },
			} {
				err := call()
				if !errors.Is(err, secrets.ErrDatabaseUnavailable) {
					t.Errorf("%s on a standby: %v, want ErrDatabaseUnavailable", what, err)
				} else if !strings.Contains(err.Error(), "read-only") {
					t.Errorf("%s on a standby: %q does not say read-only", what, err)
				}
			}
		})
	}
}

// TestPostgresClosedPool: a call after the host closed its sql.DB (at
// shutdown) says so, and is not ErrDatabaseUnavailable: trying again does
// not mend it. It said "the database driver failed (*errors.errorString)".
func TestPostgresClosedPool(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			admin := pgDB(t)
			db := p.open(t, 2)
			s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: randomSchema("t_")})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dropSchema(t, admin, s.Schema()) })
			m := newManager(t, s, newCipher(t), nil)
			mustSet(t, m, "ws", "A", "a-value")
			db.Close()
			_, err = m.Set(context.Background(), "ws", "A", []byte("new"), nil)
			if err == nil || errors.Is(err, secrets.ErrDatabaseUnavailable) || !strings.Contains(err.Error(), "closed the database pool") {
				t.Fatalf("Set after the pool was closed: %v", err)
			}
		})
	}
}

// TestPostgresFrozenDatabaseRefusesWrites: a database an operator froze
// with default_transaction_read_only (a cutover, a full disk) refuses the
// store's writes over both drivers as ErrDatabaseUnavailable, and nothing
// changes. lib/pq begins its transactions READ WRITE, which overrides the
// default: its writes went through where pgx's were refused (a trial).
func TestPostgresFrozenDatabaseRefusesWrites(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			admin := pgDB(t)
			s := newPGStore(t, admin)
			c := newCipher(t)
			writer := newManager(t, s, c, nil)
			mustSet(t, writer, "ws", "A", "a-value")
			p.params = "default_transaction_read_only=on"
			frozen := p.open(t, 2)
			fs, err := secrets.NewPostgresStore(frozen, &secrets.PostgresConfig{Schema: s.Schema()})
			if err != nil {
				t.Fatal(err)
			}
			m := newManager(t, fs, c, &secrets.Config{AuditReads: secrets.AuditWritesOnly})
			ctx := context.Background()
			for what, call := range map[string]func() error{
				"Set":       func() error { _, err := m.Set(ctx, "ws", "A", []byte("new"), nil); return err },
				"Set new":   func() error { _, err := m.Set(ctx, "ws", "B", []byte("b"), nil); return err },
				"Import":    func() error { _, err := m.Import(ctx, "ws", []byte("C=c-value\nD=d-value\n"), nil); return err },
				"RotateKey": func() error { _, err := m.RotateKey(ctx, "ws", nil); return err },
				"Delete":    func() error { _, err := m.Delete(ctx, "ws", "A", nil); return err },
			} {
				if err := call(); !errors.Is(err, secrets.ErrDatabaseUnavailable) || !strings.Contains(err.Error(), "read-only") {
					t.Errorf("%s on a frozen database: %v, want ErrDatabaseUnavailable saying read-only", what, err)
				}
			}
			if got := envMap(t, writer, "ws"); len(got) != 1 || got["A"] != "a-value" {
				t.Errorf("after the refused writes: %v", got)
			}
		})
	}
}

// TestPostgresReadRunAgainAfterTerminate: a job's read whose backend the
// server ends while it waits (pg_terminate_backend, a failover) runs again
// on another connection, over either driver: nothing of it was committed.
// pgx returned the server's notice (57P01), where lib/pq's connection
// failed as bad and database/sql sent it again (a trial).
func TestPostgresReadRunAgainAfterTerminate(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			admin := pgDB(t)
			db := p.open(t, 4)
			s := newPGStore(t, db)
			m := newManager(t, s, newCipher(t), nil)
			ctx := context.Background()
			mustSet(t, m, "ws", "A", "a-value")
			lock, err := admin.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Rollback()
			if _, err := lock.Exec(`LOCK TABLE "` + s.Schema() + `".secrets IN ACCESS EXCLUSIVE MODE`); err != nil {
				t.Fatal(err)
			}
			read := make(chan error, 1)
			go func() { _, err := m.EnvFor(ctx, "ws"); read <- err }()
			var pid int
			waitFor(t, "the read to wait for the lock", func() bool {
				return admin.Get(&pid, `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%env_audited%'`) == nil
			})
			if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
				t.Fatal(err)
			}
			// The read runs again, and waits for the lock again.
			waitFor(t, "the read to run again", func() bool {
				var again int
				return admin.Get(&again, `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%env_audited%'`) == nil && again != pid
			})
			lock.Rollback()
			if err := <-read; err != nil {
				t.Fatalf("EnvFor whose backend was terminated: %v", err)
			}
			evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject})
			if err != nil || len(evs) != 1 {
				t.Fatalf("inject events: %d, %v; want 1", len(evs), err)
			}
		})
	}
}
