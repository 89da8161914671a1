package secrets

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// A PurgeResult reports what Purge did.
type PurgeResult struct {
	Destroyed     int `json:"destroyed"`      // secrets deleted longer than Config.DeleteRetention
	EventsDropped int `json:"events_dropped"` // audit events older than Config.EventRetention
}

// Purge destroys the secrets of every workspace that were soft-deleted
// more than Config.DeleteRetention ago (each destroy audited as any
// other; none if it is negative), and, unless Config.EventRetention is
// negative, drops the audit events
// older than that, in batches, with the ledger entries only they needed.
// Run it periodically, from one replica or several. It is authorized as
// ActionPurge of no particular workspace and needs a Store that is a
// Purger.
func (m *Manager) Purge(ctx context.Context) (PurgeResult, error) {
	var res PurgeResult
	e := m.event(ctx, ActionPurge, "")
	if err := m.authorize(ctx, e); err != nil {
		return res, err
	}
	p, ok := m.store.(Purger)
	if !ok {
		return res, m.failed(ctx, e, errorf(nil, "purge: the %T store cannot", m.store))
	}
	now := m.now()
	skipped := 0
	destroyed := map[string]string{}     // workspace -> a secret destroyed there, for Config.DestroyRotates
	gone := map[string]map[string]bool{} // workspace -> the IDs of the secrets destroyed there
	for m.cfg.DeleteRetention > 0 {
		es, err := p.DeletedBefore(ctx, now.Add(-m.cfg.DeleteRetention), rotateBatch)
		if err != nil {
			return res, m.failed(ctx, e, wrapf(err, "purge"))
		}
		if len(es) <= skipped {
			break
		}
		skipped = 0
		for _, en := range es {
			ne := m.next(ctx, en)
			de := m.event(ctx, ActionDestroy, en.Workspace)
			de.Detail = "deleted more than " + m.cfg.DeleteRetention.String() + " ago"
			w := m.newWrite(de, ne, &en, change{destroy: true})
			err := m.store.Put(ctx, w)
			switch {
			case err == nil:
				res.Destroyed++
				destroyed[en.Workspace] = en.Name
				if gone[en.Workspace] == nil {
					gone[en.Workspace] = map[string]bool{}
				}
				gone[en.Workspace][en.SecretID] = true
				m.hints.Remove(hintKey(en.Workspace, en.Name))
				m.published(ctx, *w.Audit)
			case errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound):
				skipped++ // restored or destroyed meanwhile
			default:
				return res, m.failed(ctx, e, wrapf(err, "purge"))
			}
		}
	}
	if m.cfg.DestroyRotates {
		var errs []error
		for _, ws := range slices.Sorted(maps.Keys(destroyed)) {
			errs = append(errs, m.forgetKeys(ctx, ws, destroyed[ws], gone[ws]))
		}
		if err := errors.Join(errs...); err != nil {
			return res, m.failed(ctx, e, wrapf(err, "purge"))
		}
	}
	if m.cfg.EventRetention > 0 {
		for {
			n, err := p.DropEvents(ctx, now.Add(-m.cfg.EventRetention), 10_000)
			if err != nil {
				return res, m.failed(ctx, e, wrapf(err, "purge events"))
			}
			res.EventsDropped += n
			if n < 10_000 {
				break
			}
		}
	}
	e.Detail = fmt.Sprintf("%d secrets destroyed, %d events dropped", res.Destroyed, res.EventsDropped)
	return res, unrecorded(m.record(ctx, e), "purged %d secrets and %d events", res.Destroyed, res.EventsDropped)
}
