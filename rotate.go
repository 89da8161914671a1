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

// rotateBatch is how many versions RotateKey re-encrypts per store call.
const rotateBatch = 200

// KeyInfo describes one key of a workspace's data keyset.
type KeyInfo struct {
	ID      uint32
	Primary bool // new versions are encrypted with it
	Enabled bool // ciphertexts under it can be decrypted
}

// Keys returns the keys of the workspace's data keyset, from the Store.
func (m *Manager) Keys(ctx context.Context, ws string) ([]KeyInfo, error) {
	e, err := m.begin(ctx, ActionList, ws)
	if err != nil {
		return nil, err
	}
	k, err := m.loadKey(ctx, ws)
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

// loadKey reads the workspace key from the Store, bypassing the cache,
// and caches it.
func (m *Manager) loadKey(ctx context.Context, ws string) (*dataKey, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	m.keys.Remove(ws)
	return m.dataKey(ctx, ws)
}

// changeKey applies change to the workspace's keyset and stores it wrapped
// by the Manager's primary Cipher, with check-and-set on the key's
// revision. It returns ErrConflict if the key changed meanwhile.
func (m *Manager) changeKey(ctx context.Context, ws string, change func(*keyset.Manager) error) (*dataKey, error) {
	k, err := m.loadKey(ctx, ws)
	if err != nil {
		return nil, err
	}
	km := keyset.NewManagerFromHandle(k.handle)
	if err := change(km); err != nil {
		return nil, err
	}
	h, err := km.Handle()
	if err != nil {
		return nil, fmt.Errorf("secrets: workspace %q: %w", ws, err)
	}
	wrapped, err := wrapKey(ctx, m.cipher, ws, h)
	if err != nil {
		return nil, err
	}
	err = m.store.PutKey(ctx, WrappedKey{Workspace: ws, CipherID: m.cipher.ID(), Ciphertext: wrapped, Updated: m.now()}, k.revision)
	m.keys.Remove(ws)
	if err != nil {
		return nil, err
	}
	nk, err := newDataKey(h, k.revision+1)
	if err != nil {
		return nil, err
	}
	m.keys.Add(ws, nk)
	return nk, nil
}

// SetKeyEnabled enables or disables one key of the workspace's keyset:
// the kill switch for a key thought compromised. Versions encrypted under
// a disabled key fail to decrypt (ErrDecrypt) until it is enabled again.
// The primary key cannot be disabled; rotate first.
func (m *Manager) SetKeyEnabled(ctx context.Context, ws string, keyID uint32, enabled bool) error {
	e, err := m.begin(ctx, ActionRotate, ws)
	if err != nil {
		return err
	}
	e.Detail = fmt.Sprintf("key %d enabled=%t", keyID, enabled)
	_, err = m.changeKey(ctx, ws, func(km *keyset.Manager) error {
		if enabled {
			return km.Enable(keyID)
		}
		return km.Disable(keyID)
	})
	if err != nil {
		return m.failed(ctx, e, fmt.Errorf("secrets: workspace %q: set key %d enabled=%t: %w", ws, keyID, enabled, err))
	}
	m.record(ctx, e)
	return nil
}

// A RotateResult reports what RotateKey did.
type RotateResult struct {
	// Resumed is true if RotateKey finished an earlier rotation (an enabled
	// key other than the primary) instead of adding a new key.
	Resumed bool
	// Primary is the key every version is now encrypted with.
	Primary uint32
	// Reencrypted counts the versions re-encrypted by this call.
	Reencrypted int
	// Disabled lists the keys disabled at the end.
	Disabled []uint32
}

// RotateKey rotates the workspace's data key: it adds a new AES-256-GCM
// key as the keyset's primary, re-encrypts every stored version (current
// and past) to it in batches, then disables the old keys, which stay in
// the keyset so that SetKeyEnabled can bring them back.
//
// Reads and writes go on throughout: old keys stay enabled until nothing
// is encrypted under them, other replicas reload the keyset when they meet
// the new key, and a replica that writes with the old keyset is refused by
// the Store and retries with the new one. Re-encryption is check-and-set
// per version: an editor's concurrent write always wins over it.
//
// If an earlier rotation was interrupted (the context ended, the process
// died), the keyset still has an enabled key besides the primary, and
// RotateKey finishes that rotation rather than starting another; call it
// again to rotate anew.
//
// progress, if not nil, is called after each batch with the versions done
// and the total to do. RotateKey needs a Store that is a RotationStore.
func (m *Manager) RotateKey(ctx context.Context, ws string, progress func(done, total int)) (RotateResult, error) {
	e, err := m.begin(ctx, ActionRotate, ws)
	if err != nil {
		return RotateResult{}, err
	}
	res, err := m.rotateKey(ctx, ws, progress)
	if err != nil {
		return res, m.failed(ctx, e, err)
	}
	e.Detail = fmt.Sprintf("primary key %d, %d versions re-encrypted, disabled %v, resumed %t", res.Primary, res.Reencrypted, res.Disabled, res.Resumed)
	m.record(ctx, e)
	return res, nil
}

func (m *Manager) rotateKey(ctx context.Context, ws string, progress func(done, total int)) (RotateResult, error) {
	rs, ok := m.store.(RotationStore)
	if !ok {
		return RotateResult{}, fmt.Errorf("secrets: rotate: the %T store cannot re-encrypt", m.store)
	}
	k, err := m.loadKey(ctx, ws)
	if err != nil {
		return RotateResult{}, fmt.Errorf("secrets: rotate workspace %q: %w", ws, err)
	}
	var res RotateResult
	if len(enabledOthers(k)) > 0 {
		res.Resumed = true
	} else {
		k, err = m.changeKey(ctx, ws, func(km *keyset.Manager) error {
			id, err := km.Add(aead.AES256GCMKeyTemplate())
			if err != nil {
				return err
			}
			return km.SetPrimary(id)
		})
		if err != nil {
			return res, fmt.Errorf("secrets: rotate workspace %q: add key: %w", ws, err)
		}
	}
	res.Primary = k.primary

	done := 0
	for {
		batch, remaining, err := rs.Stale(ctx, ws, k.primary, rotateBatch)
		if err != nil {
			return res, fmt.Errorf("secrets: rotate workspace %q: %w", ws, err)
		}
		if progress != nil {
			progress(done, done+remaining)
		}
		if len(batch) == 0 {
			break
		}
		items := make([]Reencryption, 0, len(batch))
		var failed []string
		for _, v := range batch {
			p, err := open(k, v)
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s v%d", v.Name, v.Version))
				continue
			}
			ct, err := k.aead.Encrypt(p, secretAD(v.Workspace, v.SecretID, v.Name, v.Version))
			clear(p)
			if err != nil {
				return res, fmt.Errorf("secrets: rotate workspace %q: %w", ws, err)
			}
			items = append(items, Reencryption{SecretID: v.SecretID, Version: v.Version, FromKeyID: v.KeyID, Ciphertext: ct, KeyID: k.primary})
		}
		if failed != nil {
			// A version that cannot be decrypted cannot be moved to the new
			// key; retiring the old one would not lose it, but say so.
			return res, fmt.Errorf("secrets: rotate: %w", &DecryptError{Workspace: ws, Names: failed})
		}
		n, err := rs.Reencrypt(ctx, ws, k.revision, items)
		if errors.Is(err, ErrKeyChanged) {
			// Another rotation (or a kill switch) changed the keyset: go on
			// with the new one.
			if k, err = m.loadKey(ctx, ws); err != nil {
				return res, err
			}
			res.Primary = k.primary
			continue
		}
		if err != nil {
			return res, fmt.Errorf("secrets: rotate workspace %q: %w", ws, err)
		}
		res.Reencrypted += n
		done += len(items)
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
			return res, fmt.Errorf("secrets: rotate workspace %q: disable old keys: %w", ws, err)
		}
		res.Disabled = others
	}
	return res, nil
}

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

