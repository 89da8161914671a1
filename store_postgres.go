package secrets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3/database"
)

var (
	_ DueStore         = (*PostgresStore)(nil)
	_ RotationStore    = (*PostgresStore)(nil)
	_ MasterKeyRetirer = (*PostgresStore)(nil)
	_ WorkspaceDeleter = (*PostgresStore)(nil)
	_ Purger           = (*PostgresStore)(nil)
	_ FingerprintStore = (*PostgresStore)(nil)
	_ LedgerStore      = (*PostgresStore)(nil)
)

// A PostgresStore is a Store in a Postgres database, in tables of its own
// schema. The host passes its own connection pool, opened with the
// "postgres" driver of github.com/lib/pq or the "pgx" driver of
// github.com/jackc/pgx/v5/stdlib (the host imports the driver), and calls
// Migrate once at start-up, from any number of replicas.
//
// Every write is one statement (a stored function) that takes a
// transaction-scoped advisory lock on its workspace, so writes to one
// workspace are serialized in the database and every condition holds
// across any number of processes; reads are single statements and see one
// snapshot. Writes run in READ COMMITTED transactions of the store's own
// (each statement after the lock must see what committed before it),
// whatever the pool's default isolation, and never on the pool, where
// database/sql may send a statement twice (see write).
// Serialization failures and deadlocks are retried inside the store.
// Errors never contain the connection string or credentials, whatever the
// password holds: driver errors are mapped to this package's errors or
// described in its own words, with the SQLSTATE when the server gave one
// (such as "postgres: look up A: the database refused the password
// (SQLSTATE 28P01)"); no text of the driver is kept, since it may quote
// the connection string or a piece of it, and of the server's only its
// message about a statement it refused (such as a violated constraint).
//
// A job's read is one call of a function of the schema (migration 6),
// which the server keeps planned for the connection's life. Over lib/pq,
// without PostgresConfig.PreparedStatements, reads and the inserts of
// audit events go as simple queries, their arguments written into the
// text as literals: one round trip, where lib/pq's unnamed statement with
// arguments takes two. Writes of secrets and keys go with parameters.
//
// Behind a pooler in transaction mode (PgBouncer's pool_mode =
// transaction), the host adds binary_parameters=yes (lib/pq) or
// default_query_exec_mode=exec (pgx) to its connection string and leaves
// PostgresConfig.PreparedStatements off: then no statement, lock or
// setting outlives its transaction.
type PostgresStore struct {
	db     *sqlx.DB
	schema string // validated, unquoted
	q      pgQueries

	// prepare: PostgresConfig.PreparedStatements.
	prepare bool
	// inline: the pool's driver is lib/pq and prepare is off, so reads
	// and event inserts run as simple queries, their arguments written as
	// literals (pgschema.Inline): one round trip instead of two (see run).
	inline bool
	// sizes holds, for each workspace by a hash of its name (two may
	// share a slot), how many secrets its last read returned: the next
	// read's capacity, and past bigRead, that it goes with parameters. A
	// hint only: a shared slot makes a read slower, never different.
	sizes [256]atomic.Int32

	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt // the hot statements, prepared on first use when prepare
}

