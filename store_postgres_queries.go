package secrets

import (
	"context"
	"strings"

	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/jmoiron/sqlx"
)

// pgQueries are the store's statements for one schema, from
// internal/pgschema/queries.sql, and the variants of Env's read, which
// envSQL and envLevelsSQL build.
type pgQueries struct {
	key, putKey, masterKeys, addMasterKey       *pgschema.Query
	lookup, history, list, listValues           *pgschema.Query
	put, putAudited, audit, auditRelaxed        *pgschema.Query
	putBatch, putBatchAudited                   *pgschema.Query
	stale, staleCount, reencrypt                *pgschema.Query
	foreign, foreignCount, workspaces           *pgschema.Query
	delWS, delWSAudited                         *pgschema.Query
	due, deletedBefore, ledgerAt                *pgschema.Query
	dropEvents, dropLedger, dropTombstones      *pgschema.Query
	unfingerprinted, setFingerprints, delivered *pgschema.Query

	// Fragments of the statements built at run time.
	recordHead, recordTail                          string
	eventsSelect, eventsByName, eventsByFingerprint string

	// Env's reads: positional parameters (see envSQL).
	env, envSubset                            string
	envLevels, envLevelsSubset                string
	envAudited, envAuditedRelaxed             string
	envSubsetAudited, envSubsetAuditedRelaxed string
}

// newPGQueries reads the statements for the schema whose quoted
// identifier is quoted, and the blocks of queries.sql no field took
// (which TestPostgresQueriesComplete requires to be none).
func newPGQueries(quoted string) (pgQueries, []string, error) {
	set, err := pgschema.Queries(quoted)
	if err != nil {
		return pgQueries{}, nil, err
	}
	sq, frag := set.Query, set.Fragment
	env := func(text string) string { return pgschema.WithSchema(text, quoted) }
	q := pgQueries{
		key: sq("key"), putKey: sq("put_key"), masterKeys: sq("master_keys"), addMasterKey: sq("add_master_key"),
		lookup: sq("lookup"), history: sq("history"), list: sq("list"), listValues: sq("list_values"),
		put: sq("put"), putAudited: sq("put_audited"), audit: sq("audit"), auditRelaxed: sq("audit_relaxed"),
		putBatch: sq("put_batch"), putBatchAudited: sq("put_batch_audited"),
		stale: sq("stale"), staleCount: sq("stale_count"), reencrypt: sq("reencrypt"),
		foreign: sq("foreign_keys"), foreignCount: sq("foreign_keys_count"), workspaces: sq("workspaces"),
		delWS: sq("delete_workspace"), delWSAudited: sq("delete_workspace_audited"),
		due: sq("due"), deletedBefore: sq("deleted_before"), ledgerAt: sq("ledger_at"),
		dropEvents: sq("drop_events"), dropLedger: sq("drop_ledger"), dropTombstones: sq("drop_tombstones"),
		unfingerprinted: sq("unfingerprinted"), setFingerprints: sq("set_fingerprints"), delivered: sq("delivered"),

		recordHead: frag("record_events_head"), recordTail: frag("record_events_tail"),
		eventsSelect: frag("events_select"), eventsByName: frag("events_by_name"),
		eventsByFingerprint: frag("events_by_fingerprint"),

		envLevels:               env(envLevelsSQL(false)),
		envLevelsSubset:         env(envLevelsSQL(true)),
		env:                     env(envSQL("", false)),
		envSubset:               env(envSQL("", true)),
		envAudited:              env(envSQL("SELECT 1", false)),
		envAuditedRelaxed:       env(envSQL("SELECT set_config('synchronous_commit', 'off', true)", false)),
		envSubsetAudited:        env(envSQL("SELECT 1", true)),
		envSubsetAuditedRelaxed: env(envSQL("SELECT set_config('synchronous_commit', 'off', true)", true)),
	}
	return q, set.Unused(), set.Err()
}

// pgParams are a statement's arguments by name: pgschema.Params.
type pgParams = pgschema.Params

// selectQ runs q with p on db and scans its rows into dest, a slice.
func selectQ(ctx context.Context, db sqlx.QueryerContext, dest any, q *pgschema.Query, p pgParams) error {
	args, err := q.Args(p)
	if err != nil {
		return err
	}
	return sqlx.SelectContext(ctx, db, dest, q.SQL, args...)
}

// getQ runs q with p on db and scans its one row into dest.
func getQ(ctx context.Context, db sqlx.QueryerContext, dest any, q *pgschema.Query, p pgParams) error {
	args, err := q.Args(p)
	if err != nil {
		return err
	}
	return sqlx.GetContext(ctx, db, dest, q.SQL, args...)
}