// Rewrap moves every workspace key wrapped by another master key to the
// Manager's primary Cipher: the move from a local key to a KMS, or from
// one KMS key to the next. The former master key must be among
// Config.DecryptOnly. Each key is unwrapped, wrapped anew and stored with
// check-and-set, so Rewrap can run while the platform serves, can be
// interrupted at any point and resumed by calling it again, and skips a
// key that changed meanwhile (it is then wrapped by the primary Cipher
// already, or is picked up by the next call).
//
// progress, if not nil, is called after each key with the keys done and
// the total to do. It returns how many keys it re-wrapped. Rewrap needs a
// Store that is a RotationStore.
func (m *Manager) Rewrap(ctx context.Context, progress func(done, total int)) (int, error) {
	e := m.event(ctx, ActionRotate, "")
	if err := m.authorize(ctx, e); err != nil {
		return 0, err
	}
	n, err := m.rewrap(ctx, progress)
	e.Detail = fmt.Sprintf("%d workspace keys re-wrapped to master key %s", n, m.cipher.ID())
	if err != nil {
		return n, m.failed(ctx, e, err)
	}
	m.record(ctx, e)
	return n, nil
}

func (m *Manager) rewrap(ctx context.Context, progress func(done, total int)) (int, error) {
	rs, ok := m.store.(RotationStore)
	if !ok {
		return 0, fmt.Errorf("secrets: rewrap: the %T store cannot list keys", m.store)
	}
	done, moved, idle := 0, 0, 0
	for {
		keys, remaining, err := rs.ForeignKeys(ctx, m.cipher.ID(), rotateBatch)
		if err != nil {
			return moved, fmt.Errorf("secrets: rewrap: %w", err)
		}
		if progress != nil {
			progress(done, done+remaining)
		}
		if len(keys) == 0 {
			return moved, nil
		}
		before := moved
		for i, wk := range keys {
			if err := ctx.Err(); err != nil {
				return moved, fmt.Errorf("secrets: rewrap: %w", err)
			}
			c, ok := m.ciphers[wk.CipherID]
			if !ok {
				return moved, fmt.Errorf("secrets: rewrap workspace %q: its key is wrapped by master key %q, which is not in Config.DecryptOnly", wk.Workspace, wk.CipherID)
			}
			h, err := unwrapKey(ctx, c, wk)
			if err != nil {
				return moved, fmt.Errorf("secrets: rewrap: %w", err)
			}
			wrapped, err := wrapKey(ctx, m.cipher, wk.Workspace, h)
			if err != nil {
				return moved, err
			}
			err = m.store.PutKey(ctx, WrappedKey{Workspace: wk.Workspace, CipherID: m.cipher.ID(), Ciphertext: wrapped, Updated: m.now()}, wk.Revision)
			m.keys.Remove(wk.Workspace)
			switch {
			case err == nil:
				moved++
				done++
				if progress != nil {
					progress(done, done+remaining-i-1)
				}
			case errors.Is(err, ErrConflict):
				// Changed meanwhile (rotated, deleted or re-wrapped by
				// another process): the next listing shows it again if it
				// still needs moving.
			default:
				return moved, fmt.Errorf("secrets: rewrap: %w", err)
			}
		}
		if moved == before {
			if idle++; idle > maxAttempts {
				return moved, fmt.Errorf("secrets: rewrap: %d keys keep changing while being re-wrapped: %w", len(keys), ErrConflict)
			}
		} else {
			idle = 0
		}
	}
}

// DeleteWorkspace removes every secret, every version and the key of the
// workspace, all at once. Deleting a workspace that has nothing is not an
// error. It needs a Store that is a WorkspaceDeleter.
func (m *Manager) DeleteWorkspace(ctx context.Context, ws string) error {
	e, err := m.begin(ctx, ActionDelete, ws)
	if err != nil {
		return err
	}
	d, ok := m.store.(WorkspaceDeleter)
	if !ok {
		return m.failed(ctx, e, fmt.Errorf("secrets: delete workspace: the %T store cannot", m.store))
	}
	e.Detail = "the whole workspace"
	err = d.DeleteWorkspace(ctx, ws, e)
	m.keys.Remove(ws)
	if err != nil {
		return m.failed(ctx, e, fmt.Errorf("secrets: delete workspace %q: %w", ws, err))
	}
	m.published(ctx, *e)
	return nil
}
