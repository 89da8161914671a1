package secrets

import (
	"context"
	"errors"
	"fmt"
)

// RetireMasterKey retires the former master key id, once the store has
// moved to the Manager's primary master key (Rewrap): from then on the
// Store refuses any workspace key wrapped by id, so that a replica or a
// tool still configured with it as its primary cannot make workspace keys
// that replicas without it cannot read (their first write fails with a
// *MasterKeyError, Retired, naming the key). Keys it wrapped before are
// not touched; a Manager that has id in Config.DecryptOnly still reads
// them until they are re-wrapped.
//
// It refuses, with a *MasterKeyError (matching ErrMasterKey) and changing
// nothing, the Manager's own master key (Primary) and a key that still
// wraps workspace keys (InUse: run Rewrap first); a key the Store does
// not know is ErrNotFound. Retiring a retired key again is not an error.
// The Manager's own master key must be registered (see
// Config.AddMasterKey), so that the store is never left with no key to
// write with. It is authorized and audited as ActionRotate on the
// workspace "", as Rewrap is, and needs a Store that is a
// MasterKeyRetirer.
func (m *Manager) RetireMasterKey(ctx context.Context, id string) error {
	e := m.event(ctx, ActionRotate, "")
	if err := m.authorize(ctx, e); err != nil {
		return err
	}
	e.Detail = "retire master key " + id
	if err := m.retireMasterKey(ctx, id); err != nil {
		return m.failed(ctx, e, err)
	}
	e.Detail = fmt.Sprintf("master key %s retired; the store writes with master key %s", id, m.cipher.ID())
	return unrecorded(m.record(ctx, e), "master key %s retired", id)
}

func (m *Manager) retireMasterKey(ctx context.Context, id string) error {
	if id == m.cipher.ID() {
		return &MasterKeyError{ID: id, Primary: true}
	}
	r, ok := m.store.(MasterKeyRetirer)
	if !ok {
		return errorf(nil, "retire master key: the %T store cannot", m.store)
	}
	if err := m.knowMasterKey(ctx); err != nil {
		return err
	}
	// Count the keys id still wraps, to say how many; the Store checks
	// again, atomically, as it retires.
	if rs, ok := m.store.(RotationStore); ok {
		n, after := 0, ""
		for {
			keys, _, err := rs.ForeignKeys(ctx, ForeignKeysQuery{CipherID: m.cipher.ID(), After: after, Limit: rotateBatch})
			if err != nil {
				return wrapf(err, "retire master key %s", id)
			}
			if len(keys) == 0 {
				break
			}
			for _, k := range keys {
				if k.CipherID == id {
					n++
				}
			}
			after = keys[len(keys)-1].Workspace
		}
		if n > 0 {
			return &MasterKeyError{ID: id, InUse: n}
		}
	}
	err := r.RetireMasterKey(ctx, id, m.now())
	if mk := (*MasterKeyError)(nil); errors.As(err, &mk) {
		return err
	}
	return wrapf(err, "retire master key %s", id)
}
