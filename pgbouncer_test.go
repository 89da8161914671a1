package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// The PgBouncer tests read DATABASE_URL_PGBOUNCER: the test database
// through a PgBouncer in transaction pooling mode (scripts/pg-env.sh
// starts one). Without it they skip, unless CI is set.
func pgBouncerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL_PGBOUNCER")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but DATABASE_URL_PGBOUNCER is empty: the PgBouncer tests must run in CI (use scripts/test)")
		}
		t.Skip("DATABASE_URL_PGBOUNCER is not set; run scripts/test to start Postgres behind PgBouncer")
	}
	return u
}

// bouncerPools are the pools through PgBouncer in transaction pooling
// mode, each with the connection settings README's "Behind PgBouncer"
// asks the host for.
var bouncerPools = []pgPool{
	{driver: "postgres", bouncer: true, params: "binary_parameters=yes"},
	{driver: "pgx", bouncer: true, params: "default_query_exec_mode=exec"},
}

// TestPgBouncerPoolsTransactions checks the test setup itself: two
// statements of one client connection run on different server
// connections when another client holds the first one in a transaction.
// Without it, the PgBouncer tests could pass on a session pooler.
func TestPgBouncerPoolsTransactions(t *testing.T) {
	db := bouncerPools[0].open(t, 2)
	ctx := context.Background()
	c1, err := db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for range 20 {
		var first, held, next int
		if err := c1.GetContext(ctx, &first, "SELECT pg_backend_pid()"); err != nil {
			t.Fatal(err)
		}
		tx, err := c2.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.GetContext(ctx, &held, "SELECT pg_backend_pid()"); err != nil {
			t.Fatal(err)
		}
		if held != first {
			tx.Rollback()
			continue
		}
		err = c1.GetContext(ctx, &next, "SELECT pg_backend_pid()")
		tx.Rollback()
		if err != nil {
			t.Fatal(err)
		}
		if next == first {
			t.Fatalf("one client ran on server %d while another held it in a transaction", first)
		}
		return
	}
	t.Fatal("in 20 tries, another client's transaction never got the server connection a client had just used: not transaction pooling?")
}

// TestPostgresBehindPgBouncer: the store through PgBouncer in
// transaction pooling mode, over both drivers, does everything a busy
// host does without one error: Migrate from two replicas at once, 50
// Sets, 16 goroutines each doing 30 EnvFor and Set, a key rotation and a
// stale check-and-set (which must fail with ErrConflict and nothing
// else). Before the store stopped preparing named statements, this probe
// failed with hundreds of "prepared statement ... already exists" and
// "... does not exist" errors.
func TestPostgresBehindPgBouncer(t *testing.T) {
	for _, p := range bouncerPools {
		t.Run(p.String(), func(t *testing.T) {
			if errs := bouncerProbe(t, p); len(errs) > 0 {
				t.Fatalf("%d errors through PgBouncer, first: %v", len(errs), errs[0])
			}
		})
	}
}

// Without the connection settings the README asks for, the probe fails,
// and its errors say what to add (a trial got "database error (SQLSTATE
// 26000)" and no clue). lib/pq only: pgx's statement cache fails in the
// test's own check of the connection, before the store runs anything
// (TestPoolerHints covers its 42P05).
func TestPostgresBehindPgBouncerUnset(t *testing.T) {
	for _, p := range []pgPool{{driver: "postgres", bouncer: true}} {
		t.Run(p.String(), func(t *testing.T) {
			errs := bouncerProbe(t, p)
			if len(errs) == 0 {
				t.Fatal("no error through PgBouncer without the settings: the test cannot tell")
			}
			hinted := 0
			for _, err := range errs {
				if strings.Contains(err.Error(), "binary_parameters=yes (lib/pq) or default_query_exec_mode=exec (pgx)") {
					hinted++
				}
			}
			if hinted == 0 {
				t.Fatalf("%d errors, none says what to add; first: %v", len(errs), errs[0])
			}
		})
	}
}

