package secrets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sync"
	"time"

	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

var (
	_ DueStore         = (*PostgresStore)(nil)
	_ RotationStore    = (*PostgresStore)(nil)
	_ WorkspaceDeleter = (*PostgresStore)(nil)
	_ Purger           = (*PostgresStore)(nil)
	_ FingerprintStore = (*PostgresStore)(nil)
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
// snapshot. Writes need READ COMMITTED (each statement after the lock must
// see what committed before it): on a pool whose default isolation is
// stricter, the store runs them in READ COMMITTED transactions of its own.
// Serialization failures and deadlocks are retried inside the store.
// Errors never contain the connection string or credentials, whatever the
// password holds: driver errors are mapped to this package's errors or
// described in its own words, with the SQLSTATE when the server gave one
// (such as "postgres: look up A: the database refused the password
// (SQLSTATE 28P01)"); no text of the driver is kept, since it may quote
// the connection string or a piece of it, and of the server's only its
// message about a statement it refused (such as a violated constraint).
type PostgresStore struct {
	db     *sqlx.DB
	schema string // validated, unquoted
	q      pgQueries

	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt // the hot statements, prepared on first use
	// ownTx: the pool's default isolation is not READ COMMITTED, so
	// single writes run in transactions of the store's own.
	ownTx bool
}

// PostgresConfig configures a PostgresStore. A nil *PostgresConfig means
// the defaults.
type PostgresConfig struct {
	// Schema holds the store's tables, so they never clash with the
	// host's. A lower-case SQL identifier: [a-z_][a-z0-9_]*, at most 63
	// bytes. Default "secrets".
	Schema string
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
	return &PostgresStore{db: db, schema: schema, q: newPGQueries(pq.QuoteIdentifier(schema))}, nil
}

// Format prints the schema only: never the connection or stored bytes.
func (s *PostgresStore) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "secrets.PostgresStore(%s)", s.schema)
}

// stmt returns the prepared statement for query. Prepared statements save
// lib/pq's separate parse round trip on every call of a hot path.
func (s *PostgresStore) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sqlx.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// Close releases the store's prepared statements. It does not close the
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
// at once: they take turns on a Postgres advisory lock (held by one pooled
// connection while migrations run). Versions are recorded by goose in the
// table goose_db_version of the store's schema. Nothing outside the schema
// is touched.
func (s *PostgresStore) Migrate(ctx context.Context) error {
	quoted := pq.QuoteIdentifier(s.schema)
	// The schema must exist before goose creates its version table in it.
	// CREATE SCHEMA IF NOT EXISTS races with itself, so take the lock.
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockID()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoted)
		return err
	})
	if err != nil {
		return pgErr(ctx, "migrate", err)
	}
	steps, err := pgschema.Steps(quoted)
	if err != nil {
		return wrapf(err, "migrate")
	}
	migrations := make([]*goose.Migration, len(steps))
	for i, st := range steps {
		sqlText := st.SQL
		migrations[i] = goose.NewGoMigration(st.Version, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, sqlText)
			return err
		}}, nil)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(s.lockID()), lock.WithLockTimeout(1, 300))
	if err != nil {
		return wrapf(err, "migrate")
	}
	versions, err := database.NewStore(database.DialectPostgres, s.schema+".goose_db_version")
	if err != nil {
		return wrapf(err, "migrate")
	}
	p, err := goose.NewProvider("", s.db.DB, nil,
		goose.WithStore(versions),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(migrations...),
	)
	if err != nil {
		return wrapf(err, "migrate")
	}
	// p.Close would close the host's pool: never call it.
	if _, err := p.Up(ctx); err != nil {
		return pgErr(ctx, "migrate", err)
	}
	return nil
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
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