// PostgresConfig configures a PostgresStore. A nil *PostgresConfig means
// the defaults.
type PostgresConfig struct {
	// Schema holds the store's tables, so they never clash with the
	// host's. A lower-case SQL identifier: [a-z_][a-z0-9_]*, at most 63
	// bytes. Default "secrets".
	Schema string
	// PreparedStatements keeps the statements of the hot paths (EnvFor's
	// read, a write, Get, List) prepared on each connection of the pool
	// for the store's life, as named statements, until Close. Leave it
	// off behind a connection pooler in transaction mode (PgBouncer's
	// pool_mode = transaction, and most hosted Postgres poolers): a named
	// statement outlives the transaction it was prepared in there, and
	// calls fail with "prepared statement ... does not exist" or "already
	// exists". Off (the default), every statement is a plain query with
	// arguments, the driver's unnamed statement, which leaves nothing on
	// the connection (over lib/pq, reads go as simple queries: see
	// PostgresStore). With lib/pq on a direct connection, on the author's
	// machine, it made EnvFor of 100 secrets 1.09–1.12–1.15 times faster
	// (writes, which run in transactions, gain little); with pgx it
	// changed nothing measurable (pgx's own statement cache does the
	// same). See BenchmarkStatementModes.
	PreparedStatements bool
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// NewPostgresStore returns a store that uses db. It does not touch the
// database; call Migrate before first use.
func NewPostgresStore(db *sqlx.DB, cfg *PostgresConfig) (*PostgresStore, error) {
	if db == nil {
		return nil, errors.New("secrets: NewPostgresStore needs a database")
	}
	schema := "secrets"
	if cfg != nil && cfg.Schema != "" {
		schema = cfg.Schema
	}
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("secrets: schema name %q is not a lower-case SQL identifier", schema)
	}
	q, _, err := newPGQueries(pq.QuoteIdentifier(schema))
	if err != nil { // a bug of the library's own, found by its tests
		return nil, fmt.Errorf("secrets: the Postgres store's queries: %w", err)
	}
	s := &PostgresStore{db: db, schema: schema, q: q}
	if cfg != nil {
		s.prepare = cfg.PreparedStatements
	}
	_, libpq := db.Driver().(*pq.Driver)
	s.inline = libpq && !s.prepare
	return s, nil
}

// Format prints the schema only: never the connection or stored bytes.
func (s *PostgresStore) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "secrets.PostgresStore(%s)", s.schema)
}

