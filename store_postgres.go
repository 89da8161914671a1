package secrets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
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
	_ EnvStore         = (*PostgresStore)(nil)
	_ RotationStore    = (*PostgresStore)(nil)
	_ WorkspaceDeleter = (*PostgresStore)(nil)
)

// A PostgresStore is a Store in a Postgres database, in tables of its own
// schema. The host passes its own connection pool (opened with the
// "postgres" driver of github.com/lib/pq, which the host imports) and
// calls Migrate once at start-up, from any number of replicas.
//
// Every write is one statement (a stored function) that locks the
// workspace's row, so writes to one workspace are serialized in the
// database and check-and-set holds across any number of processes; reads
// are single statements and see one snapshot. Errors never contain the
// connection string, and driver errors (*pq.Error, sql.ErrNoRows) are
// mapped to this package's errors or reduced to their message.
type PostgresStore struct {
	db     *sqlx.DB
	schema string // validated, unquoted
	q      pgQueries

	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt // the hot statements, prepared on first use
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
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return pgErr(ctx, "migrate", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockID()); err != nil {
		return pgErr(ctx, "migrate", err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoted); err != nil {
		return pgErr(ctx, "migrate", err)
	}
	if err := tx.Commit(); err != nil {
		return pgErr(ctx, "migrate", err)
	}

	steps, err := pgschema.Steps(quoted)
	if err != nil {
		return fmt.Errorf("secrets: migrate: %w", err)
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
		return fmt.Errorf("secrets: migrate: %w", err)
	}
	versions, err := database.NewStore(database.DialectPostgres, s.schema+".goose_db_version")
	if err != nil {
		return fmt.Errorf("secrets: migrate: %w", err)
	}
	p, err := goose.NewProvider("", s.db.DB, nil,
		goose.WithStore(versions),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(migrations...),
	)
	if err != nil {
		return fmt.Errorf("secrets: migrate: %w", err)
	}
	// p.Close would close the host's pool: never call it.
	if _, err := p.Up(ctx); err != nil {
		return pgErr(ctx, "migrate", err)
	}
	return nil
}

type pgQueries struct {
	putAudited, delAudited, delWSAudited, audit string
	env, envAudited, envAuditedRelaxed          string

	key, putKey, lookup, history, current, put, del            string
	stale, staleCount, reencrypt, foreign, foreignCount, delWS string
	workspaces, due                                            string
}

const pgVersionColumns = `v.workspace, v.secret_id, v.name, v.version, v.ciphertext, v.key_id, v.env_size,
	v.created, v.created_by, v.updated, v.updated_by, v.description, v.expires, v.rotate_by, v.write_only, v.fingerprint`

func newPGQueries(schema string) pgQueries {
	r := strings.NewReplacer("{{s}}", schema, "{{cols}}", pgVersionColumns)
	return pgQueries{
		key: r.Replace(`SELECT workspace, cipher_id, wrapped, revision, updated
			FROM {{s}}.workspace_keys WHERE workspace = $1`),
		putKey: r.Replace(`SELECT {{s}}.put_key($1, $2, $3, $4, $5)`),
		lookup: r.Replace(`SELECT {{cols}} FROM {{s}}.secrets v WHERE v.workspace = $1 AND v.name_key = $2`),
		history: r.Replace(`SELECT {{cols}} FROM {{s}}.versions v
			WHERE v.workspace = $1 AND v.secret_id = $2 ORDER BY v.version DESC`),
		current: r.Replace(`SELECT {{cols}} FROM {{s}}.secrets v WHERE v.workspace = $1 ORDER BY v.name COLLATE "C"`),
		put: r.Replace(`SELECT {{s}}.put_version($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
			$17, $18, $19, $20, $21)`),
		putAudited: r.Replace(`WITH w AS (SELECT {{s}}.put_version($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
				$17, $18, $19, $20, $21))
			INSERT INTO {{s}}.audit (at, actor, action, workspace, names, versions, fingerprints, outcome, detail)
			SELECT $22, $23, $24, $25, $26, $27, $28, $29, $30 FROM w`),
		env: r.Replace(`SELECT secret_id, name, version, ciphertext
			FROM {{s}}.secrets WHERE workspace = $1 ORDER BY name COLLATE "C"`),
		envAuditedRelaxed: r.Replace(envAuditedSQL("SELECT set_config('synchronous_commit', 'off', true)")),
		envAudited:        r.Replace(envAuditedSQL("SELECT 1")),
		delAudited: r.Replace(`WITH d AS (SELECT {{s}}.delete_secret($1, $2, $3))
			INSERT INTO {{s}}.audit (at, actor, action, workspace, names, versions, fingerprints, outcome, detail)
			SELECT $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM d`),
		delWSAudited: r.Replace(`WITH d AS (SELECT {{s}}.delete_workspace($1))
			INSERT INTO {{s}}.audit (at, actor, action, workspace, names, versions, fingerprints, outcome, detail)
			SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM d`),
		audit: r.Replace(`INSERT INTO {{s}}.audit (at, actor, action, workspace, names, versions, fingerprints, outcome, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`),
		del: r.Replace(`SELECT {{s}}.delete_secret($1, $2, $3)`),
		stale: r.Replace(`SELECT {{cols}} FROM {{s}}.versions v WHERE v.workspace = $1 AND v.key_id <> $2
			ORDER BY v.secret_id, v.version LIMIT $3`),
		staleCount: r.Replace(`SELECT count(*) FROM {{s}}.versions WHERE workspace = $1 AND key_id <> $2`),
		reencrypt:  r.Replace(`SELECT {{s}}.reencrypt($1, $2, $3, $4, $5, $6, $7)`),
		foreign: r.Replace(`SELECT workspace, cipher_id, wrapped, revision, updated FROM {{s}}.workspace_keys
			WHERE cipher_id <> $1 ORDER BY workspace LIMIT $2`),
		foreignCount: r.Replace(`SELECT count(*) FROM {{s}}.workspace_keys WHERE cipher_id <> $1`),
		delWS:        r.Replace(`SELECT {{s}}.delete_workspace($1)`),
		// Each half uses its partial index; the union is small.
		due: r.Replace(`SELECT {{cols}} FROM (
				SELECT * FROM {{s}}.secrets WHERE expires < $1
				UNION
				SELECT * FROM {{s}}.secrets WHERE rotate_by < $1) v
			ORDER BY v.workspace COLLATE "C", v.name COLLATE "C" LIMIT $2`),
		workspaces: r.Replace(`SELECT workspace FROM {{s}}.workspace_keys WHERE workspace COLLATE "C" > $1
			ORDER BY workspace COLLATE "C" LIMIT $2`),
	}
}

// envAuditedSQL reads a workspace and records the read's audit event in
// one statement: both parts see the same snapshot, and both read the rows
// presorted from the secrets_env index (a CTE would be materialized and
// sorted twice). commit is a query run first: set_config there makes the
// transaction commit asynchronously.
func envAuditedSQL(commit string) string {
	return `WITH commit_mode AS (` + commit + `), audit AS (
		INSERT INTO {{s}}.audit (at, actor, action, workspace, names, versions, fingerprints, outcome, detail)
		SELECT $2, $3, $4, $1, coalesce(array_agg(o.name), '{}'), coalesce(array_agg(o.version), '{}'),
			coalesce(array_agg(coalesce(o.fingerprint, '')), '{}'), $5, $6
		FROM (SELECT name, version, fingerprint FROM {{s}}.secrets WHERE workspace = $1 ORDER BY name COLLATE "C") o, commit_mode
	)
	SELECT secret_id, name, version, ciphertext, fingerprint FROM {{s}}.secrets
	WHERE workspace = $1 ORDER BY name COLLATE "C"`
}

type pgKey struct {
	Workspace string    `db:"workspace"`
	CipherID  string    `db:"cipher_id"`
	Wrapped   []byte    `db:"wrapped"`
	Revision  int64     `db:"revision"`
	Updated   time.Time `db:"updated"`
}

type pgVersion struct {
	Fingerprint []byte       `db:"fingerprint"`
	Description string       `db:"description"`
	Expires     sql.NullTime `db:"expires"`
	RotateBy    sql.NullTime `db:"rotate_by"`
	WriteOnly   bool         `db:"write_only"`

	Workspace  string    `db:"workspace"`
	SecretID   string    `db:"secret_id"`
	Name       string    `db:"name"`
	Version    int64     `db:"version"`
	Ciphertext []byte    `db:"ciphertext"`
	KeyID      int64     `db:"key_id"`
	EnvSize    int64     `db:"env_size"`
	Created    time.Time `db:"created"`
	CreatedBy  string    `db:"created_by"`
	Updated    time.Time `db:"updated"`
	UpdatedBy  string    `db:"updated_by"`
}

func (r pgVersion) version() Version {
	return Version{
		Workspace: r.Workspace, SecretID: r.SecretID, Name: r.Name, Version: r.Version,
		Ciphertext: r.Ciphertext, KeyID: uint32(r.KeyID), EnvSize: r.EnvSize,
		Created: r.Created.UTC(), CreatedBy: r.CreatedBy, Updated: r.Updated.UTC(), UpdatedBy: r.UpdatedBy,
		Info:        Info{Description: r.Description, Expires: nullTime(r.Expires), RotateBy: nullTime(r.RotateBy), WriteOnly: r.WriteOnly},
		Fingerprint: r.Fingerprint,
	}
}

func (r pgKey) key() WrappedKey {
	return WrappedKey{Workspace: r.Workspace, CipherID: r.CipherID, Ciphertext: r.Wrapped, Revision: r.Revision, Updated: r.Updated.UTC()}
}

func versions(rows []pgVersion) []Version {
	out := make([]Version, len(rows))
	for i, r := range rows {
		out[i] = r.version()
	}
	return out
}

func nullTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// auditArgs are an event's columns, in the order of the audit table.
func auditArgs(e *Event) []any {
	names := make([]string, len(e.Secrets))
	nums := make([]int64, len(e.Secrets))
	fps := make(pq.ByteaArray, len(e.Secrets))
	for i, s := range e.Secrets {
		names[i], nums[i], fps[i] = s.Name, s.Version, s.Fingerprint
		if fps[i] == nil {
			fps[i] = []byte{}
		}
	}
	return []any{e.Time, e.Actor, string(e.Action), e.Workspace, pq.Array(names), pq.Array(nums), fps, string(e.Outcome), e.Detail}
}

type pgEvent struct {
	ID           int64          `db:"id"`
	At           time.Time      `db:"at"`
	Actor        string         `db:"actor"`
	Action       string         `db:"action"`
	Workspace    string         `db:"workspace"`
	Names        pq.StringArray `db:"names"`
	Versions     pq.Int64Array  `db:"versions"`
	Fingerprints pq.ByteaArray  `db:"fingerprints"`
	Outcome      string         `db:"outcome"`
	Detail       string         `db:"detail"`
}

// Record implements Store.
func (s *PostgresStore) Record(ctx context.Context, events []Event) error {
	if len(events) == 1 {
		_, err := s.db.ExecContext(ctx, s.q.audit, auditArgs(&events[0])...)
		return pgErr(ctx, "record audit event", err)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return pgErr(ctx, "record audit events", err)
	}
	defer tx.Rollback()
	for i := range events {
		if _, err := tx.ExecContext(ctx, s.q.audit, auditArgs(&events[i])...); err != nil {
			return pgErr(ctx, "record audit events", err)
		}
	}
	return pgErr(ctx, "record audit events", tx.Commit())
}

// Events implements Store.
func (s *PostgresStore) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	where := []string{"id > $1"}
	args := []any{q.AfterID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if q.Workspace != "" {
		add("workspace = ?", q.Workspace)
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
	}
	if q.Action != "" {
		add("action = ?", string(q.Action))
	}
	if !q.From.IsZero() {
		add("at >= ?", q.From)
	}
	if !q.To.IsZero() {
		add("at < ?", q.To)
	}
	if q.Fingerprint != nil {
		add("fingerprints @> ARRAY[?::bytea]", q.Fingerprint)
	}
	args = append(args, q.Limit)
	query := fmt.Sprintf(`SELECT id, at, actor, action, workspace, names, versions, fingerprints, outcome, detail
		FROM %s.audit WHERE %s ORDER BY id LIMIT $%d`, pq.QuoteIdentifier(s.schema), strings.Join(where, " AND "), len(args))
	var rows []pgEvent
	if err := s.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, pgErr(ctx, "read audit events", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		e := Event{ID: r.ID, Time: r.At.UTC(), Actor: r.Actor, Action: Action(r.Action), Workspace: r.Workspace,
			Outcome: Outcome(r.Outcome), Detail: r.Detail}
		for j, n := range r.Names {
			es := EventSecret{Name: n, Version: r.Versions[j]}
			if len(r.Fingerprints[j]) > 0 {
				es.Fingerprint = r.Fingerprints[j]
			}
			e.Secrets = append(e.Secrets, es)
		}
		out[i] = e
	}
	return out, nil
}

// Key implements Store.
func (s *PostgresStore) Key(ctx context.Context, ws string) (WrappedKey, error) {
	var r pgKey
	if err := s.db.GetContext(ctx, &r, s.q.key, ws); err != nil {
		return WrappedKey{}, pgErr(ctx, "read key of workspace "+quote(ws), err)
	}
	return r.key(), nil
}

// PutKey implements Store.
func (s *PostgresStore) PutKey(ctx context.Context, k WrappedKey, expect int64) error {
	_, err := s.db.ExecContext(ctx, s.q.putKey, k.Workspace, k.CipherID, k.Ciphertext, k.Updated, expect)
	return pgErr(ctx, fmt.Sprintf("write key of workspace %q expecting revision %d", k.Workspace, expect), err)
}

// Lookup implements Store.
func (s *PostgresStore) Lookup(ctx context.Context, ws, name string) (Version, error) {
	st, err := s.stmt(ctx, s.q.lookup)
	if err != nil {
		return Version{}, pgErr(ctx, "look up "+name, err)
	}
	var r pgVersion
	if err := st.GetContext(ctx, &r, ws, strings.ToLower(name)); err != nil {
		return Version{}, pgErr(ctx, "look up "+name, err)
	}
	return r.version(), nil
}

// History implements Store.
func (s *PostgresStore) History(ctx context.Context, ws, secretID string) ([]Version, error) {
	var rows []pgVersion
	if err := s.db.SelectContext(ctx, &rows, s.q.history, ws, secretID); err != nil {
		return nil, pgErr(ctx, "read history", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("secrets: secret %s: %w", secretID, ErrNotFound)
	}
	return versions(rows), nil
}

// Current implements Store.
func (s *PostgresStore) Current(ctx context.Context, ws string) ([]Version, error) {
	var rows []pgVersion
	if err := s.db.SelectContext(ctx, &rows, s.q.current, ws); err != nil {
		return nil, pgErr(ctx, "read workspace "+quote(ws), err)
	}
	return versions(rows), nil
}

// Env implements EnvStore: one statement reads the rows (and records the
// audit event), scanned without reflection. It reads only what decryption
// needs: KeyID and WriteOnly are left zero (EnvFor takes the key ID from
// the ciphertext), and Fingerprint is read only when auditing.
func (s *PostgresStore) Env(ctx context.Context, ws string, audit *Event, relaxed bool) ([]Version, error) {
	var (
		rows *sql.Rows
		err  error
	)
	var st *sqlx.Stmt
	if audit != nil {
		q := s.q.envAudited
		if relaxed {
			q = s.q.envAuditedRelaxed
		}
		if st, err = s.stmt(ctx, q); err == nil {
			rows, err = st.QueryContext(ctx, ws, audit.Time, audit.Actor, string(audit.Action), string(audit.Outcome), audit.Detail)
		}
	} else if st, err = s.stmt(ctx, s.q.env); err == nil {
		rows, err = st.QueryContext(ctx, ws)
	}
	if err != nil {
		return nil, pgErr(ctx, "read workspace "+quote(ws), err)
	}
	defer rows.Close()
	// Rows are scanned into a small struct, and Versions (large) made once
	// at the end, at their final count.
	type envRow struct {
		id, name string
		version  int64
		ct, fp   []byte
	}
	rs := make([]envRow, 0, 64)
	for rows.Next() {
		var r envRow
		dest := []any{&r.id, &r.name, &r.version, &r.ct, &r.fp}
		if audit == nil {
			dest = dest[:4]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, pgErr(ctx, "read workspace "+quote(ws), err)
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, pgErr(ctx, "read workspace "+quote(ws), err)
	}
	out := make([]Version, len(rs))
	for i, r := range rs {
		out[i] = Version{Workspace: ws, SecretID: r.id, Name: r.name, Version: r.version, Ciphertext: r.ct, Fingerprint: r.fp}
	}
	if audit != nil {
		for _, v := range out {
			audit.Secrets = append(audit.Secrets, EventSecret{Name: v.Name, Version: v.Version, Fingerprint: v.Fingerprint})
		}
	}
	return out, nil
}

// Put implements Store.
func (s *PostgresStore) Put(ctx context.Context, w Write) error {
	st, err := s.stmt(ctx, s.putQuery(w))
	if err == nil {
		_, err = st.ExecContext(ctx, putArgs(w)...)
	}
	return pgErr(ctx, "write "+w.Version.Name, err)
}

// PutBatch implements Store: the writes run in one transaction.
func (s *PostgresStore) PutBatch(ctx context.Context, writes []Write) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return pgErr(ctx, "begin batch", err)
	}
	defer tx.Rollback()
	for _, w := range writes {
		if _, err := tx.ExecContext(ctx, s.putQuery(w), putArgs(w)...); err != nil {
			return pgErr(ctx, "write "+w.Version.Name, err)
		}
	}
	return pgErr(ctx, "commit batch", tx.Commit())
}

func putArgs(w Write) []any {
	v := w.Version
	ct := v.Ciphertext
	if ct == nil {
		ct = []byte{}
	}
	args := []any{v.Workspace, v.SecretID, v.Name, strings.ToLower(v.Name),
		v.Version, ct, int64(v.KeyID), v.EnvSize,
		v.Created, v.CreatedBy, v.Updated, v.UpdatedBy,
		w.Expect, w.Keep, w.MaxEnvBytes, w.KeyRevision,
		v.Description, timeOrNull(v.Expires), timeOrNull(v.RotateBy), v.WriteOnly, v.Fingerprint}
	if w.Audit != nil {
		args = append(args, auditArgs(w.Audit)...)
	}
	return args
}

// putQuery writes a version, with its audit event when it has one, in
// one statement.
func (s *PostgresStore) putQuery(w Write) string {
	if w.Audit != nil {
		return s.q.putAudited
	}
	return s.q.put
}

// Stale implements RotationStore.
func (s *PostgresStore) Stale(ctx context.Context, ws string, keep uint32, limit int) ([]Version, int, error) {
	var rows []pgVersion
	if err := s.db.SelectContext(ctx, &rows, s.q.stale, ws, int64(keep), limit); err != nil {
		return nil, 0, pgErr(ctx, "find stale versions", err)
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.q.staleCount, ws, int64(keep)); err != nil {
		return nil, 0, pgErr(ctx, "count stale versions", err)
	}
	return versions(rows), total, nil
}

// Reencrypt implements RotationStore, in one statement.
func (s *PostgresStore) Reencrypt(ctx context.Context, ws string, keyRevision int64, items []Reencryption) (int, error) {
	ids := make([]string, len(items))
	nums, from, keyIDs := make([]int64, len(items)), make([]int64, len(items)), make([]int64, len(items))
	cts := make(pq.ByteaArray, len(items))
	for i, it := range items {
		ids[i], nums[i], from[i], cts[i], keyIDs[i] = it.SecretID, it.Version, int64(it.FromKeyID), it.Ciphertext, int64(it.KeyID)
	}
	var n int
	err := s.db.GetContext(ctx, &n, s.q.reencrypt, ws, keyRevision,
		pq.Array(ids), pq.Array(nums), pq.Array(from), cts, pq.Array(keyIDs))
	return n, pgErr(ctx, "re-encrypt", err)
}

// ForeignKeys implements RotationStore.
func (s *PostgresStore) ForeignKeys(ctx context.Context, cipherID string, limit int) ([]WrappedKey, int, error) {
	var rows []pgKey
	if err := s.db.SelectContext(ctx, &rows, s.q.foreign, cipherID, limit); err != nil {
		return nil, 0, pgErr(ctx, "find keys to re-wrap", err)
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.q.foreignCount, cipherID); err != nil {
		return nil, 0, pgErr(ctx, "count keys to re-wrap", err)
	}
	out := make([]WrappedKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, total, nil
}

// Due implements DueStore, through the partial indexes on expires and
// rotate_by.
func (s *PostgresStore) Due(ctx context.Context, before time.Time, limit int) ([]Version, error) {
	var rows []pgVersion
	if err := s.db.SelectContext(ctx, &rows, s.q.due, before, limit); err != nil {
		return nil, pgErr(ctx, "find due secrets", err)
	}
	out := versions(rows)
	for i := range out {
		out[i].Ciphertext = nil
	}
	return out, nil
}

// Workspaces implements RotationStore.
func (s *PostgresStore) Workspaces(ctx context.Context, after string, limit int) ([]string, error) {
	var out []string
	if err := s.db.SelectContext(ctx, &out, s.q.workspaces, after, limit); err != nil {
		return nil, pgErr(ctx, "list workspaces", err)
	}
	return out, nil
}

// DeleteWorkspace implements WorkspaceDeleter, in one transaction.
func (s *PostgresStore) DeleteWorkspace(ctx context.Context, ws string, audit *Event) error {
	var err error
	if audit != nil {
		_, err = s.db.ExecContext(ctx, s.q.delWSAudited, append([]any{ws}, auditArgs(audit)...)...)
	} else {
		_, err = s.db.ExecContext(ctx, s.q.delWS, ws)
	}
	return pgErr(ctx, "delete workspace "+quote(ws), err)
}

// Delete implements Store.
func (s *PostgresStore) Delete(ctx context.Context, ws, secretID string, expect int64, audit *Event) error {
	var err error
	if audit != nil {
		_, err = s.db.ExecContext(ctx, s.q.delAudited, append([]any{ws, secretID, expect}, auditArgs(audit)...)...)
	} else {
		_, err = s.db.ExecContext(ctx, s.q.del, ws, secretID, expect)
	}
	return pgErr(ctx, "delete secret "+secretID, err)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// pgErr maps a database error to the package's errors. A *pq.Error is
// reduced to its message and SQLSTATE (its detail may quote row data), and
// sql.ErrNoRows becomes ErrNotFound. Other errors (network, pool) are
// wrapped as they are: they hold addresses, never credentials.
func pgErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("secrets: postgres: %s: %w", op, ctx.Err())
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("secrets: %s: %w", op, ErrNotFound)
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case "SC001", "23505": // name taken; unique violation
			return fmt.Errorf("secrets: %s: %w", op, ErrExists)
		case "SC002", "40001", "40P01": // check-and-set; serialization failure; deadlock
			return fmt.Errorf("secrets: %s: %w", op, ErrConflict)
		case "SC003":
			return fmt.Errorf("secrets: %s: %w", op, ErrNotFound)
		case "SC004":
			return fmt.Errorf("secrets: %s: %w", op, ErrTooLarge)
		case "SC005":
			return fmt.Errorf("secrets: %s: %w", op, ErrKeyChanged)
		case "57014": // query_canceled
			if ctx.Err() != nil {
				return fmt.Errorf("secrets: postgres: %s: %w", op, ctx.Err())
			}
		}
		return fmt.Errorf("secrets: postgres: %s: %s (SQLSTATE %s)", op, pe.Message, pe.Code)
	}
	return fmt.Errorf("secrets: postgres: %s: %w", op, err)
}
