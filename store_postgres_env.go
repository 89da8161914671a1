package secrets

// The job's read on Postgres: one statement for the rows, the header rows
// (state, key generation, the event's ID) and, when audited, the event.

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/lib/pq"
)

// Env implements Store: one statement reads the rows, the workspace's
// state and key generation (and records the audit event), scanned without
// reflection.
func (s *PostgresStore) Env(ctx context.Context, ws string, q EnvQuery) (Snapshot, error) {
	var names any = pq.StringArray(nil) // NULL: every secret
	if q.Names != nil {
		lower := make(pq.StringArray, len(q.Names))
		for i, n := range q.Names {
			lower[i] = strings.ToLower(n)
		}
		names = lower
	}
	levels := len(q.Parents) > 0
	query, p := s.q.envRead, pgParams{"workspace": ws, "names": names}
	switch a := q.Audit; {
	case levels && a != nil:
		return Snapshot{}, errorf(nil, "read workspace %s: an audited read of several levels", quote(ws))
	case levels:
		query, p = s.q.envLevels, pgParams{"containers": pq.StringArray(slices.Concat([]string{ws}, q.Parents)), "names": names}
	case a != nil:
		query = s.q.envAudited
		p["relaxed"], p["at"], p["actor"], p["action"] = q.Relaxed, a.Time, a.Actor, string(a.Action)
		p["outcome"], p["detail"] = string(a.Outcome), truncateUTF8(a.Detail, maxDetail)
	}
	args, err := query.Args(p)
	if err != nil {
		return Snapshot{}, err
	}
	size := s.sizeOf(ws)
	hint := int(size.Load())
	var snap Snapshot
	err = s.retry(ctx, func() error {
		return s.hot(ctx, query.SQL, args, s.inline && hint <= bigRead, func(rows *sql.Rows) error {
			return scanEnv(rows, &snap, q.Parents, q.Audit, hint)
		})
	})
	if err != nil {
		return Snapshot{}, pgErr(ctx, "read workspace "+quote(ws), err)
	}
	if q.Names == nil { // a read of some names says nothing of the workspace's size
		size.Store(int32(min(len(snap.Entries), math.MaxInt32)))
	}
	if q.Audit != nil {
		q.Audit.State = snap.State
	} else if q.Unscoped {
		snap.Entries = unscoped(snap.Entries)
	}
	return snap, nil
}

// bigRead is the number of secrets past which a workspace's next read
// goes as a statement with parameters, not as a simple query (see
// PostgresStore.run): a simple query's results come as text, ciphertexts
// in hex, and decoding them cost a read of 1,000 secrets more than the
// second round trip of a statement with parameters, whose ciphertexts
// come in binary; at 100 the round trip costs more
// (BenchmarkEnvForPostgres/writes-only).
const bigRead = 400

// sizeOf is the slot of PostgresStore.sizes for workspace ws.
func (s *PostgresStore) sizeOf(ws string) *atomic.Int32 {
	h := fnv.New32a()
	h.Write([]byte(ws))
	return &s.sizes[h.Sum32()%uint32(len(s.sizes))]
}

// scanEnv reads Env's rows into snap: with parents, each row starts
// with its level (see env_levels in migration 6). hint, how many secrets
// the workspace's last read returned, sizes snap.Entries (at most 4,096
// to begin with), so that a read grows no slice of entries.
func scanEnv(rows *sql.Rows, snap *Snapshot, parents []string, audit *Event, hint int) error {
	*snap = Snapshot{Entries: make([]EnvEntry, 0, min(max(hint, 16), 4096))}
	// The scan targets are made once, and the ciphertexts copied into
	// shared chunks, each twice the size of the last (from 2 KiB to
	// 64 KiB): a workspace of thousands of secrets is read with a few
	// allocations per secret, not a dozen, and one of ten with two.
	var (
		e       EnvEntry
		id      sql.NullString
		packed  int64
		expires sql.NullTime
		ct      sql.RawBytes
		chunk   []byte
	)
	targets := make([]any, 0, 6)
	if len(parents) > 0 {
		targets = append(targets, &e.Level)
		snap.Parents = make([]LevelState, len(parents))
		for i, c := range parents {
			snap.Parents[i].Container = c
		}
	}
	targets = append(targets, &id, &e.Name, &packed, &ct, &expires)
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			return err
		}
		if !id.Valid { // a header row: see migration 6
			if n, ok := strings.CutPrefix(e.Name, "event "); ok && audit != nil {
				eid, err := strconv.ParseInt(n, 10, 64)
				if err != nil {
					return fmt.Errorf("event header: %w", err)
				}
				audit.ID = eid
				continue
			}
			state, err := strconv.ParseInt(e.Name, 10, 64)
			if err != nil {
				return fmt.Errorf("workspace header: %w", err)
			}
			if e.Level < 0 || e.Level > len(snap.Parents) {
				return fmt.Errorf("workspace header of level %d", e.Level)
			}
			if e.Level == 0 {
				snap.State, snap.KeyGen = state, packed
			} else {
				snap.Parents[e.Level-1].State, snap.Parents[e.Level-1].KeyGen = state, packed
			}
			continue
		}
		if cap(chunk)-len(chunk) < len(ct) {
			chunk = make([]byte, 0, max(min(2*cap(chunk), 64<<10), 2<<10, len(ct)))
		}
		start := len(chunk)
		chunk = append(chunk, ct...)
		e.Ciphertext = chunk[start:len(chunk):len(chunk)]
		e.SecretID, e.Expires = id.String, nullTime(expires)
		flags := packed & 15
		e.Version, e.Format = packed>>10, int(packed>>4&63)
		e.WriteOnly, e.File, e.Protected = flags&flagWriteOnly != 0, flags&flagFile != 0, flags&flagProtected != 0
		e.Expand = flags&flagExpand != 0
		snap.Entries = append(snap.Entries, e)
	}
	if !slices.IsSortedFunc(snap.Entries, envEntryByName) {
		// The query's order is Postgres's way of doing it, not a
		// promise of SQL: keep Env's.
		slices.SortFunc(snap.Entries, envEntryByName)
	}
	return rows.Err()
}

func envEntryByName(a, b EnvEntry) int {
	if a.Level != b.Level {
		return a.Level - b.Level
	}
	return strings.Compare(a.Name, b.Name)
}
