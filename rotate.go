package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
)

// rotateBatch is how many versions or keys a rotation handles per store
// call.
const rotateBatch = 200

// KeyInfo describes one key of a workspace's data keyset.
type KeyInfo struct {
	ID      uint32 `json:"id"`
	Primary bool   `json:"primary"` // new versions are encrypted with it
	Enabled bool   `json:"enabled"` // ciphertexts under it can be decrypted
}

// Keys returns the keys of the workspace's data keyset, read from the
// Store.
func (m *Manager) Keys(ctx context.Context, ws string) ([]KeyInfo, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	e := m.event(ctx, ActionList, ws)
	if err := m.authorize(ctx, e); err != nil {
		return nil, err
	}
	k, err := m.freshKey(ctx, ws)
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	m.listed(ctx, e)
	info := k.handle.KeysetInfo()
	var out []KeyInfo
	for _, ki := range info.GetKeyInfo() {
		out = append(out, KeyInfo{
			ID:      ki.GetKeyId(),
			Primary: ki.GetKeyId() == info.GetPrimaryKeyId(),
			Enabled: ki.GetStatus() == tinkpb.KeyStatusType_ENABLED,
		})
	}
	return out, nil
}

// freshKey reads the workspace key from the Store, bypassing the cache,
// and caches it.
func (m *Manager) freshKey(ctx context.Context, ws string) (*dataKey, error) {
	m.keys.Remove(ws)
	k, err := m.loadKey(ctx, ws)
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(ErrNotFound, "workspace %q has no key", ws)
	}
	return k, err
}

// changeKey applies change to the workspace's keyset and stores it wrapped
// by the Manager's primary Cipher, with check-and-set on the key's
// generation. It returns ErrConflict if the key changed meanwhile.
func (m *Manager) changeKey(ctx context.Context, ws string, change func(*keyset.Manager) error) (*dataKey, error) {
	if err := m.knowMasterKey(ctx); err != nil {
		return nil, err
	}
	k, err := m.freshKey(ctx, ws)
	if err != nil {
		return nil, err
	}
	km := keyset.NewManagerFromHandle(k.handle)
	if err := change(km); err != nil {
		return nil, err
	}
	h, err := km.Handle()
	if err != nil {
		return nil, wrapf(err, "workspace %q", ws)
	}
	wrapped, err := wrapKey(ctx, m.cipher, ws, h)
	if err != nil {
		return nil, err
	}
	gen, err := m.store.PutKey(ctx, WrappedKey{Workspace: ws, CipherID: m.cipher.ID(), Ciphertext: wrapped, Updated: m.now()}, k.gen)
	m.keys.Remove(ws)
	if err != nil {
		return nil, err
	}
	nk, err := newDataKey(h, gen)
	if err != nil {
		return nil, err
	}
	m.keys.Add(ws, nk)
	return nk, nil
}

// SetKeyEnabled enables or disables one key of the workspace's keyset:
// the kill switch for a key thought compromised. Versions encrypted under
// a disabled key fail to decrypt (ErrDecrypt) until it is enabled again,
// on every replica from its next read. A key ID the keyset does not have
// (or a workspace without a key) is ErrNotFound; the primary key cannot be
// disabled (an error matching ErrConflict: rotate first). Keys lists the
// IDs.
func (m *Manager) SetKeyEnabled(ctx context.Context, ws string, keyID uint32, enabled bool) error {
	if err := validWorkspace(ws); err != nil {
		return err
	}
	e := m.event(ctx, ActionRotate, ws)
	if err := m.authorize(ctx, e); err != nil {
		return err
	}
	e.Detail = fmt.Sprintf("key %d enabled=%t", keyID, enabled)
	_, err := m.changeKey(ctx, ws, func(km *keyset.Manager) error {
		h, err := km.Handle()
		if err != nil {
			return err
		}
		info := h.KeysetInfo()
		found := false
		for _, k := range info.GetKeyInfo() {
			found = found || k.GetKeyId() == keyID
		}
		switch {
		case !found:
			return errorf(ErrNotFound, "the keyset has no key %d", keyID)
		case !enabled && info.GetPrimaryKeyId() == keyID:
			return errorf(ErrConflict, "key %d is the primary and cannot be disabled: rotate first", keyID)
		}
		if enabled {
			return km.Enable(keyID)
		}
		return km.Disable(keyID)
	})
	if err != nil {
		return m.failed(ctx, e, wrapf(err, "workspace %q: set key %d enabled=%t", ws, keyID, enabled))
	}
	return unrecorded(m.record(ctx, e), "workspace %q: key %d enabled=%t", ws, keyID, enabled)
}

