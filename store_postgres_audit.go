package secrets

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// eventSecrets are an event's names, versions and fingerprints, as
// arrays. Delivery events keep the names a job asked for (NULL: all),
// without versions. An ingredient (EventSecret.Ingredient) is stored with
// its version negated: versions start at 1, so the sign is free to say it.
// Without a fingerprint among them (no Config.AuditKey), the event's
// fingerprints are NULL rather than an empty one for each secret: Events
// reads either as none. The fingerprints of the values the job got
// expanded follow those of the secrets (see audit_expanded).
func eventSecrets(e *Event) (names, nums, fps any) {
	f := make(pq.ByteaArray, len(e.Secrets), len(e.Secrets)+len(e.Expanded))
	some := len(e.Expanded) > 0
	if e.Secrets != nil || !delivers(e.Action) {
		n := make([]string, len(e.Secrets))
		v := make([]int64, len(e.Secrets))
		for i, s := range e.Secrets {
			n[i], v[i], f[i] = s.Name, s.Version, s.Fingerprint
			if s.Ingredient {
				v[i] = -s.Version
			}
			if f[i] == nil {
				f[i] = []byte{}
			} else {
				some = true
			}
		}
		names, nums = pq.Array(n), pq.Array(v)
	}
	if some {
		fps = append(f, e.Expanded...)
	}
	return names, nums, fps
}

// eventParams adds to p the columns of e that an audited write records
// with its own state (put_audited, put_batch_audited,
// delete_workspace_audited): all but the state and the provenance.
func eventParams(p pgParams, e *Event) {
	names, nums, fps := eventSecrets(e)
	p["event_at"], p["event_actor"], p["event_action"], p["event_workspace"] = e.Time, e.Actor, string(e.Action), e.Workspace
	p["event_names"], p["event_versions"], p["event_fingerprints"] = names, nums, fps
	p["event_outcome"], p["event_detail"] = string(e.Outcome), truncateUTF8(e.Detail, maxDetail)
}

// pgRecordColumns are the parameters of a whole event (the statements
// audit and audit_relaxed, and each row of Record's multi-row insert,
// whose VALUES need their types), in the order of the columns of
// record_events_head.
var pgRecordColumns = [...]struct{ param, typ string }{
	{"event_at", "timestamptz"}, {"event_actor", "text"}, {"event_action", "text"}, {"event_workspace", "text"},
	{"event_state", "bigint"}, {"event_names", "text[]"}, {"event_versions", "bigint[]"},
	{"event_fingerprints", "bytea[]"}, {"event_outcome", "text"}, {"event_detail", "text"},
	{"event_parents", "text[]"}, {"event_containers", "text[]"}, {"event_withheld", "boolean[]"},
	{"event_environment", "text"}, {"event_protected", "boolean"},
}

// recordValues are e's values in the order of pgRecordColumns. The
// provenance: an event with parents has the chain, and each secret's
// container and whether it was withheld (NULLs otherwise); then the
// job's environment and whether it was protected (NULL for none and
// not).
func recordValues(e *Event) [len(pgRecordColumns)]any {
	names, nums, fps := eventSecrets(e)
	var parents, containers, withheld, env, prot any
	if e.Environment != "" {
		env = e.Environment
	}
	if e.Protected {
		prot = true
	}
	if e.Parents != nil {
		cs := make([]string, len(e.Secrets))
		wh := make([]bool, len(e.Secrets))
		for i, s := range e.Secrets {
			cs[i], wh[i] = s.Container, s.Withheld
		}
		parents, containers, withheld = pq.Array(e.Parents), pq.Array(cs), pq.Array(wh)
	}
	return [...]any{e.Time, e.Actor, string(e.Action), e.Workspace, e.State, names, nums, fps,
		string(e.Outcome), truncateUTF8(e.Detail, maxDetail), parents, containers, withheld, env, prot}
}

// recordParams are the parameters of audit and audit_relaxed for e.
func recordParams(e *Event) pgParams {
	v := recordValues(e)
	p := make(pgParams, len(v))
	for i, c := range pgRecordColumns {
		p[c.param] = v[i]
	}
	return p
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
	Omitted      bool           `db:"omitted"` // see events_page_head
}

