package secrets

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/lib/pq"
)

// expandAudited expands r's items as expandItems does and, with an
// AuditKey, sets r.expanded to the fingerprints of the delivered values
// that expansion changed: the values the job got, which no stored
// version holds, for its event (a leaked expanded value's fingerprints
// find the job). Only a read with a value that opts in and holds "${"
// pays for more than expandItems.
func (m *Manager) expandAudited(r *envRead, events []EventSecret, sorted bool) ([]EventSecret, []EventSecret, error) {
	var raw map[string]string // the raw values expansion may change, by variable
	if m.cfg.AuditKey != nil {
		for _, it := range r.items {
			if it.expand && !it.extra && strings.Contains(it.value(), "${") {
				if raw == nil {
					raw = map[string]string{}
				}
				raw[it.name()] = it.value()
			}
		}
	}
	events, ingredients, err := m.expandItems(r, events, sorted)
	if err != nil || raw == nil {
		return events, ingredients, err
	}
	for _, it := range r.items {
		if v, ok := raw[it.name()]; ok && !it.extra && it.value() != v {
			p := []byte(it.value())
			r.expanded = append(r.expanded, m.Fingerprint(p))
			clear(p)
		}
	}
	return events, ingredients, nil
}

// An expandedRecorder is a Store that can add the fingerprints of the
// values a job got expanded to the event its read recorded (EnvQuery.Audit):
// both of this package's stores.
type expandedRecorder interface {
	// recordExpanded adds fps to the event id; relaxed commits it without
	// waiting for the flush (AuditRelaxed).
	recordExpanded(ctx context.Context, id int64, fps [][]byte, relaxed bool) error
}

// auditExpanded makes the event e of a job of one workspace, whose
// values r holds, findable by the fingerprints of the values it got
// expanded (r.expanded): an event not yet recorded takes them with it
// (delivered records it); one its read recorded already (e.ID) gets them
// in one more statement, durable in AuditFailClosed mode before any value
// is returned. A job that expands nothing makes no statement. A failure
// is told to OnAuditError and, in AuditFailClosed mode (or if ctx is
// done), is the job's: ErrAudit, the job gets nothing.
func (m *Manager) auditExpanded(ctx context.Context, e *Event, r *envRead, recorded bool) error {
	if len(r.expanded) == 0 || m.cfg.AuditReads == AuditWritesOnly {
		return nil
	}
	e.Expanded = r.expanded
	er, ok := m.store.(expandedRecorder)
	if !recorded || e.ID == 0 || !ok {
		return nil
	}
	err := er.recordExpanded(ctx, e.ID, r.expanded, m.cfg.AuditReads == AuditRelaxed)
	if err == nil {
		return nil
	}
	if m.cfg.OnAuditError != nil {
		m.cfg.OnAuditError(ctx, []Event{*e}, err)
	}
	if ctx.Err() != nil {
		return wrapf(ctx.Err(), "record the expanded values' fingerprints")
	}
	if m.cfg.AuditReads == AuditFailClosed {
		return &failure{class: ErrAudit, msg: "audit event not recorded (the expanded values' fingerprints)", cause: err}
	}
	return nil
}

// hasFingerprint reports whether e involved a value with one of fps: a
// secret it lists, or a value its job got expanded.
func hasFingerprint(e *Event, fps [][]byte) bool {
	match := func(fp []byte) bool {
		return slices.ContainsFunc(fps, func(q []byte) bool { return bytes.Equal(fp, q) })
	}
	return slices.ContainsFunc(e.Secrets, func(es EventSecret) bool { return match(es.Fingerprint) }) ||
		slices.ContainsFunc(e.Expanded, match)
}

// recordExpanded implements expandedRecorder: it adds fps to the stored
// event id.
func (s *MemoryStore) recordExpanded(ctx context.Context, id int64, fps [][]byte, _ bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.events) - 1; i >= 0; i-- {
		if s.events[i].ID == id {
			for _, fp := range fps {
				s.events[i].Expanded = append(s.events[i].Expanded, bytes.Clone(fp))
			}
			return nil
		}
	}
	return errors.New("secrets: memory store: no event to add the expanded values' fingerprints to")
}

// recordExpanded implements expandedRecorder: it appends fps to the
// fingerprints of the audit row id (events_by_fingerprint finds them).
func (s *PostgresStore) recordExpanded(ctx context.Context, id int64, fps [][]byte, relaxed bool) error {
	q := s.q.auditExpanded
	if relaxed {
		q = s.q.auditExpandedRelaxed
	}
	err := s.retry(ctx, func() error {
		var got int64
		return s.row(ctx, s.db, q, pgParams{"id": id, "fingerprints": pq.ByteaArray(fps)}, &got)
	})
	return pgErr(ctx, "record the expanded values' fingerprints", err)
}
