package secrets

import (
	"context"
	"time"
)

// Delete soft-deletes a secret: it is no longer listed (but by List with
// Deleted), injected or revealed, it keeps its name, versions and Info,
// and Undelete restores it. Purge destroys it after Config.DeleteRetention.
// It returns ErrNotFound if there is no live secret of that name, and
// *ConflictError for a stale opts.IfRevision; nil opts deletes
// unconditionally.
func (m *Manager) Delete(ctx context.Context, ws, name string, opts *WriteOptions) (Meta, error) {
	return m.setDeleted(ctx, softDelete, ws, name, opts.ifRevision())
}

// Undelete restores a soft-deleted secret. It returns ErrNotFound if there
// is no secret of that name, *ConflictError if it is not deleted or
// opts.IfRevision is stale (nil opts: unconditional), and ErrTooLarge if
// it no longer fits the workspace's environment budget. The value of a
// secret that opts in to expansion is checked as Set checks it:
// *ReferenceError for a cycle it would close now, Meta.Undefined for
// names no secret defines.
func (m *Manager) Undelete(ctx context.Context, ws, name string, opts *WriteOptions) (Meta, error) {
	return m.setDeleted(ctx, restore, ws, name, opts.ifRevision())
}

// A deletion is what Delete or Undelete does to a secret's deleted mark.
type deletion struct {
	action Action // the event's action
	delete bool   // mark the secret deleted (a live one); else restore it (a deleted one)
	detail string // the event's detail
}

var (
	softDelete = deletion{action: ActionDelete, delete: true, detail: "deleted"}
	restore    = deletion{action: ActionSet, delete: false, detail: "restored"}
)

// setDeleted runs Delete or Undelete, as d says.
func (m *Manager) setDeleted(ctx context.Context, d deletion, ws, name string, ifRevision int64) (Meta, error) {
	var undefined []string
	w, err := m.write(ctx, writeOp{action: d.action, ws: ws, name: name, build: func(e *Event, cur *Entry, _ bool) (Write, error) {
		// Of this attempt only: a retry may not check at all.
		undefined = nil
		if err := m.need(cur, name, ifRevision, d.delete); err != nil { // only a live secret is deleted
			return Write{}, err
		}
		if !d.delete && cur.Deleted.IsZero() {
			return Write{}, &ConflictError{Name: cur.Name, Seen: cur.Revision, Revision: cur.Revision, Version: cur.Current.Version}
		}
		// A value that comes back may close a cycle saved meanwhile (B=${A}
		// while A=${B} was deleted): checked as Set checks it.
		var hold *int64
		if !d.delete && cur.Current.Expand {
			p, err := m.openCurrent(ctx, cur)
			if err != nil {
				return Write{}, err
			}
			undefined, hold, err = m.checkRefs(ctx, ws, cur.Name, p, false)
			clear(p)
			if err != nil {
				return Write{}, wrapf(err, "undelete")
			}
		}
		ne := m.next(ctx, *cur)
		ne.Deleted, ne.DeletedBy = time.Time{}, ""
		if d.delete {
			ne.Deleted, ne.DeletedBy = ne.Updated, ne.UpdatedBy
		}
		w := m.newWrite(e, ne, cur, change{})
		w.Audit.Detail = d.detail
		holdState(&w, hold)
		return w, nil
	}})
	if err != nil {
		return Meta{}, err
	}
	meta := m.done(ctx, w)
	meta.Undefined = undefined
	return meta, nil
}

// Destroy removes a secret, live or soft-deleted, and all its versions at
// once; its name is free again. The audit trail and the ledger keep its
// name, versions and fingerprints, never its values. It returns
// ErrNotFound if there is no secret of that name and *ConflictError for a
// stale opts.IfRevision; nil opts destroys unconditionally.
//
// "For good" means: no copy is left in the live database. Copies made
// before (backups, snapshots, a standby's files, the database's own free
// space until it is reused) still hold the ciphertexts, and they decrypt
// as long as the workspace's keyset has the key they are under. With
// Config.DestroyRotates, Destroy then rotates the workspace's data key and
// deletes the former keys, so that such a copy put back into this
// database no longer decrypts; if that part fails, the secret is destroyed
// all the same and the error matches ErrIncomplete. A restore of the whole
// database, keyset included, together with the master key brings the
// value back whatever Destroy did.
func (m *Manager) Destroy(ctx context.Context, ws, name string, opts *WriteOptions) error {
	ifRevision := opts.ifRevision()
	w, err := m.write(ctx, writeOp{action: ActionDestroy, ws: ws, name: name, build: func(e *Event, cur *Entry, _ bool) (Write, error) {
		if err := m.need(cur, name, ifRevision, mayBeDeleted); err != nil {
			return Write{}, err
		}
		return m.newWrite(e, m.next(ctx, *cur), cur, change{destroy: true}), nil
	}})
	if err != nil {
		return err
	}
	m.hints.Remove(hintKey(ws, name))
	m.published(ctx, *w.Audit)
	if m.cfg.DestroyRotates {
		return m.forgetKeys(ctx, ws, w.Entry.Name, map[string]bool{w.Entry.SecretID: true})
	}
	return nil
}