// Record implements Store. Several events go in as one multi-row insert
// (one statement, one commit; a transaction of several statements past
// pgRecordRows events), each getting the ID the database assigned it.
func (s *PostgresStore) Record(ctx context.Context, events []Event) error {
	err := s.retry(ctx, func() error {
		switch {
		case len(events) == 1:
			return s.row(ctx, s.db, s.q.audit, recordParams(&events[0]), &events[0].ID)
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
// each, the ord and pgRecordColumns, under Postgres's 65,535).
const pgRecordRows = 1000

// recordRows inserts events in one statement and sets their IDs (see
// record_events_head). Its rows of VALUES are built here, with
// positional parameters: 16 for each event.
func (s *PostgresStore) recordRows(ctx context.Context, db sqlx.QueryerContext, events []Event) error {
	var q strings.Builder
	args := make([]any, 0, len(events)*(1+len(pgRecordColumns)))
	q.WriteString(s.q.recordHead)
	var num []byte
	param := func(n int, typ string) {
		num = strconv.AppendInt(num[:0], int64(n), 10)
		q.WriteString("$")
		q.Write(num)
		q.WriteString("::")
		q.WriteString(typ)
	}
	for i := range events {
		if i > 0 {
			q.WriteString(",")
		}
		n := len(args)
		q.WriteString("\n\t(")
		param(n+1, "int")
		for j, c := range pgRecordColumns {
			q.WriteString(", ")
			param(n+2+j, c.typ)
		}
		q.WriteString(")")
		v := recordValues(&events[i])
		args = append(append(args, i), v[:]...)
	}
	q.WriteString("\n")
	q.WriteString(s.q.recordTail)
	got := 0
	err := s.run(ctx, db, q.String(), args, s.inline, func(rows *sql.Rows) error {
		for rows.Next() {
			var ord int
			var id int64
			if err := rows.Scan(&ord, &id); err != nil {
				return err
			}
			events[ord].ID = id
			got++
		}
		return rows.Err()
	})
	if err != nil {
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
		return s.row(ctx, s.db, s.q.auditRelaxed, recordParams(e), &e.ID)
	})
	return pgErr(ctx, "record audit events", err)
}

// Events implements Store. Its statement is assembled from the
// fragments events_select, events_by_name and events_by_fingerprint of
// queries.sql and the filters q sets.
func (s *PostgresStore) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	query, p, err := s.eventsQuery(q)
	if err != nil {
		return nil, pgErr(ctx, "read audit events", err)
	}
	var rows []pgEvent
	if err := selectQ(ctx, s.db, &rows, query, p); err != nil {
		return nil, pgErr(ctx, "read audit events", err)
	}
	return s.eventsOf(ctx, rows)
}

// eventsQuery assembles the statement of a page of events and its
// parameters.
func (s *PostgresStore) eventsQuery(q EventQuery) (*pgschema.Query, pgParams, error) {
	var b strings.Builder
	b.WriteString(s.q.eventsPageHead)
	b.WriteString(s.q.eventsSelect)
	b.WriteString("\nWHERE TRUE")
	p := pgParams{}
	add := func(cond, param string, v any) {
		b.WriteString(" AND " + cond)
		p[param] = v
	}
	if q.Workspace != "" {
		add("e.workspace = :workspace", "workspace", q.Workspace)
	}
	if q.Actor != "" {
		add("e.actor = :actor", "actor", q.Actor)
	}
	if q.Action != "" {
		add("e.action = :action", "action", string(q.Action))
	}
	if q.SkipLists {
		// As migration 12's partial index says it, so that the planner
		// uses it.
		b.WriteString(" AND NOT (e.action = 'list' AND e.outcome = 'ok')")
	}
	if !q.From.IsZero() {
		add("e.at >= :from", "from", q.From)
	}
	if !q.To.IsZero() {
		add("e.at < :to", "to", q.To)
	}
	if q.After > 0 {
		add("e.id > :after", "after", q.After)
	}
	if q.Before > 0 {
		add("e.id < :before", "before", q.Before)
	}
	if q.Name != "" {
		add(s.q.eventsByName, "name", q.Name)
	}
	if fps := q.fingerprints(); fps != nil {
		add(s.q.eventsByFingerprint, "fingerprints", pq.ByteaArray(fps))
	}
	order := ""
	if q.Newest {
		order = " DESC"
	}
	b.WriteString("\nORDER BY e.id" + order + " LIMIT :limit")
	b.WriteString("\n) q WINDOW w AS (ORDER BY q.id" + order + ")) p ORDER BY p.id" + order)
	p["limit"], p["budget"] = max(q.Limit, 1), MaxEventPageSecrets
	query, err := pgschema.Compile("events", b.String())
	return query, p, err
}

// eventsOf completes the events of rows with what they delivered.
func (s *PostgresStore) eventsOf(ctx context.Context, rows []pgEvent) ([]Event, error) {
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
		if r.Omitted {
			e.SecretsOmitted = true
		} else if delivers(e.Action) && e.Outcome == OutcomeOK && e.State > 0 && e.Parents == nil {
			deliveries = append(deliveries, e.ID)
			at[e.ID] = i
			// A delivery's own fingerprints are only those of its
			// expanded values (audit_expanded).
			// (past the names it lists when its read could not record it
			// and the Manager recorded it afterwards, with every name).
			e.Expanded = expandedOf(r.Fingerprints, len(r.Names))
		} else if r.Names != nil {
			e.Expanded = expandedOf(r.Fingerprints, len(r.Names))
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
		if err := selectQ(ctx, s.db, &ds, s.q.delivered, pgParams{"ids": pq.Array(deliveries)}); err != nil {
			return nil, pgErr(ctx, "read delivered secrets", err)
		}
		for _, d := range ds {
			e := &out[at[d.ID]]
			e.Secrets = append(e.Secrets, EventSecret{Name: d.Name, Version: d.Version, Fingerprint: d.Fingerprint})
		}
	}
	return out, nil
}

// expandedOf is an event's Expanded: its fingerprints past those of its n
// listed secrets.
func expandedOf(fps pq.ByteaArray, n int) [][]byte {
	if len(fps) <= n {
		return nil
	}
	return [][]byte(fps[n:])
}

// DropEvents implements Purger: it deletes the oldest events first, then
// the ledger entries superseded before the cutoff (less a margin for the
// clocks of replicas), and the tombstones nothing precedes any more.
func (s *PostgresStore) DropEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	// In a transaction (see write): a delete sent again would count none
	// of the events the first dropped (a trial: 5 dropped, 0 reported).
	err := s.write(ctx, func(q sqlx.ExtContext) error {
		if err := getQ(ctx, q, &n, s.q.dropEvents, pgParams{"before": before, "limit": limit}); err != nil {
			return err
		}
		if n == limit {
			// More to drop: the last call sweeps the ledger, which has no
			// index on at (an SRE trial: a scan of it for each batch of
			// 10,000 events).
			return nil
		}
		cutoff := pgParams{"cutoff": before.Add(-ledgerMargin)}
		if err := execQ(ctx, q, s.q.dropLedger, cutoff); err != nil {
			return err
		}
		return execQ(ctx, q, s.q.dropTombstones, cutoff)
	})
	return n, pgErr(ctx, "drop audit events", err)
}

// Unfingerprinted implements FingerprintStore.
func (s *PostgresStore) Unfingerprinted(ctx context.Context, q UnfingerprintedQuery) ([]Version, error) {
	var rows []pgVersion
	p := pgParams{"workspace": q.Workspace, "after_workspace": q.AfterWorkspace, "after_secret_id": q.AfterSecretID,
		"after_version": q.AfterVersion, "limit": q.Limit}
	if err := selectQ(ctx, s.db, &rows, s.q.unfingerprinted, p); err != nil {
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
		return execQ(ctx, s.db, s.q.setFingerprints, pgParams{"workspaces": pq.Array(wss), "secret_ids": pq.Array(ids),
			"versions": pq.Array(nums), "fingerprints": fps})
	})
	return pgErr(ctx, "set fingerprints", err)
}

// recordExpanded implements expandedRecorder: it appends fps to the
// fingerprints of the audit row id (events_by_fingerprint finds them).
func (s *PostgresStore) recordExpanded(ctx context.Context, id int64, fps [][]byte, relaxed bool) error {
	q := s.q.auditExpanded
	if relaxed {
		q = s.q.auditExpandedRelaxed
	}
	// In a transaction (see write): an append sent again would append
	// them twice (a trial).
	err := s.write(ctx, func(tx sqlx.ExtContext) error {
		var got int64
		return s.row(ctx, tx, q, pgParams{"id": id, "fingerprints": pq.ByteaArray(fps)}, &got)
	})
	return pgErr(ctx, "record the expanded values' fingerprints", err)
}