// stmt returns the prepared statement for query. It prepares it without
// holding s.mu, which a write transaction takes while it holds a
// connection (see prepared): preparing under it waited for a connection
// of a full pool whose holders waited for s.mu (a trial: every call of a
// replica hung). Two callers may prepare the same query at once; the
// second closes its own.
func (s *PostgresStore) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.mu.Lock()
	st, ok := s.stmts[query]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if had, ok := s.stmts[query]; ok {
		st.Close()
		return had, nil
	}
	if s.stmts == nil {
		s.stmts = map[string]*sqlx.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// hot runs a statement of a hot path on the pool (a read, which may
// record an event: see run) and hands its rows to fn, which reads them
// (rows.Next, rows.Scan) and returns rows.Err().
func (s *PostgresStore) hot(ctx context.Context, query string, args []any, inline bool, fn func(*sql.Rows) error) error {
	if !s.prepare {
		return s.run(ctx, s.db, query, args, inline, fn)
	}
	st, err := s.stmt(ctx, query)
	if err != nil {
		return err
	}
	rows, err := onFresh(ctx, func() (*sql.Rows, error) { return st.QueryContext(ctx, args...) })
	if err != nil {
		return err
	}
	return readRows(rows, fn)
}

// onFresh calls f, a statement on the pool (never in a transaction) or
// a BEGIN, again on another connection while it fails before its first row
// because its connection was lost or ended by the server (staleConn), up to
// maxStaleConns times, as long as ctx is live. database/sql does so only
// of a connection the driver calls bad, as lib/pq does one the server
// closed while it was idle; pgx returns the server's notice (57P01) of
// such a connection once for each of them (a trial: after a failover,
// reads and writes over pgx failed where lib/pq's ran). A lost
// connection rolls back a statement that had not committed; one lost
// after the server committed it is sent again, which the store allows
// only of reads and events (see run).
func onFresh[T any](ctx context.Context, f func() (T, error)) (T, error) {
	for try := 1; ; try++ {
		v, err := f()
		if err == nil || !staleConn(err) || ctx.Err() != nil || try == maxStaleConns {
			return v, err
		}
	}
}

// maxStaleConns bounds the tries of a statement whose connection was lost
// before it ran: each takes another connection of the pool, whose idle
// ones a server restart or failover closes all at once.
const maxStaleConns = 8

// prepared runs query in tx, as the statement prepared on the pool
// (PostgresConfig.PreparedStatements) if write prepared it, else as it
// is, and hands its rows to fn.
func (s *PostgresStore) prepared(ctx context.Context, tx *sqlx.Tx, query string, args []any, fn func(*sql.Rows) error) error {
	s.mu.Lock()
	st := s.stmts[query]
	s.mu.Unlock()
	if st == nil {
		return runQuery(ctx, tx, query, args, fn)
	}
	rows, err := tx.StmtxContext(ctx, st).QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	return readRows(rows, fn)
}

// hotQ is hot for a statement of queries.sql, its arguments by name.
func (s *PostgresStore) hotQ(ctx context.Context, q *pgschema.Query, p pgParams, fn func(*sql.Rows) error) error {
	args, err := q.Args(p)
	if err != nil {
		return err
	}
	return s.hot(ctx, q.SQL, args, s.inline, fn)
}

// run is runQuery for a statement that only reads, or records an event:
// over lib/pq without prepared statements it runs query as a simple
// query, args written into it as literals (pgschema.Inline). Arguments
// Inline does not write go to the driver as parameters, as they always
// have. With inline false (Env's read of a big workspace, see
// bigRead) it runs query with its parameters.
//
// A simple query sent on a connection the server has already closed
// (after a restart or a failover) can fail with the network's error, a
// connection reset, which database/sql does not retry; lib/pq's unnamed
// statement learns of the closed connection from the server's answer to
// its first message, before anything runs, and has database/sql retry on
// another connection (TestPostgresRestart fails without what follows).
// So a simple query on the pool whose connection was lost before it
// returned a row runs again with its parameters (in a transaction it
// cannot: the transaction is lost with its connection). The store sends no write here, so it
// never sends a write again; it can send an event again (see onFresh), and
// when the connection broke after the server had committed it, a job or
// reveal is recorded more than once: never unrecorded.
func (s *PostgresStore) run(ctx context.Context, q sqlx.QueryerContext, query string, args []any, inline bool, fn func(*sql.Rows) error) error {
	onPool := q == sqlx.QueryerContext(s.db)
	text, err := "", pgschema.ErrNotInlinable
	if inline && len(args) > 0 {
		text, err = pgschema.Inline(query, args)
	}
	switch {
	case errors.Is(err, pgschema.ErrNotInlinable) && onPool:
		rows, err := onFresh(ctx, func() (*sql.Rows, error) { return q.QueryContext(ctx, query, args...) })
		if err != nil {
			return err
		}
		return readRows(rows, fn)
	case errors.Is(err, pgschema.ErrNotInlinable):
		return runQuery(ctx, q, query, args, fn)
	case err != nil:
		return err // a statement of the library's own it cannot parse: a bug its tests find
	}
	rows, err := q.QueryContext(ctx, text)
	if err != nil && staleConn(err) && ctx.Err() == nil && onPool {
		rows, err = onFresh(ctx, func() (*sql.Rows, error) { return q.QueryContext(ctx, query, args...) })
	}
	if err != nil {
		return err
	}
	return readRows(rows, fn)
}

// row runs q with p on db as run does and scans its one row into dest.
func (s *PostgresStore) row(ctx context.Context, db sqlx.QueryerContext, q *pgschema.Query, p pgParams, dest ...any) error {
	args, err := q.Args(p)
	if err != nil {
		return err
	}
	return s.run(ctx, db, q.SQL, args, s.inline, func(rows *sql.Rows) error { return scanOne(rows, dest...) })
}

// runQuery runs query on q and hands its rows to fn.
func runQuery(ctx context.Context, q sqlx.QueryerContext, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	return readRows(rows, fn)
}

// readRows hands rows to fn and closes them.
func readRows(rows *sql.Rows, fn func(*sql.Rows) error) error {
	defer rows.Close()
	if err := fn(rows); err != nil {
		return err
	}
	return rows.Close()
}

// scanOne scans the one row of rows into dest: sql.ErrNoRows when there
// is none.
func scanOne(rows *sql.Rows, dest ...any) error {
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Err()
}

// Close releases the store's prepared statements (PostgresConfig.PreparedStatements). It does not close the
// host's database.
func (s *PostgresStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for q, st := range s.stmts {
		errs = append(errs, st.Close())
		delete(s.stmts, q)
	}
	return errors.Join(errs...)
}

// Schema returns the name of the store's schema.
func (s *PostgresStore) Schema() string { return s.schema }

// lockID is the advisory lock that serializes migrations of this schema,
// across every replica.
func (s *PostgresStore) lockID() int64 {
	h := fnv.New64a()
	h.Write([]byte("dataspace.secrets/migrate/" + s.schema))
	return int64(h.Sum64() >> 1)
}

// Migrate creates or upgrades the store's schema to the version this
// package needs. It is idempotent, and safe to call from several replicas
// at once. It first reads, with no privilege but the runtime role's of
// [PostgresGrants] (USAGE on the schema, SELECT on goose_db_version),
// whether every migration is recorded; if so it returns, changing
// nothing and taking no lock. Otherwise every migration still to apply,
// and the record of it, runs in one transaction that holds a
// transaction-scoped advisory lock, so the replicas take turns and no
// lock or setting outlives the transaction (it works through a pooler in
// transaction mode, such as PgBouncer). It waits for the advisory lock as
// long as ctx allows; for any other lock (a table a migration alters,
// which a long transaction may hold) at most 2 seconds an attempt, giving
// way to the replicas between attempts, and after 30 attempts it fails
// with [ErrDatabaseUnavailable], nothing changed. A role that may not migrate (the runtime role) gets
// [ErrMigratePrivilege], a [*MigratePrivilegeError] naming what it lacks,
// and nothing is changed. Versions are recorded in goose's format, in
// the table goose_db_version of the store's schema. Nothing outside the
// schema is touched.
func (s *PostgresStore) Migrate(ctx context.Context) error { return s.migrate(ctx, 0) }

// migrate applies the migrations up to version to (0: all of them). The
// upgrade tests stop at an earlier version to make the database that an
// earlier release left behind.
func (s *PostgresStore) migrate(ctx context.Context, to int64) error {
	quoted := pq.QuoteIdentifier(s.schema)
	steps, err := pgschema.Steps(quoted)
	if err != nil {
		return wrapf(err, "migrate")
	}
	var want int64
	for _, st := range steps {
		if to > 0 && st.Version > to {
			break
		}
		want = st.Version
	}
	versions, err := s.versionTable()
	if err != nil {
		return wrapf(err, "migrate")
	}
	// A schema that is current needs nothing: a migration commits its
	// changes and their records at once, so a replica that reads them all
	// recorded reads a schema that has them.
	var current bool
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		st, err := s.readSchemaState(ctx, tx, versions)
		current = st.current(want)
		return err
	})
	if err != nil || current {
		return pgErr(ctx, "migrate", err)
	}
	var role string
	var version int64
	// A migration that alters a table waits for every transaction that
	// holds a lock on it (a pg_dump, a long psql session), and the
	// replicas' statements queue behind that wait (an SRE trial: every
	// replica stalled as long as the reader ran). So each attempt waits
	// at most migrateLockWait for a lock, and gives way to the replicas
	// between attempts.
	for attempt := 1; ; attempt++ {
		err = s.migrateOnce(ctx, versions, steps, want, &role, &version)
		if sqlState(err) != "55P03" || attempt == migrateAttempts || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Duration(attempt)*500*time.Millisecond, 10*time.Second)):
		}
	}
	if sqlState(err) == "55P03" && ctx.Err() == nil {
		return errorf(ErrDatabaseUnavailable, "migrate: a transaction kept a lock a migration needs for %d attempts of %v "+
			"(a pg_dump, a long psql session?): nothing was changed; run it again once that ends (SQLSTATE 55P03)", migrateAttempts, migrateLockWait)
	}
	var pe *MigratePrivilegeError
	if errors.As(err, &pe) {
		return err
	}
	if code := sqlState(err); code == "42501" && ctx.Err() == nil {
		// A privilege that mayMigrate does not foresee; the transaction
		// rolled back.
		return &MigratePrivilegeError{Schema: s.schema, Role: role, Version: version, Want: want,
			Missing: "a privilege that a migration needs (SQLSTATE 42501)"}
	}
	return pgErr(ctx, "migrate", err)
}