// A RotateResult reports what RotateKey did.
type RotateResult struct {
	// Resumed is true if RotateKey finished an earlier rotation (an enabled
	// key other than the primary, with versions under it) instead of
	// adding a new key: the primary is the one it found.
	Resumed bool `json:"resumed"`
	// Primary is the key every version is now encrypted with.
	Primary uint32 `json:"primary"`
	// Reencrypted counts the versions re-encrypted by this call.
	Reencrypted int `json:"reencrypted"`
	// Disabled lists the keys disabled at the end.
	Disabled []uint32 `json:"disabled"`
	// Deleted lists the former keys deleted from the keyset at the end,
	// older than the Config.KeepFormerKeys kept.
	Deleted []uint32 `json:"deleted,omitempty"`
	// Left lists the versions that could not be re-encrypted, and why.
	// While any is left, the old keys stay enabled: fix or destroy those
	// secrets and call RotateKey again to finish.
	Left []Left `json:"left,omitempty"`
}

// A Left is an item a rotation or re-wrap could not handle.
type Left struct {
	Workspace string `json:"workspace"`
	Name      string `json:"name,omitempty"`    // the secret, for a rotation
	Version   int64  `json:"version,omitempty"` // its version
	Reason    string `json:"reason"`
}

// RotateKey rotates the workspace's data key: it adds a new AES-256-GCM
// key as the keyset's primary, re-encrypts every stored version (current
// and past, of live and deleted secrets) to it in batches, also bringing
// versions written by the first releases to the current format, then
// disables the old keys, which stay in the keyset so that SetKeyEnabled
// can bring them back: the Config.KeepFormerKeys most recent of them
// (default 2). Older former keys, which no version uses once the
// rotation completes, are deleted.
//
// Reads and writes go on throughout: old keys stay enabled until nothing
// is encrypted under them, other replicas use the new keyset from their
// next read, and a replica that writes with the old keyset is refused by
// the Store and retries with the new one. Re-encryption is check-and-set
// per version: an editor's concurrent write always wins over it.
//
// A version that cannot be decrypted does not stop the rotation: the
// others are re-encrypted, RotateResult.Left names it with the reason,
// the old keys stay enabled, and the error matches ErrIncomplete. If a
// rotation was interrupted (the context ended, the process died) or left
// versions, the keyset still has an enabled key besides the primary, and
// versions are still under that key: RotateKey then finishes that
// rotation with its key rather than adding another (RotateResult.Resumed).
// Versions under a disabled or deleted key, which no rotation moves, do
// not count. If another replica's rotation began once this one had moved
// every version (its key is the primary now), RotateKey returns without
// deleting former keys: that rotation deletes them, or, if it was cut off
// too, the next RotateKey. So does it
// after SetKeyEnabled brought back a former key with rows restored under
// it: the primary stays, and the rows move to it; call RotateKey again
// for a new primary (a kill switch). An enabled former key with no
// version under it does not stop a new key.
//
// progress, if not nil, is called after each batch with the versions
// handled (re-encrypted or left) and the total. RotateKey needs a Store that is a RotationStore.
func (m *Manager) RotateKey(ctx context.Context, ws string, progress func(done, total int)) (RotateResult, error) {
	if err := validWorkspace(ws); err != nil {
		return RotateResult{}, err
	}
	e := m.event(ctx, ActionRotate, ws)
	if err := m.authorize(ctx, e); err != nil {
		return RotateResult{}, err
	}
	res, err := m.rotateKey(ctx, ws, progress, nil, false)
	if err == nil && len(res.Left) > 0 {
		err = errorf(ErrIncomplete, "workspace %q: %d versions could not be re-encrypted (first: %s version %d: %s); the old keys stay enabled",
			ws, len(res.Left), res.Left[0].Name, res.Left[0].Version, res.Left[0].Reason)
	}
	if err == nil && m.cfg.KeepFormerKeys >= 0 {
		res.Deleted, err = m.deleteFormerKeys(ctx, ws, m.cfg.KeepFormerKeys, nil)
		if errors.Is(err, ErrIncomplete) {
			// Another replica's rotation began once this one had moved
			// every version (a review: the first to finish failed): its
			// key is the primary now, and it deletes the former keys (or,
			// if it was cut off too, the next RotateKey does).
			if k, kerr := m.freshKey(ctx, ws); kerr == nil && k.primary != res.Primary {
				res.Deleted, err = nil, nil
			}
		}
		if err != nil {
			err = wrapf(err, "rotate workspace %q: delete former keys", ws)
		}
	}
	if err != nil {
		// The event says what the call did before it stopped (a CLI
		// trial: it gave only the error, not the new key nor the
		// versions re-encrypted, which RotateResult holds).
		recorded := err
		if res.Primary != 0 || res.Reencrypted > 0 {
			recorded = wrapf(err, "stopped with primary key %d and %d versions re-encrypted", res.Primary, res.Reencrypted)
		}
		m.failed(ctx, e, recorded)
		return res, err
	}
	e.Detail = fmt.Sprintf("primary key %d, %d versions re-encrypted, disabled %v, resumed %t", res.Primary, res.Reencrypted, res.Disabled, res.Resumed)
	if len(res.Deleted) > 0 {
		e.Detail += fmt.Sprintf(", deleted former keys %v", res.Deleted)
	}
	return res, unrecorded(m.record(ctx, e), "workspace %q: rotated to key %d", ws, res.Primary)
}

