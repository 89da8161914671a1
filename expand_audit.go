package secrets

import (
	"context"
	"strings"
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