// migrateLockWait bounds how long an attempt of Migrate waits for a lock
// (lock_timeout); migrateAttempts bounds the attempts (with pauses of half
// a second more each time, at most 10 s, about four minutes in all).
const (
	migrateLockWait = 2 * time.Second
	migrateAttempts = 30
)

// migrateOnce is an attempt of migrate: one transaction that applies the
// missing steps up to want, or changes nothing.
func (s *PostgresStore) migrateOnce(ctx context.Context, versions database.Store, steps []pgschema.Step, want int64, role *string, version *int64) error {
	quoted := pq.QuoteIdentifier(s.schema)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		// The lock earlier releases took as a session lock around goose's
		// runs: the same key, so old and new replicas take turns too.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockID()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", migrateLockWait.Milliseconds())); err != nil {
			return err
		}
		st, err := s.readSchemaState(ctx, tx, versions)
		*role, *version = st.role, st.version()
		if err != nil || st.current(want) { // another replica migrated meanwhile
			return err
		}
		if err := s.mayMigrate(ctx, tx, st, want); err != nil {
			return err
		}
		if !st.schema {
			if _, err := tx.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoted); err != nil {
				return err
			}
		}
		if !st.table {
			if err := versions.CreateVersionTable(ctx, tx); err != nil {
				return err
			}
			if err := versions.Insert(ctx, tx, database.InsertRequest{Version: 0}); err != nil {
				return err
			}
		}
		for _, step := range steps {
			if step.Version > want {
				break
			}
			if st.applied[step.Version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, step.SQL); err != nil {
				return fmt.Errorf("version %d: %w", step.Version, err)
			}
			if err := versions.Insert(ctx, tx, database.InsertRequest{Version: step.Version}); err != nil {
				return err
			}
		}
		return nil
	})
}

