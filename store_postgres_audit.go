package secrets

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// auditArgs are an event's columns, in the order of pgAuditCols. Delivery
// events keep the names a job asked for (NULL: all), without versions. An
// ingredient (EventSecret.Ingredient) is stored with its version negated:
// versions start at 1, so the sign is free to say it.
func auditArgs(e *Event) []any {
	var names, nums, fps any
	if e.Secrets != nil || !delivers(e.Action) {
		n := make([]string, len(e.Secrets))
		v := make([]int64, len(e.Secrets))
		f := make(pq.ByteaArray, len(e.Secrets))
		for i, s := range e.Secrets {
			n[i], v[i], f[i] = s.Name, s.Version, s.Fingerprint
			if s.Ingredient {
				v[i] = -s.Version
			}
			if f[i] == nil {
				f[i] = []byte{}
			}
		}
		names, nums, fps = pq.Array(n), pq.Array(v), f
	}
	return []any{e.Time, e.Actor, string(e.Action), e.Workspace, e.State, names, nums, fps,
		string(e.Outcome), truncateUTF8(e.Detail, maxDetail)}
}

// provenanceArgs are the columns of an event with parents: the chain, and
// each secret's container and whether it was withheld; NULLs otherwise.
// Then the job's environment and whether it was protected (NULL for none
// and not).
func provenanceArgs(e *Event) []any {
	var env, prot any
	if e.Environment != "" {
		env = e.Environment
	}
	if e.Protected {
		prot = true
	}
	if e.Parents == nil {
		return []any{nil, nil, nil, env, prot}
	}
	cs := make([]string, len(e.Secrets))
	wh := make([]bool, len(e.Secrets))
	for i, s := range e.Secrets {
		cs[i], wh[i] = s.Container, s.Withheld
	}
	return []any{pq.Array(e.Parents), pq.Array(cs), pq.Array(wh), env, prot}
}

type pgEvent struct {
	ID           int64          `db:"id"`
	At           time.Time      `db:"at"`
	Actor        string         `db:"actor"`
	Action       string         `db:"action"`
	Workspace    string         `db:"workspace"`
	State        int64          `db:"state"`
	Names        pq.StringArray `db:"names"`
	Versions     pq.Int64Array  `db:"versions"`
	Fingerprints pq.ByteaArray  `db:"fingerprints"`
	Outcome      string         `db:"outcome"`
	Detail       string         `db:"detail"`
	Parents      pq.StringArray `db:"parents"`
	Containers   pq.StringArray `db:"containers"`
	Withheld     pq.BoolArray   `db:"withheld"`
	Environment  sql.NullString `db:"environment"`
	Protected    sql.NullBool   `db:"protected"`
}