// bouncerProbe runs the probe over a pool of kind p and returns its
// errors.
func bouncerProbe(t *testing.T, p pgPool) []error {
	ctx := context.Background()
	var (
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	schema := randomSchema("bouncer_")
	direct := pgDB(t)
	t.Cleanup(func() { dropSchema(t, direct, schema) })
	var stores [2]*secrets.PostgresStore
	var wg sync.WaitGroup
	for i := range stores {
		s, err := secrets.NewPostgresStore(p.open(t, 16), &secrets.PostgresConfig{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Migrate(ctx); err != nil {
				fail(fmt.Errorf("Migrate: %w", err))
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs
	}
	c := newCipher(t)
	m := newManager(t, stores[0], c, nil)
	replica := newManager(t, stores[1], c, nil)
	for i := range 50 {
		if _, err := m.Set(ctx, fmt.Sprint("ws-", i%4), fmt.Sprintf("SECRET_%02d", i), []byte(fmt.Sprint("value-", i)), nil); err != nil {
			fail(fmt.Errorf("Set: %w", err))
		}
	}
	// A workspace past 400 secrets, whose reads after the first go with
	// parameters over lib/pq (see TestPostgresBigReadUsesParameters): in
	// two round trips, between which a pooler may hand the connection
	// to another client unless binary_parameters=yes. (Writes, in
	// transactions, and the other reads, simple queries, never split.)
	var big strings.Builder
	for i := range 450 {
		fmt.Fprintf(&big, "BIG_%03d=value-%d\n", i, i)
	}
	if _, err := m.Import(ctx, "ws-big", []byte(big.String()), nil); err != nil {
		fail(fmt.Errorf("Import: %w", err))
	}
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mg := []*secrets.Manager{m, replica}[g%2]
			ws := fmt.Sprint("ws-", g%4)
			for i := range 30 {
				if _, err := mg.EnvFor(ctx, ws); err != nil {
					fail(fmt.Errorf("EnvFor: %w", err))
				}
				if i < 4 {
					if _, err := mg.EnvFor(ctx, "ws-big"); err != nil {
						fail(fmt.Errorf("EnvFor of 450: %w", err))
					}
				}
				if _, err := mg.Set(ctx, ws, fmt.Sprintf("G%02d", g), []byte(fmt.Sprint("g-", g, "-", i)), nil); err != nil {
					fail(fmt.Errorf("Set: %w", err))
				}
			}
		}()
	}
	wg.Wait()
	if _, err := replica.RotateKey(ctx, "ws-0", nil); err != nil {
		fail(fmt.Errorf("RotateKey: %w", err))
	}
	env, err := m.EnvFor(ctx, "ws-0")
	if err != nil {
		fail(fmt.Errorf("EnvFor after the rotation: %w", err))
	} else if len(env) != 13+4 || !strings.HasPrefix(env[0], "G00=g-0-29") {
		fail(fmt.Errorf("EnvFor after the rotation: %d variables, first %.12q", len(env), env[0]))
	}
	cur, err := m.Get(ctx, "ws-1", "SECRET_01")
	if err != nil {
		fail(fmt.Errorf("Get: %w", err))
	} else {
		if _, err := replica.Set(ctx, "ws-1", "SECRET_01", []byte("newer"), &secrets.SetOptions{IfRevision: cur.Revision}); err != nil {
			fail(fmt.Errorf("Set: %w", err))
		}
		if _, err := m.Set(ctx, "ws-1", "SECRET_01", []byte("stale"), &secrets.SetOptions{IfRevision: cur.Revision}); !errors.Is(err, secrets.ErrConflict) {
			fail(fmt.Errorf("stale Set: %v, want ErrConflict", err))
		}
	}
	return errs
}

// TestPostgresPreparedStatements: by default the store leaves no named
// prepared statement on a connection; with PreparedStatements it keeps
// its hot statements prepared there, and Close releases them.
func TestPostgresPreparedStatements(t *testing.T) {
	for _, p := range []pgPool{{driver: "postgres"}, {driver: "postgres", params: "binary_parameters=yes"}, {driver: "pgx", params: "default_query_exec_mode=exec"}} {
		t.Run(p.String(), func(t *testing.T) {
			db := p.open(t, 1) // one connection: the counts below are its own
			ctx := context.Background()
			named := func() int {
				t.Helper()
				var n int
				if err := db.GetContext(ctx, &n, "SELECT count(*) FROM pg_prepared_statements WHERE $1", true); err != nil {
					t.Fatal(err)
				}
				return n
			}
			s := newPGStore(t, db)
			c := newCipher(t)
			use := func(s *secrets.PostgresStore) {
				t.Helper()
				m := newManager(t, s, c, nil)
				mustSet(t, m, "ws", "TOKEN", "v1")
				mustSet(t, m, "ws", "TOKEN", "v2")
				if _, err := m.EnvFor(ctx, "ws"); err != nil {
					t.Fatal(err)
				}
				if _, err := m.List(ctx, "ws", nil); err != nil {
					t.Fatal(err)
				}
			}
			use(s)
			if n := named(); n != 0 {
				t.Fatalf("%d named prepared statements on the connection by default", n)
			}
			prepared, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: s.Schema(), PreparedStatements: true})
			if err != nil {
				t.Fatal(err)
			}
			use(prepared)
			if n := named(); n < 3 {
				t.Fatalf("%d named prepared statements with PreparedStatements, want the hot paths' (3 or more)", n)
			}
			if err := prepared.Close(); err != nil {
				t.Fatal(err)
			}
			if n := named(); n != 0 {
				t.Fatalf("%d named prepared statements left after Close", n)
			}
		})
	}
}