// maxTries bounds the attempts of a statement that fails with a
// serialization failure or a deadlock.
const maxTries = 8

// retry runs fn again when the database reports a serialization failure
// or a deadlock: the whole unit failed and changed nothing, and an editor
// must never see that as a conflict of their own.
func (s *PostgresStore) retry(ctx context.Context, fn func() error) error {
	var err error
	for try := 0; try < maxTries; try++ {
		if err = fn(); err == nil || !transient(err) {
			return err
		}
		t := time.NewTimer(time.Duration(try+1) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
	return err
}

// inTx runs fn in a READ COMMITTED transaction, whatever the pool's
// default isolation.
func (s *PostgresStore) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	_, err := s.tx(ctx, fn)
	return err
}

// beginError is an error of a transaction's BEGIN (see pgErr's 0A000).
type beginError struct{ err error }

func (e beginError) Error() string { return e.err.Error() }
func (e beginError) Unwrap() error { return e.err }

// A txStage is where a transaction of tx failed.
type txStage int

const (
	txBegin  txStage = iota // at BEGIN: nothing was sent of it
	txInside                // in fn, after BEGIN and before COMMIT: not committed
	txCommit                // at COMMIT, or after it (a nil error): maybe committed
)

// tx is inTx, and says where it ended: only a transaction whose error came
// from fn (txInside) is known not to be committed and may be run again on
// another connection (database/sql has already sent BEGIN again where it
// could); one that failed at COMMIT may have been committed.
func (s *PostgresStore) tx(ctx context.Context, fn func(tx *sqlx.Tx) error) (txStage, error) {
	// BEGIN, on a connection lost before it (see onFresh), is sent again.
	tx, err := onFresh(ctx, func() (*sqlx.Tx, error) {
		return s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	})
	if err != nil {
		return txBegin, beginError{err}
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return txInside, err
	}
	if err := ctx.Err(); err != nil {
		return txInside, err // COMMIT is not sent: database/sql rolls back
	}
	if err := tx.Commit(); errors.Is(err, sql.ErrTxDone) {
		return txInside, err // database/sql rolled back first: COMMIT was not sent
	} else if err != nil {
		return txCommit, err
	}
	return txCommit, nil
}
