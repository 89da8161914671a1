package secrets_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Postgres tests read DATABASE_URL (scripts/test sets it). Without it they
// skip, unless CI is set: a CI run must never skip them.
func pgURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but DATABASE_URL is empty: the Postgres tests must run in CI (use scripts/test)")
		}
		t.Skip("DATABASE_URL is not set; run scripts/test to start a local Postgres")
	}
	return u
}

// A pgPool is how a replica connects: a driver, and the pool's default
// isolation level.
type pgPool struct {
	driver    string // "postgres" (lib/pq) or "pgx" (pgx's stdlib)
	isolation string // "" for the server's default (READ COMMITTED)
	bouncer   bool   // through PgBouncer (DATABASE_URL_PGBOUNCER)
	params    string // more connection parameters, key=value&...
	user      string // connect as this role (with password) instead of DATABASE_URL's
	password  string
}

// pgPools are the pools every Postgres conformance and Manager test runs
// over: both drivers, and a pool whose default isolation is SERIALIZABLE.
var pgPools = []pgPool{{driver: "postgres"}, {driver: "pgx"}, {driver: "postgres", isolation: "serializable"}}

func (p pgPool) String() string {
	s := map[string]string{"postgres": "libpq", "pgx": "pgx"}[p.driver]
	if p.isolation != "" {
		s += "-" + p.isolation
	}
	if p.bouncer {
		s += "-pgbouncer"
	}
	if p.params != "" {
		s += "-" + p.params
	}
	if p.user != "" {
		s += "-as-" + p.user
	}
	return s
}

func (p pgPool) dsn(t testing.TB) string {
	u := pgURL(t)
	params := []string{p.params}
	if p.bouncer {
		u = pgBouncerURL(t)
	}
	if p.isolation != "" {
		params = append(params, "default_transaction_isolation="+p.isolation)
	}
	for _, q := range params {
		if q == "" {
			continue
		}
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + q
	}
	if p.user != "" {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatalf("DATABASE_URL is not a URL: %v", err)
		}
		parsed.User = url.UserPassword(p.user, p.password)
		u = parsed.String()
	}
	return u
}

// open returns a new pool of its own, as a replica has.
func (p pgPool) open(t testing.TB, maxConns int) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open(p.driver, p.dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(db); err != nil {
		db.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("Postgres unreachable in CI: %v", err)
		}
		t.Skipf("Postgres unreachable: %v", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	t.Cleanup(func() { db.Close() })
	return db
}

// ping runs a query: unlike db.Ping, queries are retried on a new
// connection when a pooled one died (a server restart, a killed backend).
func ping(db *sqlx.DB) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var one int
	return db.GetContext(ctx, &one, "SELECT 1")
}

var shared sync.Map // pgPool -> *sqlx.DB shared by the tests of this run

// db returns a pool of this kind shared by the tests of this run.
func (p pgPool) db(t testing.TB) *sqlx.DB {
	t.Helper()
	dsn := p.dsn(t)
	v, ok := shared.Load(p)
	if !ok {
		db, err := sqlx.Open(p.driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(12)
		db.SetMaxIdleConns(12)
		v, _ = shared.LoadOrStore(p, db)
	}
	db := v.(*sqlx.DB)
	if err := ping(db); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Postgres unreachable in CI: %v", err)
		}
		t.Skipf("Postgres unreachable: %v", err)
	}
	return db
}

// pgDB returns the default shared pool (lib/pq, READ COMMITTED).
func pgDB(t testing.TB) *sqlx.DB { return pgPools[0].db(t) }

func randomSchema(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newPGStore returns a migrated store in a schema of its own, dropped
// when the test ends.
func newPGStore(t testing.TB, db *sqlx.DB) *secrets.PostgresStore {
	t.Helper()
	s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: randomSchema("t_")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	t.Cleanup(func() { s.Close(); dropSchema(t, db, s.Schema()) })
	return s
}

// sameSchema returns another store (another replica) over db for the
// schema of s.
func sameSchema(t testing.TB, db *sqlx.DB, s *secrets.PostgresStore) *secrets.PostgresStore {
	t.Helper()
	r, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: s.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func dropSchema(t testing.TB, db *sqlx.DB, schema string) {
	if _, err := db.Exec("DROP SCHEMA IF EXISTS " + pq.QuoteIdentifier(schema) + " CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}

// blockedBackend returns the one backend whose query contains marker and
// waits for a lock.
func blockedBackend(t *testing.T, db *sqlx.DB, marker string) (int, bool) {
	t.Helper()
	var pids []int
	err := db.Select(&pids, `SELECT pid FROM pg_stat_activity
		WHERE query LIKE '%' || $1 || '%' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, marker)
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != 1 {
		return 0, false
	}
	return pids[0], true
}

// openDSN returns a new pool of this driver onto dsn.
func (p pgPool) openDSN(t testing.TB, dsn string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open(p.driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// schemaExec returns a function that runs a statement on db with "S."
// standing for schema (quoted), as someone with write access to the
// database would; a failure fails the test.
func schemaExec(t testing.TB, db *sqlx.DB, schema string) func(q string) {
	sch := pq.QuoteIdentifier(schema)
	return func(q string) {
		t.Helper()
		if _, err := db.Exec(strings.ReplaceAll(q, "S.", sch+".")); err != nil {
			t.Error(err)
		}
	}
}
