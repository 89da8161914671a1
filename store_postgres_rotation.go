package secrets

import (
	"context"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Stale implements RotationStore.
func (s *PostgresStore) Stale(ctx context.Context, ws string, q StaleQuery) ([]Version, int, error) {
	keep := q.Keep
	var rows []pgVersion
	p := pgParams{"workspace": ws, "key_id": int64(keep), "after_secret_id": q.AfterSecretID, "after_version": q.AfterVersion, "limit": q.Limit}
	if err := selectQ(ctx, s.db, &rows, s.q.stale, p); err != nil {
		return nil, 0, pgErr(ctx, "find stale versions", err)
	}
	var total int
	if err := getQ(ctx, s.db, &total, s.q.staleCount, pgParams{"workspace": ws, "key_id": int64(keep)}); err != nil {
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
		return getQ(ctx, q, &done, s.q.reencrypt, pgParams{"workspace": ws, "key_gen": keyGen,
			"secret_ids": pq.Array(ids), "versions": pq.Array(nums), "from_key_ids": pq.Array(from), "from_formats": pq.Array(fromFmt),
			"ciphertexts": cts, "key_ids": pq.Array(keyIDs), "formats": pq.Array(fmts)})
	})
	return done, pgErr(ctx, "re-encrypt", err)
}

// ForeignKeys implements RotationStore.
func (s *PostgresStore) ForeignKeys(ctx context.Context, q ForeignKeysQuery) ([]WrappedKey, int, error) {
	cipherID := q.CipherID
	var rows []pgKey
	if err := selectQ(ctx, s.db, &rows, s.q.foreign, pgParams{"cipher_id": cipherID, "after": q.After, "limit": q.Limit}); err != nil {
		return nil, 0, pgErr(ctx, "find keys to re-wrap", err)
	}
	var total int
	if err := getQ(ctx, s.db, &total, s.q.foreignCount, pgParams{"cipher_id": cipherID}); err != nil {
		return nil, 0, pgErr(ctx, "count keys to re-wrap", err)
	}
	out := make([]WrappedKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, total, nil
}

// SetMasterKeyCheck implements RotationStore.
func (s *PostgresStore) SetMasterKeyCheck(ctx context.Context, id string, check []byte) error {
	var n int
	err := s.write(ctx, func(q sqlx.ExtContext) error {
		return rowQ(ctx, q, s.q.setMasterCheck, pgParams{"cipher_id": id, "check_value": check}, &n)
	})
	if err == nil && n == 0 {
		return errorf(ErrNotFound, "master key %s is not registered", id)
	}
	return pgErr(ctx, "replace the check value of master key "+id, err)
}

// RetireMasterKey implements MasterKeyRetirer, in one statement: the
// database checks that no workspace key is wrapped by id and marks it
// retired, and refuses every later workspace key wrapped by it (a trigger
// of migration 7), whichever release writes it.
func (s *PostgresStore) RetireMasterKey(ctx context.Context, id string, at time.Time) error {
	var found bool
	err := s.write(ctx, func(q sqlx.ExtContext) error {
		return getQ(ctx, q, &found, s.q.retireMasterKey, pgParams{"cipher_id": id, "at": at})
	})
	switch {
	case sqlState(err) == sqlstateMasterKeyInUse && ctx.Err() == nil:
		return &MasterKeyError{ID: id, InUse: -1}
	case err == nil && !found:
		return errorf(ErrNotFound, "master key %s is not registered", id)
	}
	return pgErr(ctx, "retire master key "+id, err)
}

// Workspaces implements RotationStore.
func (s *PostgresStore) Workspaces(ctx context.Context, q WorkspacesQuery) ([]string, error) {
	var out []string
	if err := selectQ(ctx, s.db, &out, s.q.workspaces, pgParams{"after": q.After, "limit": q.Limit}); err != nil {
		return nil, pgErr(ctx, "list workspaces", err)
	}
	return out, nil
}

// DeleteWorkspace implements WorkspaceDeleter: unaudited in one
// statement; audited in a transaction that takes the workspace's write
// lock, lists what it holds for the event, and deletes it.
func (s *PostgresStore) DeleteWorkspace(ctx context.Context, ws string, audit *Event) error {
	at := time.Now().UTC()
	if audit != nil {
		at = audit.Time
	}
	err := s.write(ctx, func(q sqlx.ExtContext) error {
		p := pgParams{"workspace": ws, "at": at}
		if audit == nil {
			return execQ(ctx, q, s.q.delWS, p)
		}
		var state int64
		if err := getQ(ctx, q, &state, s.q.lockState, pgParams{"workspace": ws}); err != nil {
			return err
		}
		var rows []struct {
			Name        string `db:"name"`
			Version     int64  `db:"version"`
			Fingerprint []byte `db:"fingerprint"`
		}
		if err := selectQ(ctx, q, &rows, s.q.delWSList, pgParams{"workspace": ws}); err != nil {
			return err
		}
		audit.Secrets = nil // this transaction may be a second run (see write)
		for _, r := range rows {
			audit.Secrets = append(audit.Secrets, EventSecret{Name: r.Name, Version: r.Version, Fingerprint: r.Fingerprint})
		}
		// The audit row's workspace is the one deleted, and its state the
		// function's.
		eventParams(p, audit)
		delete(p, "event_workspace")
		return rowQ(ctx, q, s.q.delWSAudited, p, &audit.ID, &audit.State)
	})
	err = pgErr(ctx, "delete workspace "+quote(ws), err)
	if err != nil && audit != nil && !errors.Is(err, ErrDatabaseUnavailable) {
		audit.Secrets = nil // nothing was removed: the failure's event lists nothing
	}
	return err
}

// Due implements DueStore, through the partial indexes on expires and
// rotate_by.
func (s *PostgresStore) Due(ctx context.Context, q DueQuery) ([]Entry, error) {
	var rows []pgEntry
	p := pgParams{"before": q.Before, "after_workspace": q.AfterWorkspace, "after_name": q.AfterName, "limit": q.Limit}
	if err := selectQ(ctx, s.db, &rows, s.q.due, p); err != nil {
		return nil, pgErr(ctx, "find due secrets", err)
	}
	return pgEntries(rows), nil
}

// DeletedBefore implements Purger.
func (s *PostgresStore) DeletedBefore(ctx context.Context, before time.Time, limit int) ([]Entry, error) {
	var rows []pgEntry
	if err := selectQ(ctx, s.db, &rows, s.q.deletedBefore, pgParams{"before": before, "limit": limit}); err != nil {
		return nil, pgErr(ctx, "find deleted secrets", err)
	}
	return pgEntries(rows), nil
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
	if err := selectQ(ctx, s.db, &rows, s.q.ledgerAt, pgParams{"workspace": workspace, "at": at.UTC()}); err != nil {
		return nil, pgErr(ctx, "read the ledger", err)
	}
	out := make([]LedgerEntry, len(rows))
	for i, r := range rows {
		out[i] = LedgerEntry{SecretID: r.SecretID, Name: r.Name, State: r.State, At: r.At.UTC(), Version: r.Version}
	}
	return out, nil
}
