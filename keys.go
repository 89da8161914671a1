package secrets

import (
	"bytes"
	"context"
	"errors"
	"net"
)

// masterCheckText is what a master key's check value encrypts.
const masterCheckText = "dataspace.secrets master key check"

// loadKey returns the workspace's key from the cache, or from the Store
// (once, however many callers ask at the same time). It returns
// ErrNotFound if the workspace has none.
func (m *Manager) loadKey(ctx context.Context, ws string) (*dataKey, error) {
	return m.keys.Load(ctx, ws, func() (*dataKey, error) {
		wk, err := m.store.Key(ctx, ws)
		if err != nil {
			return nil, keyReadError{err}
		}
		c, ok := m.ciphers[wk.CipherID]
		if !ok {
			return nil, errorf(ErrDecrypt, "the data key of workspace %q is wrapped by master key %s, which this Manager does not have "+
				"(give it in Config.DecryptOnly; a KMS key is named by its URI as written, the same on every replica)", ws, wk.CipherID)
		}
		h, err := unwrapKey(ctx, c, wk)
		if err != nil {
			return nil, err
		}
		return newDataKey(h, wk.Generation)
	})
}

// A keyReadError is the Store's failure to read a workspace key: nothing
// was decrypted, so a read that needed the key fails with this cause (the
// database unreachable, say), never with ErrDecrypt.
type keyReadError struct{ err error }

func (e keyReadError) Error() string { return e.err.Error() }
func (e keyReadError) Unwrap() error { return e.err }

// keyError is the error of a read of names of ws whose key keyFor could not
// give: a *DecryptError with the cause, unless no decryption was tried
// (the Store could not read the key, the context ended) or the master key
// could not answer (a KMS unreachable, or unavailable: see
// RemoteCipher.Decrypt), which return the cause: a failover, a cancelled
// call or a KMS outage is not tampering.
func keyError(ctx context.Context, ws string, names []string, err error) error {
	var kr keyReadError
	if errors.As(err, &kr) {
		return kr.err
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	var ne net.Error
	var u interface{ Unavailable() bool }
	if !errors.Is(err, ErrDecrypt) && (errors.As(err, &ne) || errors.As(err, &u) && u.Unavailable()) {
		return wrapf(err, "workspace %s: its data key cannot be unwrapped now", quote(ws))
	}
	return &DecryptError{Workspace: ws, Names: names, Cause: err}
}

// keyFor returns the data key that decrypts rows read under key generation
// gen. It returns errStale if the Store's key has moved past gen (the rows
// must be read again), and ErrDecrypt if there is no key for rows that
// need one. A cached key of another generation is never used: a rotation,
// a kill switch or a deletion by another replica takes effect here at the
// next read.
func (m *Manager) keyFor(ctx context.Context, ws string, gen int64) (*dataKey, error) {
	if gen == 0 {
		return nil, errorf(ErrDecrypt, "workspace %q has secrets but no data key", ws)
	}
	for range 2 {
		k, ok := m.keys.Get(ws)
		if !ok || k.gen < gen {
			m.keys.Remove(ws)
			var err error
			k, err = m.loadKey(ctx, ws)
			if errors.Is(err, ErrNotFound) {
				return nil, errStale // deleted since the read
			}
			if err != nil {
				return nil, err
			}
		}
		switch {
		case k.gen == gen:
			return k, nil
		case k.gen > gen:
			return nil, errStale
		}
		// A load that began before gen was written: load again.
	}
	return nil, errStale
}

// writeKey returns the key to encrypt new versions of the workspace with,
// creating the workspace's key if it has none. cur, if not nil, is the
// secret about to be written: a key older than the one it was read with is
// reloaded first.
func (m *Manager) writeKey(ctx context.Context, ws string, cur *Entry) (*dataKey, error) {
	if cur != nil && cur.Current.KeyGen > 0 {
		if k, ok := m.keys.Get(ws); ok && k.gen < cur.Current.KeyGen {
			m.keys.Remove(ws)
		}
	}
	k, err := m.loadKey(ctx, ws)
	if !errors.Is(err, ErrNotFound) {
		return k, err
	}
	if err := m.knowMasterKey(ctx); err != nil {
		return nil, err
	}
	h, wrapped, err := newWorkspaceKey(ctx, m.cipher, ws)
	if err != nil {
		return nil, err
	}
	gen, err := m.store.PutKey(ctx, WrappedKey{Workspace: ws, CipherID: m.cipher.ID(), Ciphertext: wrapped, Updated: m.now()}, 0)
	if errors.Is(err, ErrConflict) {
		// Another writer created it first: use theirs.
		m.keys.Remove(ws)
		return m.loadKey(ctx, ws)
	}
	if err != nil {
		return nil, err
	}
	k, err = newDataKey(h, gen)
	if err != nil {
		return nil, err
	}
	m.keys.Add(ws, k)
	return k, nil
}

// masterCheck is the check value of the Manager's master key: a known
// text encrypted with it, which the Store keeps to tell the key.
func (m *Manager) masterCheck(ctx context.Context) ([]byte, error) {
	return m.cipher.Encrypt(ctx, []byte(masterCheckText), masterCheckAD(m.cipher.ID()))
}

// knowMasterKey makes sure the Store knows the Manager's master key, and
// that it is the key the Store knows under its ID, before anything is
// wrapped with it. A key the Store has not seen is registered on a first
// start (a Store with no master key and no workspace key) or with
// Config.AddMasterKey; otherwise it is refused with a *MasterKeyError, so
// that a wrong key file cannot make workspaces that the real deployment
// can never read. A retired key (see RetireMasterKey) is refused too; the
// Store refuses its workspace keys anyway, even when it was retired after
// this check.
//
// A caller waiting for another's check (which may wait on a hung KMS)
// stops waiting when its ctx ends.
func (m *Manager) knowMasterKey(ctx context.Context) error {
	select {
	case m.masterSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-m.masterSem }()
	if m.masterKnown {
		return nil
	}
	id := m.cipher.ID()
	for range 2 {
		keys, err := m.store.MasterKeys(ctx)
		if err != nil {
			return wrapf(err, "read the master keys the store knows")
		}
		var known []string
		for _, k := range keys {
			known = append(known, k.ID)
			if k.ID != id {
				continue
			}
			p, err := m.cipher.Decrypt(ctx, k.Check, masterCheckAD(id))
			if errors.Is(err, ErrDecrypt) || err == nil && !bytes.Equal(p, []byte(masterCheckText)) {
				return &MasterKeyError{ID: id, Known: known, Wrong: true, Cause: err}
			}
			if err != nil {
				return wrapf(err, "check master key %s", id)
			}
			if !k.Retired.IsZero() {
				return &MasterKeyError{ID: id, Known: known, Retired: true}
			}
			m.masterKnown = true
			return nil
		}
		if !m.cfg.AddMasterKey && len(keys) > 0 {
			return &MasterKeyError{ID: id, Known: known}
		}
		check, err := m.masterCheck(ctx)
		if err != nil {
			return wrapf(err, "make the check value of master key %s", id)
		}
		err = m.store.AddMasterKey(ctx, MasterKey{ID: id, Check: check, Added: m.now()}, !m.cfg.AddMasterKey)
		switch {
		case err == nil:
			m.masterKnown = true
			return nil
		case errors.Is(err, ErrConflict):
			return &MasterKeyError{ID: id, Known: known}
		case !errors.Is(err, ErrExists):
			return wrapf(err, "register master key %s", id)
		}
		// Registered meanwhile by another replica: check it.
	}
	return &MasterKeyError{ID: id}
}