// Record implements Store. Several events go in as one multi-row insert
// (one statement, one commit; a transaction of several statements past
// pgRecordRows events), each getting the ID the database assigned it.
func (s *PostgresStore) Record(ctx context.Context, events []Event) error {
	err := s.retry(ctx, func() error {
		switch {
		case len(events) == 1:
			return s.db.GetContext(ctx, &events[0].ID, s.q.audit, append(auditArgs(&events[0]), provenanceArgs(&events[0])...)...)
		case len(events) <= pgRecordRows:
			return s.recordRows(ctx, s.db, events)
		}
		tx, err := s.db.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for rest := events; len(rest) > 0; {
			n := min(len(rest), pgRecordRows)
			if err := s.recordRows(ctx, tx, rest[:n]); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return tx.Commit()
	})
	return pgErr(ctx, "record audit events", err)
}

// pgRecordRows bounds the events of one insert statement (16 parameters
// each, under Postgres's 65,535).
const pgRecordRows = 1000

// recordRows inserts events in one statement and sets their IDs. The IDs
// are drawn from the table's sequence, one per row, and inserted with
// their rows, so each is matched to its event by position, not by the
// order in which RETURNING happens to list rows.
func (s *PostgresStore) recordRows(ctx context.Context, db sqlx.QueryerContext, events []Event) error {
	var q strings.Builder
	args := make([]any, 0, len(events)*16)
	q.WriteString("WITH v (ord, " + pgAuditCols + ", parents, containers, withheld, environment, protected) AS (VALUES ")
	for i := range events {
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d::int, $%d::timestamptz, $%d::text, $%d::text, $%d::text, $%d::bigint, $%d::text[], $%d::bigint[], "+
			"$%d::bytea[], $%d::text, $%d::text, $%d::text[], $%d::text[], $%d::boolean[], $%d::text, $%d::boolean)",
			n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10, n+11, n+12, n+13, n+14, n+15, n+16)
		args = append(append(append(args, i), auditArgs(&events[i])...), provenanceArgs(&events[i])...)
	}
	table := pq.QuoteIdentifier(s.schema) + ".audit"
	fmt.Fprintf(&q, `), ids AS (SELECT ord, nextval(pg_get_serial_sequence(%s, 'id')) AS id FROM v),
		ins AS (INSERT INTO %s (id, %s, parents, containers, withheld, environment, protected)
			SELECT ids.id, %s, v.parents, v.containers, v.withheld, v.environment, v.protected FROM v JOIN ids USING (ord) RETURNING 1)
		SELECT ord, id FROM ids`, pq.QuoteLiteral(table), table, pgAuditCols, "v."+strings.ReplaceAll(pgAuditCols, ", ", ", v."))
	rows, err := db.QueryxContext(ctx, q.String(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var ord int
		var id int64
		if err := rows.Scan(&ord, &id); err != nil {
			return err
		}
		events[ord].ID = id
		got++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if got != len(events) {
		return fmt.Errorf("audit insert returned %d IDs for %d events", got, len(events))
	}
	return nil
}

// recordRelaxed records one read's event as Record does, but commits it
// without waiting for it to be flushed, as Env does with
// EnvQuery.Relaxed.
func (s *PostgresStore) recordRelaxed(ctx context.Context, e *Event) error {
	err := s.retry(ctx, func() error {
		return s.db.GetContext(ctx, &e.ID, s.q.auditRelaxed, append(auditArgs(e), provenanceArgs(e)...)...)
	})
	return pgErr(ctx, "record audit events", err)
}

// deliveryOK is true of the events whose secrets come from the ledger.
// Events with parents list theirs.
const deliveryOK = `(e.action IN ('inject', 'export') AND e.outcome = 'ok' AND e.state > 0 AND e.parents IS NULL)`

// Events implements Store.
func (s *PostgresStore) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	sch := pq.QuoteIdentifier(s.schema)
	where := []string{"TRUE"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	add := func(cond string, v any) { where = append(where, strings.ReplaceAll(cond, "?", arg(v))) }
	if q.Workspace != "" {
		add("e.workspace = ?", q.Workspace)
	}
	if q.Actor != "" {
		add("e.actor = ?", q.Actor)
	}
	if q.Action != "" {
		add("e.action = ?", string(q.Action))
	}
	if !q.From.IsZero() {
		add("e.at >= ?", q.From)
	}
	if !q.To.IsZero() {
		add("e.at < ?", q.To)
	}
	if q.After > 0 {
		add("e.id > ?", q.After)
	}
	if q.Before > 0 {
		add("e.id < ?", q.Before)
	}
	if q.Name != "" {
		p := arg(strings.ToLower(q.Name))
		where = append(where, `(NOT `+deliveryOK+` AND EXISTS (SELECT 1 FROM unnest(e.names) n WHERE lower(n) = `+p+`)
			OR `+deliveryOK+` AND EXISTS (SELECT 1 FROM `+sch+`.delivered(e.workspace, e.state, e.action, e.names) d
				WHERE lower(d.name) = `+p+`))`)
	}
	if q.Fingerprint != nil {
		// Through the ledger's fingerprint index: the entries that held the
		// value, and the deliveries made while they were current.
		p := arg(q.Fingerprint)
		where = append(where, `(NOT `+deliveryOK+` AND `+p+` = ANY(e.fingerprints)
			OR `+deliveryOK+` AND EXISTS (SELECT 1 FROM `+sch+`.ledger l
				WHERE l.fingerprint = `+p+` AND l.workspace = e.workspace AND l.version > 0 AND l.state <= e.state
				  AND NOT EXISTS (SELECT 1 FROM `+sch+`.ledger n WHERE n.workspace = l.workspace
					AND n.secret_id = l.secret_id AND n.state > l.state AND n.state <= e.state)
				  AND (e.action <> 'export' OR NOT l.write_only)
				  AND (e.names IS NULL OR lower(l.name) IN (SELECT lower(x) FROM unnest(e.names) x))))`)
	}
	order := "e.id"
	if q.Newest {
		order = "e.id DESC"
	}
	query := fmt.Sprintf(`SELECT e.id, e.at, e.actor, e.action, e.workspace, e.state, e.names, e.versions, e.fingerprints,
		e.outcome, e.detail, e.parents, e.containers, e.withheld, e.environment, e.protected FROM %s.audit e WHERE %s ORDER BY %s LIMIT %s`, sch, strings.Join(where, " AND "), order, arg(max(q.Limit, 1)))
	var rows []pgEvent
	if err := s.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, pgErr(ctx, "read audit events", err)
	}
	out := make([]Event, len(rows))
	var deliveries []int64
	at := map[int64]int{}
	for i, r := range rows {
		e := Event{ID: r.ID, Time: r.At.UTC(), Actor: r.Actor, Action: Action(r.Action), Workspace: r.Workspace,
			State: r.State, Outcome: Outcome(r.Outcome), Detail: r.Detail,
			Environment: r.Environment.String, Protected: r.Protected.Bool}
		if r.Parents != nil {
			e.Parents = []string(r.Parents)
		}
		if delivers(e.Action) && e.Outcome == OutcomeOK && e.State > 0 && e.Parents == nil {
			deliveries = append(deliveries, e.ID)
			at[e.ID] = i
		} else if r.Names != nil {
			e.Secrets = make([]EventSecret, len(r.Names))
			for j, n := range r.Names {
				e.Secrets[j] = EventSecret{Name: n}
				if j < len(r.Versions) {
					e.Secrets[j].Version = r.Versions[j]
					if v := r.Versions[j]; v < 0 {
						e.Secrets[j].Version, e.Secrets[j].Ingredient = -v, true
					}
				}
				if j < len(r.Fingerprints) && len(r.Fingerprints[j]) > 0 {
					e.Secrets[j].Fingerprint = r.Fingerprints[j]
				}
				if j < len(r.Containers) {
					e.Secrets[j].Container = r.Containers[j]
				}
				if j < len(r.Withheld) {
					e.Secrets[j].Withheld = r.Withheld[j]
				}
			}
		}
		out[i] = e
	}
	if len(deliveries) > 0 {
		var ds []struct {
			ID          int64  `db:"id"`
			Name        string `db:"name"`
			Version     int64  `db:"version"`
			Fingerprint []byte `db:"fingerprint"`
		}
		if err := s.db.SelectContext(ctx, &ds, s.q.delivered, pq.Array(deliveries)); err != nil {
			return nil, pgErr(ctx, "read delivered secrets", err)
		}
		for _, d := range ds {
			e := &out[at[d.ID]]
			e.Secrets = append(e.Secrets, EventSecret{Name: d.Name, Version: d.Version, Fingerprint: d.Fingerprint})
		}
	}
	return out, nil
}

// DropEvents implements Purger: it deletes the oldest events first, then
// the ledger entries superseded before the cutoff (less a margin for the
// clocks of replicas), and the tombstones nothing precedes any more.
func (s *PostgresStore) DropEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := s.retry(ctx, func() error {
		if err := s.db.GetContext(ctx, &n, s.q.dropEvents, before, limit); err != nil {
			return err
		}
		cutoff := before.Add(-ledgerMargin)
		if _, err := s.db.ExecContext(ctx, s.q.dropLedger, cutoff); err != nil {
			return err
		}
		_, err := s.db.ExecContext(ctx, s.q.dropTombstones, cutoff)
		return err
	})
	return n, pgErr(ctx, "drop audit events", err)
}

