package secrets

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Stale implements RotationStore.
func (s *PostgresStore) Stale(ctx context.Context, ws string, q StaleQuery) ([]Version, int, error) {
	keep := q.Keep
	var rows []pgVersion
	if err := s.db.SelectContext(ctx, &rows, s.q.stale, ws, int64(keep), q.AfterSecretID, q.AfterVersion, q.Limit); err != nil {
		return nil, 0, pgErr(ctx, "find stale versions", err)
	}
	var total int
	if err := s.db.GetContext(ctx, &total, s.q.staleCount, ws, int64(keep)); err != nil {
		return nil, 0, pgErr(ctx, "count stale versions", err)
	}
	out := make([]Version, len(rows))
	for i, r := range rows {
		out[i] = r.version()
	}
	return out, total, nil
}

// Reencrypt implements RotationStore, in one statement.
func (s *PostgresStore) Reencrypt(ctx context.Context, ws string, keyGen int64, items []Reencryption) (int, error) {
	n := len(items)
	ids := make([]string, n)
	nums, from, fromFmt, keyIDs, fmts := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	cts := make(pq.ByteaArray, n)
	for i, it := range items {
		ids[i], nums[i], from[i], fromFmt[i] = it.SecretID, it.Version, int64(it.FromKeyID), int64(it.FromFormat)
		cts[i], keyIDs[i], fmts[i] = it.Ciphertext, int64(it.KeyID), int64(it.Format)
	}
	var done int
	err := s.write(ctx, func(q sqlx.ExtContext) error {
		return sqlx.GetContext(ctx, q, &done, s.q.reencrypt, ws, keyGen,
			pq.Array(ids), pq.Array(nums), pq.Array(from), pq.Array(fromFmt), cts, pq.Array(keyIDs), pq.Array(fmts))
	})
	return done, pgErr(ctx, "re-encrypt", err)
}

// ForeignKeys implements RotationStore.
func (s *PostgresStore) ForeignKeys(ctx context.Context, q ForeignKeysQuery) ([]WrappedKey, int, error) {
	cipherID := q.CipherID
	var rows []pgKey
	if err := s.db.SelectContext(ctx, &rows, s.q.foreign, cipherID, q.After, q.Limit); err != nil {
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

// Workspaces implements RotationStore.
func (s *PostgresStore) Workspaces(ctx context.Context, q WorkspacesQuery) ([]string, error) {
	var out []string
	if err := s.db.SelectContext(ctx, &out, s.q.workspaces, q.After, q.Limit); err != nil {
		return nil, pgErr(ctx, "list workspaces", err)
	}
	return out, nil
}

// DeleteWorkspace implements WorkspaceDeleter, in one statement.
func (s *PostgresStore) DeleteWorkspace(ctx context.Context, ws string, audit *Event) error {
	at := time.Now().UTC()
	if audit != nil {
		at = audit.Time
	}
	err := s.write(ctx, func(q sqlx.ExtContext) error {
		if audit == nil {
			_, err := q.ExecContext(ctx, s.q.delWS, ws, at)
			return err
		}
		// The audit row's workspace is $1 and its state the function's.
		a := auditArgs(audit)
		return q.QueryRowxContext(ctx, s.q.delWSAudited, ws, at, a[0], a[1], a[2], a[5], a[6], a[7], a[8], a[9]).Scan(&audit.ID, &audit.State)
	})
	return pgErr(ctx, "delete workspace "+quote(ws), err)
}

// Due implements DueStore, through the partial indexes on expires and
// rotate_by.
func (s *PostgresStore) Due(ctx context.Context, q DueQuery) ([]Entry, error) {
	var rows []pgEntry
	if err := s.db.SelectContext(ctx, &rows, s.q.due, q.Before, q.AfterWorkspace, q.AfterName, q.Limit); err != nil {
		return nil, pgErr(ctx, "find due secrets", err)
	}
	out := pgEntries(rows)
	for i := range out {
		out[i].Current.Ciphertext = nil
	}
	return out, nil
}

// DeletedBefore implements Purger.
func (s *PostgresStore) DeletedBefore(ctx context.Context, before time.Time, limit int) ([]Entry, error) {
	var rows []pgEntry
	if err := s.db.SelectContext(ctx, &rows, s.q.deletedBefore, before, limit); err != nil {
		return nil, pgErr(ctx, "find deleted secrets", err)
	}
	out := pgEntries(rows)
	for i := range out {
		out[i].Current.Ciphertext = nil
	}
	return out, nil
}

// LedgerAt implements LedgerStore.
func (s *PostgresStore) LedgerAt(ctx context.Context, workspace string, at time.Time) ([]LedgerEntry, error) {
	var rows []struct {
		SecretID string    `db:"secret_id"`
		Name     string    `db:"name"`
		State    int64     `db:"state"`
		At       time.Time `db:"at"`
		Version  int64     `db:"version"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.ledgerAt, workspace, at.UTC()); err != nil {
		return nil, pgErr(ctx, "read the ledger", err)
	}
	out := make([]LedgerEntry, len(rows))
	for i, r := range rows {
		out[i] = LedgerEntry{SecretID: r.SecretID, Name: r.Name, State: r.State, At: r.At.UTC(), Version: r.Version}
	}
	return out, nil
}
