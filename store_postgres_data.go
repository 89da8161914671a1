package secrets

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

type pgKey struct {
	Workspace  string    `db:"workspace"`
	CipherID   string    `db:"cipher_id"`
	Wrapped    []byte    `db:"wrapped"`
	Generation int64     `db:"generation"`
	Updated    time.Time `db:"updated"`
}

func (r pgKey) key() WrappedKey {
	return WrappedKey{Workspace: r.Workspace, CipherID: r.CipherID, Ciphertext: r.Wrapped, Generation: r.Generation, Updated: r.Updated.UTC()}
}

// pgVersion is a row of versions, or the current version in a row of
// secrets.
type pgVersion struct {
	Workspace   string    `db:"workspace"`
	SecretID    string    `db:"secret_id"`
	Version     int64     `db:"version"`
	Name        string    `db:"name"`
	Flags       int16     `db:"flags"`
	Format      int16     `db:"format"`
	Ciphertext  []byte    `db:"ciphertext"`
	KeyID       int64     `db:"key_id"`
	EnvSize     int64     `db:"env_size"`
	Fingerprint []byte    `db:"fingerprint"`
	Written     time.Time `db:"written"`
	WrittenBy   string    `db:"written_by"`
	KeyGen      int64     `db:"key_gen"`
}

// The flags of a version, as stored.
const (
	flagWriteOnly = 1
	flagFile      = 2
	flagProtected = 4 // from migration 0004; bound into format 3
	flagExpand    = 8 // Info.Expand; bound into format 3
)

func flagsOf(v Version) int16 {
	var f int16
	if v.WriteOnly {
		f |= flagWriteOnly
	}
	if v.File {
		f |= flagFile
	}
	if v.Protected {
		f |= flagProtected
	}
	if v.Expand {
		f |= flagExpand
	}
	return f
}

func (r pgVersion) version() Version {
	return Version{
		Workspace: r.Workspace, SecretID: r.SecretID, Version: r.Version, Name: r.Name,
		WriteOnly: r.Flags&flagWriteOnly != 0, File: r.Flags&flagFile != 0, Protected: r.Flags&flagProtected != 0, Expand: r.Flags&flagExpand != 0, Format: int(r.Format),
		Ciphertext: r.Ciphertext, KeyID: uint32(r.KeyID), EnvSize: r.EnvSize, Fingerprint: r.Fingerprint,
		Written: r.Written.UTC(), WrittenBy: r.WrittenBy, KeyGen: r.KeyGen,
	}
}

type pgEntry struct {
	pgVersion
	Revision    int64        `db:"revision"`
	Created     time.Time    `db:"created"`
	CreatedBy   string       `db:"created_by"`
	Updated     time.Time    `db:"updated"`
	UpdatedBy   string       `db:"updated_by"`
	Description string       `db:"description"`
	Expires     sql.NullTime `db:"expires"`
	RotateBy    sql.NullTime `db:"rotate_by"`
	Deleted     sql.NullTime `db:"deleted"`
	DeletedBy   string       `db:"deleted_by"`
}

func (r pgEntry) entry() Entry {
	return Entry{
		Workspace: r.Workspace, SecretID: r.SecretID, Name: r.Name, Revision: r.Revision,
		Created: r.Created.UTC(), CreatedBy: r.CreatedBy, Updated: r.Updated.UTC(), UpdatedBy: r.UpdatedBy,
		Description: r.Description, Expires: nullTime(r.Expires), RotateBy: nullTime(r.RotateBy),
		Deleted: nullTime(r.Deleted), DeletedBy: r.DeletedBy, Current: r.version(),
	}
}

// targets are r's fields in the order of pgEntryCols and key_gen, for
// Scan: a page of entries is read without reflection.
func (r *pgEntry) targets() []any {
	return []any{&r.Workspace, &r.SecretID, &r.Name, &r.Revision, &r.Created, &r.CreatedBy, &r.Updated, &r.UpdatedBy,
		&r.Description, &r.Expires, &r.RotateBy, &r.Deleted, &r.DeletedBy, &r.Version, &r.Flags, &r.Format, &r.Ciphertext, &r.KeyID,
		&r.EnvSize, &r.Fingerprint, &r.Written, &r.WrittenBy, &r.KeyGen}
}