// Unfingerprinted implements FingerprintStore.
func (s *PostgresStore) Unfingerprinted(ctx context.Context, q UnfingerprintedQuery) ([]Version, error) {
	var rows []pgVersion
	if err := s.db.SelectContext(ctx, &rows, s.q.unfingerprinted, q.Workspace, q.AfterWorkspace, q.AfterSecretID, q.AfterVersion, q.Limit); err != nil {
		return nil, pgErr(ctx, "find versions without fingerprints", err)
	}
	out := make([]Version, len(rows))
	for i, r := range rows {
		out[i] = r.version()
	}
	return out, nil
}

// SetFingerprints implements FingerprintStore.
func (s *PostgresStore) SetFingerprints(ctx context.Context, vs []Version) error {
	if len(vs) == 0 {
		return nil
	}
	wss, ids, nums, fps := make([]string, len(vs)), make([]string, len(vs)), make([]int64, len(vs)), make(pq.ByteaArray, len(vs))
	for i, v := range vs {
		wss[i], ids[i], nums[i], fps[i] = v.Workspace, v.SecretID, v.Version, v.Fingerprint
	}
	err := s.retry(ctx, func() error {
		_, err := s.db.ExecContext(ctx, s.q.setFingerprints, pq.Array(wss), pq.Array(ids), pq.Array(nums), fps)
		return err
	})
	return pgErr(ctx, "set fingerprints", err)
}