// underKeys reports whether a version of ws not under keep is under one
// of keys, reading the stale versions a batch at a time until one is.
func (m *Manager) underKeys(ctx context.Context, rs RotationStore, ws string, keep uint32, keys []uint32) (bool, error) {
	var after Version
	for {
		batch, _, err := rs.Stale(ctx, ws, StaleQuery{Keep: keep, AfterSecretID: after.SecretID, AfterVersion: after.Version, Limit: rotateBatch})
		if err != nil || len(batch) == 0 {
			return false, err
		}
		for _, v := range batch {
			if slices.Contains(keys, v.KeyID) {
				return true, nil
			}
		}
		after = batch[len(batch)-1]
	}
}

// rotateKey rotates ws's data key; newKey adds a key whatever the keyset
// (see forgetKeys).
func (m *Manager) rotateKey(ctx context.Context, ws string, progress func(done, total int), forget map[string]bool, newKey bool) (RotateResult, error) {
	rs, ok := m.store.(RotationStore)
	if !ok {
		return RotateResult{}, errorf(nil, "rotate: the %T store cannot re-encrypt", m.store)
	}
	if err := m.knowMasterKey(ctx); err != nil {
		return RotateResult{}, err
	}
	k, err := m.freshKey(ctx, ws)
	if err != nil {
		return RotateResult{}, wrapf(err, "rotate workspace %q", ws)
	}
	// An earlier rotation is finished with its key only while versions
	// are left under the other keys: the keyset cannot tell its former
	// key from one SetKeyEnabled brought back, and "finishing" with no
	// work left kept a primary the caller may be rotating away from (a
	// data-loss trial: the kill switch after a former key was enabled
	// left the leaked key primary). A key of its own for each call would
	// take the former keys' places (KeepFormerKeys) from retries, and
	// fail a concurrent rotation (a review). After a destroy, always a
	// new key: the destroyed value's key must go.
	var res RotateResult
	if others := enabledOthers(k); len(others) > 0 && !newKey {
		// Only versions under an enabled other key count: those under a
		// disabled or deleted key, which no rotation can move, kept the
		// primary for good (a review: a kill switch that never replaced
		// it after one rotation left a version).
		if res.Resumed, err = m.underKeys(ctx, rs, ws, k.primary, others); err != nil {
			return res, wrapf(err, "rotate workspace %q", ws)
		}
	}
	if !res.Resumed {
		k, err = m.changeKey(ctx, ws, func(km *keyset.Manager) error {
			id, err := km.Add(aead.AES256GCMKeyTemplate())
			if err != nil {
				return err
			}
			return km.SetPrimary(id)
		})
		if err != nil {
			return res, wrapf(err, "rotate workspace %q: add key", ws)
		}
	}
	res.Primary = k.primary

	done := 0
	var after Version // cursor: versions up to it are done or left
	for {
		batch, remaining, err := rs.Stale(ctx, ws, StaleQuery{Keep: k.primary, AfterSecretID: after.SecretID, AfterVersion: after.Version, Limit: rotateBatch})
		if err != nil {
			return res, wrapf(err, "rotate workspace %q", ws)
		}
		if progress != nil {
			// Versions left count as handled: the total stays put.
			progress(done+len(res.Left), done+remaining)
		}
		if len(batch) == 0 {
			break
		}
		items := make([]Reencryption, 0, len(batch))
		for _, v := range batch {
			if forget[v.SecretID] {
				continue // put back since its destroy: left under the keys deleted next
			}
			p, err := k.open(&v)
			if err != nil {
				res.Left = append(res.Left, Left{Workspace: ws, Name: v.Name, Version: v.Version, Reason: "does not decrypt with any key of the workspace"})
				continue
			}
			nv := v
			err = k.seal(&nv, p)
			clear(p)
			if err != nil {
				return res, wrapf(err, "rotate workspace %q", ws)
			}
			items = append(items, Reencryption{SecretID: v.SecretID, Version: v.Version, FromKeyID: v.KeyID, FromFormat: v.Format,
				Ciphertext: nv.Ciphertext, KeyID: nv.KeyID, Format: nv.Format})
		}
		n, err := rs.Reencrypt(ctx, ws, k.gen, items)
		if errors.Is(err, ErrKeyChanged) {
			// Another rotation (or a kill switch) changed the keyset: go on
			// with the new one, from the start.
			if k, err = m.freshKey(ctx, ws); err != nil {
				return res, err
			}
			res.Primary, res.Left, after = k.primary, nil, Version{}
			continue
		}
		if err != nil {
			return res, wrapf(err, "rotate workspace %q", ws)
		}
		res.Reencrypted += n
		done += len(items)
		after = batch[len(batch)-1]
	}
	if len(res.Left) > 0 {
		return res, nil
	}
	if others := enabledOthers(k); len(others) > 0 {
		_, err := m.changeKey(ctx, ws, func(km *keyset.Manager) error {
			for _, id := range others {
				if err := km.Disable(id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, wrapf(err, "rotate workspace %q: disable old keys", ws)
		}
		res.Disabled = others
	}
	return res, nil
}

// forgetKeys rotates ws's data key after the destroy of name and deletes
// every key but the new primary from the keyset (Config.DestroyRotates).
// A rotation that leaves versions, or a version still found under an old
// key, keeps the old keys and fails with ErrIncomplete: the destroy itself
// stands. Versions of the destroyed secrets (the IDs in gone) are neither
// re-encrypted nor wait for it: rows of theirs put back between the
// destroy and the rotation (an attacker trial: 10 of 10 tries, with a
// polling loop) are left under the keys it deletes.
func (m *Manager) forgetKeys(ctx context.Context, ws, name string, gone map[string]bool) error {
	e := m.event(ctx, ActionRotate, ws)
	incomplete := func(why string) error {
		return m.failed(ctx, e, errorf(ErrIncomplete, "%s was destroyed, but the workspace's former keys were not deleted (%s): run RotateKey, then Destroy again or delete them", name, why))
	}
	res, err := m.rotateKey(ctx, ws, nil, gone, true)
	if err != nil {
		return incomplete(detail(err))
	}
	if len(res.Left) > 0 {
		return incomplete(fmt.Sprintf("%d versions could not be re-encrypted", len(res.Left)))
	}
	deleted, err := m.deleteFormerKeys(ctx, ws, 0, gone)
	if err != nil {
		return incomplete(detail(err))
	}
	e.Detail = fmt.Sprintf("after the destroy of %s: primary key %d, %d versions re-encrypted, deleted keys %v", name, res.Primary, res.Reencrypted, deleted)
	return unrecorded(m.record(ctx, e), "workspace %q: rotated to key %d after the destroy of %s", ws, res.Primary, name)
}

// deleteFormerKeys deletes from ws's keyset every key but the primary
// and the keep most recent others (the last added), once no version but
// those of the secrets gone (destroyed) is under a key other than the
// primary (ErrIncomplete otherwise), and returns the IDs deleted.
func (m *Manager) deleteFormerKeys(ctx context.Context, ws string, keep int, gone map[string]bool) ([]uint32, error) {
	var deleted []uint32
	_, err := m.changeKey(ctx, ws, func(km *keyset.Manager) error {
		deleted = deleted[:0]
		h, err := km.Handle()
		if err != nil {
			return err
		}
		primary := h.KeysetInfo().GetPrimaryKeyId()
		var former []uint32 // in the keyset's order: oldest first
		for _, ki := range h.KeysetInfo().GetKeyInfo() {
			if id := ki.GetKeyId(); id != primary {
				former = append(former, id)
			}
		}
		if len(former) <= keep {
			return errNothingToDelete
		}
		// Changing the key moves its generation: a writer still holding
		// an old key is refused by the Store from here on, so nothing
		// can be added under the keys deleted below.
		if left, err := staleBut(ctx, m.store.(RotationStore), ws, primary, gone); err != nil || left > 0 {
			return errors.Join(err, errorf(ErrIncomplete, "%d versions are still under a former key", left))
		}
		for _, id := range former[:len(former)-keep] {
			if err := km.Delete(id); err != nil {
				return err
			}
			deleted = append(deleted, id)
		}
		return nil
	})
	if errors.Is(err, errNothingToDelete) {
		return nil, nil
	}
	return deleted, err
}

// staleBut counts the versions of ws under a key other than primary,
// those of the secrets gone left out. Only the first rotateBatch stale
// versions are looked at: gone ones past them count as stale, which keeps
// the keys (ErrIncomplete), never the other way round.
func staleBut(ctx context.Context, rs RotationStore, ws string, primary uint32, gone map[string]bool) (int, error) {
	limit := 1 // only the count, unless there are versions to leave out of it
	if len(gone) > 0 {
		limit = rotateBatch
	}
	batch, left, err := rs.Stale(ctx, ws, StaleQuery{Keep: primary, Limit: limit})
	if err != nil || len(gone) == 0 {
		return left, err
	}
	for _, v := range batch {
		if gone[v.SecretID] {
			left--
		}
	}
	return left, nil
}

// errNothingToDelete stops deleteFormerKeys before it stores the keyset
// unchanged.
var errNothingToDelete = errors.New("secrets: no former key to delete")

// enabledOthers returns the enabled keys of k other than its primary.
func enabledOthers(k *dataKey) []uint32 {
	var ids []uint32
	for _, ki := range k.handle.KeysetInfo().GetKeyInfo() {
		if ki.GetKeyId() != k.primary && ki.GetStatus() == tinkpb.KeyStatusType_ENABLED {
			ids = append(ids, ki.GetKeyId())
		}
	}
	slices.Sort(ids)
	return ids
}

// RewrapOptions tune Rewrap.
type RewrapOptions struct {
	// All re-wraps every workspace key, not only those wrapped by
	// another master key.
	All bool
	// Progress, if not nil, is called after each key with the keys
	// handled (moved or left) and the total.
	Progress func(done, total int)
}

// A RewrapResult reports what Rewrap did.
type RewrapResult struct {
	// Rewrapped counts the workspace keys moved to the primary master key.
	Rewrapped int `json:"rewrapped"`
	// Left lists the workspace keys that could not be moved, and why.
	Left []Left `json:"left,omitempty"`
}

// Rewrap moves every workspace key wrapped by another master key to the
// Manager's primary Cipher: the move from a local key to a KMS, or from
// one KMS key to the next. The former master keys must be among
// Config.DecryptOnly, and the primary must be known to the Store (see
// Config.AddMasterKey). Each key is unwrapped, wrapped anew and stored with
// check-and-set, so Rewrap can run while the platform serves, can be
// interrupted at any point and resumed by calling it again, and skips a
// key that changed meanwhile (it is picked up by the next call if it still
// needs moving).
//
// A key that cannot be moved (wrapped by a master key the Manager does not
// have, or that fails to unwrap) does not stop the others: the result
// lists it with the reason and the error matches ErrIncomplete. A Cipher
// that cannot be reached (a KMS outage) stops the run with its error;
// what was moved stays moved.
//
// With opts.All, every workspace key is re-wrapped, also those the
// primary already wraps: after a rotation of a KMS key that keeps its ID
// (a Transit or Cloud KMS key version), this brings every wrapped key to
// the newest version, so that the old versions can be retired. An
// interrupted All run starts over when called again (re-wrapping is
// idempotent). A run that reaches its end also makes the master key's
// check value again (RotationStore.SetMasterKeyCheck), which the Manager
// decrypts before it wraps a key: without it, a retired version would
// make the key look like another.
//
// Rewrap needs a Store that is a RotationStore.
func (m *Manager) Rewrap(ctx context.Context, opts *RewrapOptions) (RewrapResult, error) {
	var o RewrapOptions
	if opts != nil {
		o = *opts
	}
	e := m.event(ctx, ActionRotate, "")
	if err := m.authorize(ctx, e); err != nil {
		return RewrapResult{}, err
	}
	res, err := m.rewrap(ctx, o)
	e.Detail = fmt.Sprintf("%d workspace keys re-wrapped to master key %s, %d left", res.Rewrapped, m.cipher.ID(), len(res.Left))
	if err == nil && len(res.Left) > 0 {
		first := res.Left[0]
		err = errorf(ErrIncomplete, "%d workspace keys could not be re-wrapped (first: workspace %q: %s)", len(res.Left), first.Workspace, first.Reason)
	}
	if err != nil {
		// The event says what the call did before it stopped, as
		// RotateKey's does (a data-loss trial: an interrupted Rewrap's
		// event said only "failed", though keys had moved).
		recorded := err
		if res.Rewrapped > 0 {
			recorded = wrapf(err, "stopped with %d workspace keys re-wrapped to master key %s", res.Rewrapped, m.cipher.ID())
		}
		m.failed(ctx, e, recorded)
		return res, err
	}
	return res, unrecorded(m.record(ctx, e), "%d workspace keys re-wrapped", res.Rewrapped)
}

func (m *Manager) rewrap(ctx context.Context, o RewrapOptions) (RewrapResult, error) {
	progress := o.Progress
	from := m.cipher.ID() // the keys to move are those not wrapped by it
	if o.All {
		from = "" // no key is wrapped by "": all of them
	}
	var res RewrapResult
	rs, ok := m.store.(RotationStore)
	if !ok {
		return res, errorf(nil, "rewrap: the %T store cannot list keys", m.store)
	}
	if err := m.knowMasterKey(ctx); err != nil {
		return res, err
	}
	after := ""
	for {
		keys, total, err := rs.ForeignKeys(ctx, ForeignKeysQuery{CipherID: from, After: after, Limit: rotateBatch})
		if err != nil {
			return res, wrapf(err, "rewrap")
		}
		// Keys left count as handled (they are still foreign, so in
		// total): the total stays put. With All, keys moved are still
		// listed.
		all := res.Rewrapped + total
		if o.All {
			all = total
		}
		if progress != nil {
			progress(res.Rewrapped+len(res.Left), all)
		}
		if len(keys) == 0 {
			// The master key's check value too, made again under the
			// key as it is now: a KMS key's older versions can then be
			// retired without the check failing as a wrong key's.
			check, err := m.masterCheck(ctx)
			if err == nil {
				err = rs.SetMasterKeyCheck(ctx, m.cipher.ID(), check)
			}
			return res, wrapf(err, "rewrap: the check value of master key %s", m.cipher.ID())
		}
		for _, wk := range keys {
			if err := ctx.Err(); err != nil {
				return res, wrapf(err, "rewrap")
			}
			after = wk.Workspace
			c, ok := m.ciphers[wk.CipherID]
			if !ok {
				res.Left = append(res.Left, Left{Workspace: wk.Workspace, Reason: "wrapped by master key " + wk.CipherID + ", which is not in Config.DecryptOnly"})
				continue
			}
			h, err := unwrapKey(ctx, c, wk)
			if errors.Is(err, ErrDecrypt) {
				res.Left = append(res.Left, Left{Workspace: wk.Workspace, Reason: detail(err)})
				continue
			}
			if err != nil {
				return res, wrapf(err, "rewrap")
			}
			wrapped, err := wrapKey(ctx, m.cipher, wk.Workspace, h)
			if err != nil {
				return res, wrapf(err, "rewrap")
			}
			_, err = m.store.PutKey(ctx, WrappedKey{Workspace: wk.Workspace, CipherID: m.cipher.ID(), Ciphertext: wrapped, Updated: m.now()}, wk.Generation)
			m.keys.Remove(wk.Workspace)
			switch {
			case err == nil:
				res.Rewrapped++
				if progress != nil {
					progress(res.Rewrapped+len(res.Left), all)
				}
			case errors.Is(err, ErrConflict):
				// Changed meanwhile (rotated, deleted or re-wrapped by
				// another process): the next call lists it again if it
				// still needs moving.
			default:
				return res, wrapf(err, "rewrap")
			}
		}
	}
}

// DeleteWorkspace removes every secret, every version and the key of the
// workspace, all at once; its audit events and ledger are kept. Deleting a
// workspace that has nothing is not an error. It is authorized as its own
// action, ActionDeleteWorkspace, and needs a Store that is a
// WorkspaceDeleter.
func (m *Manager) DeleteWorkspace(ctx context.Context, ws string) error {
	if err := validWorkspace(ws); err != nil {
		return err
	}
	e := m.event(ctx, ActionDeleteWorkspace, ws)
	if err := m.authorize(ctx, e); err != nil {
		return err
	}
	d, ok := m.store.(WorkspaceDeleter)
	if !ok {
		return m.failed(ctx, e, errorf(nil, "delete workspace: the %T store cannot", m.store))
	}
	e.Detail = "the whole workspace"
	err := d.DeleteWorkspace(ctx, ws, e)
	m.keys.Remove(ws)
	if err != nil {
		return m.failed(ctx, e, wrapf(err, "delete workspace %q", ws))
	}
	m.published(ctx, *e)
	return nil
}