// pgEntries converts scanned rows to Entries.
func pgEntries(rows []pgEntry) []Entry {
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
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

// Key implements Store.
func (s *PostgresStore) Key(ctx context.Context, ws string) (WrappedKey, error) {
	var r pgKey
	if err := getQ(ctx, s.db, &r, s.q.key, pgParams{"workspace": ws}); err != nil {
		return WrappedKey{}, pgErr(ctx, "read the key of workspace "+quote(ws), err)
	}
	return r.key(), nil
}

// PutKey implements Store.
func (s *PostgresStore) PutKey(ctx context.Context, k WrappedKey, expect int64) (int64, error) {
	var gen int64
	err := s.write(ctx, func(q sqlx.ExtContext) error {
		return getQ(ctx, q, &gen, s.q.putKey, pgParams{"workspace": k.Workspace, "cipher_id": k.CipherID,
			"wrapped": k.Ciphertext, "updated": k.Updated, "expect": expect})
	})
	if sqlState(err) == sqlstateRetiredMasterKey && ctx.Err() == nil {
		return 0, &MasterKeyError{ID: k.CipherID, Retired: true}
	}
	return gen, pgErr(ctx, fmt.Sprintf("write the key of workspace %q at generation %d", k.Workspace, expect), err)
}

// MasterKeys implements Store.
func (s *PostgresStore) MasterKeys(ctx context.Context) ([]MasterKey, error) {
	var rows []struct {
		ID      string       `db:"cipher_id"`
		Check   []byte       `db:"check_value"`
		Added   time.Time    `db:"added"`
		Retired sql.NullTime `db:"retired"`
	}
	if err := selectQ(ctx, s.db, &rows, s.q.masterKeys, nil); err != nil {
		return nil, pgErr(ctx, "read the master keys", err)
	}
	out := make([]MasterKey, len(rows))
	for i, r := range rows {
		out[i] = MasterKey{ID: r.ID, Check: r.Check, Added: r.Added.UTC()}
		if r.Retired.Valid {
			out[i].Retired = r.Retired.Time.UTC()
		}
	}
	return out, nil
}

// AddMasterKey implements Store.
func (s *PostgresStore) AddMasterKey(ctx context.Context, k MasterKey, first bool) error {
	err := s.write(ctx, func(q sqlx.ExtContext) error {
		return execQ(ctx, q, s.q.addMasterKey, pgParams{"cipher_id": k.ID, "check_value": k.Check, "added": k.Added, "first": first})
	})
	return pgErr(ctx, "register master key "+k.ID, err)
}

// Lookup implements Store.
func (s *PostgresStore) Lookup(ctx context.Context, ws, name string) (Entry, error) {
	var r pgEntry
	err := s.hotQ(ctx, s.q.lookup, pgParams{"workspace": ws, "name_key": name}, func(rows *sql.Rows) error {
		return scanOne(rows, r.targets()...)
	})
	if err != nil {
		return Entry{}, pgErr(ctx, "look up "+name, err)
	}
	if !strings.EqualFold(r.Name, name) {
		// name_key is not bound to anything: a row whose key was
		// changed with SQL must not answer for another name.
		return Entry{}, errorf(nil, "look up a secret of workspace %s: the row found by its name is %s, whose name_key was changed outside the library", quote(ws), r.Name)
	}
	return r.entry(), nil
}

// History implements Store.
func (s *PostgresStore) History(ctx context.Context, ws, secretID string) ([]Version, error) {
	var rows []pgVersion
	if err := selectQ(ctx, s.db, &rows, s.q.history, pgParams{"workspace": ws, "secret_id": secretID}); err != nil {
		return nil, pgErr(ctx, "read history", err)
	}
	if len(rows) == 0 {
		return nil, errorf(ErrNotFound, "secret %s does not exist", secretID)
	}
	out := make([]Version, len(rows))
	for i, r := range rows {
		out[i] = r.version()
	}
	return out, nil
}

// likeEscaper escapes LIKE's wildcards (the default escape is \).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// List implements Store.
func (s *PostgresStore) List(ctx context.Context, ws string, q ListQuery) ([]Entry, error) {
	query := s.q.list
	if q.Values {
		query = s.q.listValues
	}
	pattern := "%" + likeEscaper.Replace(q.Search) + "%"
	var out []Entry
	p := pgParams{"workspace": ws, "deleted": q.Deleted, "after": q.After, "pattern": pattern, "limit": max(q.Limit, 1)}
	if q.Names != nil {
		query = s.q.listNames
		if q.Values {
			query = s.q.listNamesValues
		}
		p["names"] = pq.StringArray(q.Names)
	}
	err := s.hotQ(ctx, query, p, func(rows *sql.Rows) error {
		var r pgEntry
		targets := r.targets()
		for rows.Next() {
			if err := rows.Scan(targets...); err != nil {
				return err
			}
			out = append(out, r.entry())
		}
		return rows.Err()
	})
	if err != nil {
		return nil, pgErr(ctx, "list workspace "+quote(ws), err)
	}
	if !q.Values {
		for i := range out {
			out[i].Current.Ciphertext = nil
		}
	}
	return out, nil
}

// Put implements Store. One write is one statement, and so is a batch
// (a JSON array handed to put_batch, which writes each workspace's row
// once); a batch with re-encryptions runs write by write in one
// transaction.
func (s *PostgresStore) Put(ctx context.Context, writes ...Write) error {
	if len(writes) == 0 {
		return nil
	}
	last := writes[len(writes)-1]
	var audit *Event
	for _, w := range writes {
		if w.Audit != nil {
			audit = w.Audit
		}
	}
	batch := len(writes) > 1
	for _, w := range writes {
		if len(w.Reseal) > 0 {
			batch = false
		}
	}
	// One transaction (see write): the states are checked under the
	// workspaces' locks, which the writes then take again.
	err := s.write(ctx, func(q sqlx.ExtContext) error {
		for _, w := range writes {
			if !w.CheckState {
				continue
			}
			var state int64
			if err := getQ(ctx, q, &state, s.q.lockState, pgParams{"workspace": w.Entry.Workspace}); err != nil {
				return err
			}
			if state != w.ExpectState {
				return errStateMoved
			}
		}
		if batch {
			return s.putBatch(ctx, q, writes, audit)
		}
		for _, w := range writes {
			if err := s.put(ctx, q, w); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errStateMoved) {
		return errorf(ErrConflict, "write %s: the workspace changed since the state the writes expect", last.Entry.Name)
	}
	return pgErr(ctx, "write "+last.Entry.Name, err)
}

// errStateMoved: a workspace was not at a Write's ExpectState.
var errStateMoved = errors.New("workspace state moved")

// put runs one write in the transaction q (see write).
func (s *PostgresStore) put(ctx context.Context, q sqlx.ExtContext, w Write) error {
	query := s.q.put
	if w.Audit != nil {
		query = s.q.putAudited
	}
	args, err := query.Args(putParams(w))
	if err != nil {
		return err
	}
	var id, state int64
	dest := []any{&state}
	if w.Audit != nil {
		dest = []any{&id, &state}
	}
	scan := func(rows *sql.Rows) error { return scanOne(rows, dest...) }
	if tx, ok := q.(*sqlx.Tx); ok && s.prepare {
		err = s.prepared(ctx, tx, query.SQL, args, scan)
	} else {
		err = runQuery(ctx, q, query.SQL, args, scan) // never inlined: see run
	}
	if err != nil {
		return err
	}
	if w.Audit != nil {
		w.Audit.ID, w.Audit.State = id, state
	}
	return nil
}

// scanState reads the state a write statement returns, and the ID of its
// audit event.
func scanState(row *sqlx.Row, audit *Event) error {
	var id, state int64
	dest := []any{&state}
	if audit != nil {
		dest = []any{&id, &state}
	}
	if err := row.Scan(dest...); err != nil {
		return err
	}
	if audit != nil {
		audit.ID, audit.State = id, state
	}
	return nil
}

// pgBatchWrite is one write of a batch, as put_batch reads it.
type pgBatchWrite struct {
	Workspace   string     `json:"workspace"`
	SecretID    string     `json:"secret_id"`
	Expect      int64      `json:"expect"`
	NewVersion  bool       `json:"new_version"`
	Destroy     bool       `json:"destroy"`
	Check       bool       `json:"check"`
	KeyGen      int64      `json:"key_gen"`
	Keep        int        `json:"keep"`
	MaxEnv      int64      `json:"max_env"`
	Name        string     `json:"name"`
	Revision    int64      `json:"revision"`
	Created     time.Time  `json:"created"`
	CreatedBy   string     `json:"created_by"`
	Updated     time.Time  `json:"updated"`
	UpdatedBy   string     `json:"updated_by"`
	Description string     `json:"description"`
	Expires     *time.Time `json:"expires"`
	RotateBy    *time.Time `json:"rotate_by"`
	Deleted     *time.Time `json:"deleted"`
	DeletedBy   string     `json:"deleted_by"`
	Version     int64      `json:"version"`
	Flags       int16      `json:"flags"`
	Format      int16      `json:"format"`
	Ciphertext  []byte     `json:"ciphertext"`
	KeyID       int64      `json:"key_id"`
	EnvSize     int64      `json:"env_size"`
	Fingerprint []byte     `json:"fingerprint"`
	Written     time.Time  `json:"written"`
	WrittenBy   string     `json:"written_by"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// putBatch runs writes (none re-encrypting) as one put_batch call.
func (s *PostgresStore) putBatch(ctx context.Context, q sqlx.ExtContext, writes []Write, audit *Event) error {
	bs := make([]pgBatchWrite, len(writes))
	limit := 0 // one limit for the batch: the Manager gives each write its own
	for i, w := range writes {
		limit = max(limit, w.MaxSecrets)
		e, v := w.Entry, w.Entry.Current
		ct := v.Ciphertext
		if ct == nil {
			ct = []byte{}
		}
		bs[i] = pgBatchWrite{Workspace: e.Workspace, SecretID: e.SecretID, Expect: w.Expect, NewVersion: w.NewVersion,
			Destroy: w.Destroy, Check: w.Check, KeyGen: w.KeyGen, Keep: w.Keep, MaxEnv: w.MaxEnvBytes, Name: e.Name,
			Revision: e.Revision, Created: e.Created, CreatedBy: e.CreatedBy, Updated: e.Updated, UpdatedBy: e.UpdatedBy,
			Description: e.Description, Expires: timePtr(e.Expires), RotateBy: timePtr(e.RotateBy), Deleted: timePtr(e.Deleted),
			DeletedBy: e.DeletedBy, Version: v.Version, Flags: flagsOf(v), Format: int16(max(v.Format, 1)), Ciphertext: ct,
			KeyID: int64(v.KeyID), EnvSize: v.EnvSize, Fingerprint: v.Fingerprint, Written: v.Written, WrittenBy: v.WrittenBy}
	}
	b, err := json.Marshal(bs)
	if err != nil {
		return err
	}
	// A string, sent as text: bytes would go as binary jsonb with lib/pq's
	// binary_parameters, and as bytea text with pgx's exec mode.
	p := pgParams{"writes": string(b), "max_secrets": limit}
	if audit == nil {
		var state int64
		return getQ(ctx, q, &state, s.q.putBatch, p)
	}
	eventParams(p, audit)
	args, err := s.q.putBatchAudited.Args(p)
	if err != nil {
		return err
	}
	return scanState(q.QueryRowxContext(ctx, s.q.putBatchAudited.SQL, args...), audit)
}

// putParams are the parameters of put and put_audited for w: put_secret's,
// the versions it re-seals (NULL when none) and, for an audited write,
// its event's.
func putParams(w Write) pgParams {
	e, v := w.Entry, w.Entry.Current
	ct := v.Ciphertext
	if ct == nil {
		ct = []byte{}
	}
	p := pgParams{
		"workspace": e.Workspace, "secret_id": e.SecretID, "expect": w.Expect, "new_version": w.NewVersion,
		"destroy": w.Destroy, "check": w.Check, "key_gen": w.KeyGen, "keep": w.Keep, "max_env": w.MaxEnvBytes,
		"max_secrets": w.MaxSecrets,
		"name":        e.Name, "revision": e.Revision, "created": e.Created, "created_by": e.CreatedBy,
		"updated": e.Updated, "updated_by": e.UpdatedBy, "description": e.Description,
		"expires": timeOrNull(e.Expires), "rotate_by": timeOrNull(e.RotateBy),
		"deleted": timeOrNull(e.Deleted), "deleted_by": e.DeletedBy,
		"version": v.Version, "flags": flagsOf(v), "format": int16(max(v.Format, 1)), "ciphertext": ct,
		"key_id": int64(v.KeyID), "env_size": v.EnvSize, "fingerprint": v.Fingerprint,
		"written": v.Written, "written_by": v.WrittenBy,
		"rs_versions": nil, "rs_names": nil, "rs_flags": nil, "rs_formats": nil,
		"rs_ciphertexts": nil, "rs_key_ids": nil, "rs_env_sizes": nil,
	}
	if n := len(w.Reseal); n > 0 {
		nums, kids, envs := make([]int64, n), make([]int64, n), make([]int64, n)
		names, flags, formats := make([]string, n), make([]int64, n), make([]int64, n)
		cts := make(pq.ByteaArray, n)
		for i, r := range w.Reseal {
			nums[i], names[i], flags[i], formats[i] = r.Version, r.Name, int64(flagsOf(r)), int64(max(r.Format, 1))
			cts[i], kids[i], envs[i] = r.Ciphertext, int64(r.KeyID), r.EnvSize
		}
		p["rs_versions"], p["rs_names"], p["rs_flags"], p["rs_formats"] = pq.Array(nums), pq.Array(names), pq.Array(flags), pq.Array(formats)
		p["rs_ciphertexts"], p["rs_key_ids"], p["rs_env_sizes"] = cts, pq.Array(kids), pq.Array(envs)
	}
	if w.Audit != nil {
		// The audit row's state is put_secret's result.
		eventParams(p, w.Audit)
	}
	return p
}

// write runs fn in a READ COMMITTED transaction, never on the pool:
// database/sql sends a statement of the pool again on another connection
// when the driver calls the first bad, and lib/pq does so of a connection
// lost after the statement went out, which the server may still commit (a
// trial: one Set, two versions). It sends BEGIN again so, which is safe,
// and never a statement of a transaction. The server rolls back a
// transaction whose connection is lost before COMMIT went out, and never
// commits it later, so write runs it again, on another connection (up to
// maxLostTries times). Only a connection lost after COMMIT went out
// leaves the outcome unknown (ErrDatabaseUnavailable).
//
// So does a COMMIT during which ctx ended (its deadline passed, or the
// caller cancelled): the server may have committed it while the driver
// gave up (pgx: the context's error), or have cut short, on the driver's
// cancel request, its wait for a synchronous standby and answered
// "committed" (lib/pq: no error, though the standby may not have it; the
// server logs "canceling wait for synchronous replication"). Either way
// write returns ErrDatabaseUnavailable wrapping ctx's error, never
// success and never the context's error alone, which a caller would take
// for "not written".
func (s *PostgresStore) write(ctx context.Context, fn func(q sqlx.ExtContext) error) error {
	if s.prepare {
		// Prepared on the pool before the transaction takes a
		// connection: on a pool of one, preparing inside would wait
		// for the connection the transaction holds.
		for _, q := range []*pgschema.Query{s.q.put, s.q.putAudited} {
			if _, err := s.stmt(ctx, q.SQL); err != nil {
				return err
			}
		}
	}
	return s.retry(ctx, func() error {
		for try := 1; ; try++ {
			stage, err := s.tx(ctx, func(tx *sqlx.Tx) error { return fn(tx) })
			if stage == txCommit && ctx.Err() != nil {
				return &failure{class: ErrDatabaseUnavailable, cause: ctx.Err(),
					msg: "the call's context ended while the database committed: the write may be committed (and, with a synchronous standby, not be on it)"}
			}
			if err == nil || stage != txInside || !lostBeforeCommit(err) || ctx.Err() != nil || try == maxLostTries {
				return err
			}
		}
	})
}

// maxLostTries bounds the runs of a write transaction whose connection is
// lost before its COMMIT (see write).
const maxLostTries = 3