// execQ runs q with p on db.
func execQ(ctx context.Context, db sqlx.ExecerContext, q *pgschema.Query, p pgParams) error {
	args, err := q.Args(p)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, q.SQL, args...)
	return err
}

// rowQ runs q with p on db and scans its one row into dest.
func rowQ(ctx context.Context, db sqlx.QueryerContext, q *pgschema.Query, p pgParams, dest ...any) error {
	args, err := q.Args(p)
	if err != nil {
		return err
	}
	return db.QueryRowxContext(ctx, q.SQL, args...).Scan(dest...)
}

// envSQL reads a workspace's environment. With commit not empty it also
// records the read's audit event in the same statement (commit is a query
// run first: set_config there makes the transaction commit
// asynchronously); both parts see the same snapshot and read the rows
// presorted from the secrets_env index.
//
// The result is as narrow as the floor it is measured against: each
// secret's version, format and flags come packed in one bigint
// (version<<10 | format<<4 | flags), and the workspace's key generation
// and state come once, in a header row whose secret_id is NULL (its name
// column holds the state, its packed column the key generation), instead
// of in two more columns of every row. The header row is absent when the
// workspace has never been written. An audited read adds a row whose name
// column is "event " and the ID of the event it recorded.
//
// An audited read is what a job without an environment, not protected,
// gets of one level (EnvQuery.Unscoped): the secrets of scope "*" that
// are not protected. Its event names, as before scopes, the subset's
// names or all; the ledger resolves it to what such a job got, since it
// knows each entry's scope (in its name) and protection (migration 5).
// Without commit the subset matches the variable's name, whatever the
// scope: the Manager resolves scopes itself.
func envSQL(commit string, subset bool) string {
	var b strings.Builder
	b.WriteString(`WITH w AS (SELECT state, key_gen FROM {{schema}}.workspaces WHERE workspace = $1)`)
	filter := ""
	switch {
	case subset && commit != "":
		filter = " AND s.name_key = ANY($2)"
	case subset:
		filter = " AND split_part(s.name_key, '@', 1) = ANY($2)"
	}
	if commit != "" {
		names := "NULL::text[]"
		p := 2
		if subset {
			names, p = "$2", 3
		}
		filter += " AND strpos(s.name, '@') = 0 AND s.flags & 4 = 0"
		ph := func(i int) string { return "$" + itoa(int64(p+i)) }
		b.WriteString(`, commit_mode AS (` + commit + `), a AS (
			INSERT INTO {{schema}}.audit (at, actor, action, workspace, state, names, outcome, detail)
			SELECT ` + ph(0) + `, ` + ph(1) + `, ` + ph(2) + `, $1, coalesce((SELECT state FROM w), 0), ` + names + `, ` + ph(3) + `, ` + ph(4) + `
			FROM commit_mode RETURNING id)`)
	}
	b.WriteString(`
	SELECT NULL::text, w.state::text, w.key_gen, NULL::bytea, NULL::timestamptz FROM w
	UNION ALL`)
	if commit != "" {
		// The event's ID, in a header row of its own ("event N"), so that
		// OnEvent gets it.
		b.WriteString(`
	SELECT NULL::text, 'event ' || a.id, 0, NULL::bytea, NULL::timestamptz FROM a
	UNION ALL`)
	}
	b.WriteString(`
	(SELECT s.secret_id, s.name, (s.version << 10) | (s.format << 4) | s.flags, s.ciphertext, s.expires
	FROM {{schema}}.secrets s WHERE s.workspace = $1 AND s.deleted IS NULL` + filter + `
	ORDER BY s.name COLLATE "C")`)
	return b.String()
}

// envLevelsSQL reads the environments of a workspace and its parents ($1:
// the workspace, then the parents, nearest first) in one statement, as
// envSQL does one workspace's: a header row for each level that exists
// (its level, a NULL secret_id, its state and key generation), then the
// secrets, each with its level.
func envLevelsSQL(subset bool) string {
	filter := ""
	if subset {
		filter = " AND split_part(s.name_key, '@', 1) = ANY($2)"
	}
	return `WITH lv AS (SELECT x.c COLLATE "C" AS workspace, (x.o - 1)::int AS level
		FROM unnest($1::text[]) WITH ORDINALITY AS x(c, o))
	SELECT lv.level, NULL::text, w.state::text, w.key_gen, NULL::bytea, NULL::timestamptz
	FROM lv JOIN {{schema}}.workspaces w ON w.workspace = lv.workspace
	UNION ALL
	(SELECT lv.level, s.secret_id, s.name, (s.version << 10) | (s.format << 4) | s.flags, s.ciphertext, s.expires
	FROM lv JOIN {{schema}}.secrets s ON s.workspace = lv.workspace AND s.deleted IS NULL` + filter + `
	ORDER BY lv.level, s.name COLLATE "C")`
}
