package secrets

import (
	"context"

	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/jmoiron/sqlx"
)

// pgQueries are the store's statements for one schema, from
// internal/pgschema/queries.sql.
type pgQueries struct {
	key, putKey, masterKeys, addMasterKey       *pgschema.Query
	setMasterCheck, retireMasterKey             *pgschema.Query
	lookup, history, list, listValues           *pgschema.Query
	listNames, listNamesValues                  *pgschema.Query
	envRead, envAudited, envLevels              *pgschema.Query
	put, putAudited, audit, auditRelaxed        *pgschema.Query
	putBatch, putBatchAudited, lockState        *pgschema.Query
	stale, staleCount, reencrypt                *pgschema.Query
	foreign, foreignCount, workspaces           *pgschema.Query
	delWS, delWSAudited, delWSList              *pgschema.Query
	due, deletedBefore, ledgerAt                *pgschema.Query
	dropEvents, dropLedger, dropTombstones      *pgschema.Query
	unfingerprinted, setFingerprints, delivered *pgschema.Query
	auditExpanded, auditExpandedRelaxed         *pgschema.Query

	// Fragments of the statements built at run time.
	recordHead, recordTail                          string
	eventsSelect, eventsByName, eventsByFingerprint string
	eventsPageHead                                  string
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
	q := pgQueries{
		key: sq("key"), putKey: sq("put_key"), masterKeys: sq("master_keys"), addMasterKey: sq("add_master_key"),
		setMasterCheck: sq("set_master_check"), retireMasterKey: sq("retire_master_key"),
		lookup: sq("lookup"), history: sq("history"), list: sq("list"), listValues: sq("list_values"),
		listNames: sq("list_names"), listNamesValues: sq("list_names_values"),
		envRead: sq("env_read"), envAudited: sq("env_audited"), envLevels: sq("env_levels"),
		put: sq("put"), putAudited: sq("put_audited"), audit: sq("audit"), auditRelaxed: sq("audit_relaxed"),
		putBatch: sq("put_batch"), putBatchAudited: sq("put_batch_audited"), lockState: sq("lock_state"),
		stale: sq("stale"), staleCount: sq("stale_count"), reencrypt: sq("reencrypt"),
		foreign: sq("foreign_keys"), foreignCount: sq("foreign_keys_count"), workspaces: sq("workspaces"),
		delWS: sq("delete_workspace"), delWSAudited: sq("delete_workspace_audited"), delWSList: sq("delete_workspace_list"),
		due: sq("due"), deletedBefore: sq("deleted_before"), ledgerAt: sq("ledger_at"),
		dropEvents: sq("drop_events"), dropLedger: sq("drop_ledger"), dropTombstones: sq("drop_tombstones"),
		unfingerprinted: sq("unfingerprinted"), setFingerprints: sq("set_fingerprints"), delivered: sq("delivered"),
		auditExpanded: sq("audit_expanded"), auditExpandedRelaxed: sq("audit_expanded_relaxed"),

		recordHead: frag("record_events_head"), recordTail: frag("record_events_tail"),
		eventsSelect: frag("events_select"), eventsByName: frag("events_by_name"),
		eventsByFingerprint: frag("events_by_fingerprint"), eventsPageHead: frag("events_page_head"),
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
