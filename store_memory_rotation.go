package secrets

// The memory store's keys (workspace and master keys), rotation, deletion
// and cross-workspace queries: the optional interfaces, as
// store_postgres_rotation.go is the Postgres store's.

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"time"
)

// Key implements Store.
func (s *MemoryStore) Key(ctx context.Context, ws string) (WrappedKey, error) {
	if err := ctx.Err(); err != nil {
		return WrappedKey{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.workspace(ws, false)
	if w == nil || w.key == nil {
		return WrappedKey{}, errorf(ErrNotFound, "workspace %q has no key", ws)
	}
	k := *w.key
	k.Ciphertext = bytes.Clone(k.Ciphertext)
	return k, nil
}

// PutKey implements Store.
func (s *MemoryStore) PutKey(ctx context.Context, k WrappedKey, expect int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mk, ok := s.masters[k.CipherID]; ok && !mk.Retired.IsZero() {
		return 0, &MasterKeyError{ID: k.CipherID, Retired: true}
	}
	w := s.workspace(k.Workspace, true)
	if have := w.keyGen(); have != expect {
		return 0, errorf(ErrConflict, "key of workspace %q is at generation %d, not %d", k.Workspace, have, expect)
	}
	k.Ciphertext = bytes.Clone(k.Ciphertext)
	s.seq++
	k.Generation = s.seq
	w.key = &k
	return k.Generation, nil
}

// MasterKeys implements Store.
func (s *MemoryStore) MasterKeys(ctx context.Context) ([]MasterKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]MasterKey, 0, len(s.masters))
	for _, k := range s.masters {
		k.Check = bytes.Clone(k.Check)
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b MasterKey) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// AddMasterKey implements Store.
func (s *MemoryStore) AddMasterKey(ctx context.Context, k MasterKey, first bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.masters[k.ID]; ok {
		return errorf(ErrExists, "master key %s is registered already", k.ID)
	}
	if first {
		if len(s.masters) > 0 {
			return errorf(ErrConflict, "the store knows master keys already")
		}
		for _, w := range s.ws {
			if w.key != nil {
				return errorf(ErrConflict, "the store holds workspace keys already")
			}
		}
	}
	k.Check = bytes.Clone(k.Check)
	s.masters[k.ID] = k
	return nil
}

// Stale implements RotationStore.
func (s *MemoryStore) Stale(ctx context.Context, ws string, q StaleQuery) ([]Version, int, error) {
	keep, afterID, afterVersion, limit := q.Keep, q.AfterSecretID, q.AfterVersion, q.Limit
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var all []Version
	if w := s.workspace(ws, false); w != nil {
		for _, sec := range w.secrets {
			for _, v := range sec.versions {
				if v.KeyID != keep || v.Format < 2 {
					all = append(all, v)
				}
			}
		}
	}
	slices.SortFunc(all, versionOrder)
	total := len(all)
	var out []Version
	for _, v := range all {
		if (v.SecretID > afterID || v.SecretID == afterID && v.Version > afterVersion) && len(out) < limit {
			out = append(out, cloneVersion(v))
		}
	}
	return out, total, nil
}

func versionOrder(a, b Version) int {
	if c := strings.Compare(a.Workspace, b.Workspace); c != 0 {
		return c
	}
	if c := strings.Compare(a.SecretID, b.SecretID); c != 0 {
		return c
	}
	return int(a.Version - b.Version)
}

// Reencrypt implements RotationStore.
func (s *MemoryStore) Reencrypt(ctx context.Context, ws string, keyGen int64, items []Reencryption) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.workspace(ws, false)
	if w.keyGen() != keyGen {
		return 0, errorf(ErrKeyChanged, "re-encrypt workspace %q: the key changed", ws)
	}
	n := 0
	for _, it := range items {
		sec := w.secrets[it.SecretID]
		if sec == nil {
			continue
		}
		for i, v := range sec.versions {
			if v.Version == it.Version && v.KeyID == it.FromKeyID && v.Format == it.FromFormat {
				ns := &memSecret{entry: sec.entry, versions: slices.Clone(sec.versions)}
				ns.versions[i].Ciphertext = bytes.Clone(it.Ciphertext)
				ns.versions[i].KeyID, ns.versions[i].Format = it.KeyID, it.Format
				if v.Version == sec.entry.Current.Version {
					ns.entry.Current = ns.versions[i]
				}
				w.secrets[it.SecretID] = ns
				n++
				break
			}
		}
	}
	return n, nil
}

// ForeignKeys implements RotationStore.
func (s *MemoryStore) ForeignKeys(ctx context.Context, q ForeignKeysQuery) ([]WrappedKey, int, error) {
	cipherID, after, limit := q.CipherID, q.After, q.Limit
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []WrappedKey
	total := 0
	for ws, w := range s.ws {
		if w.key != nil && w.key.CipherID != cipherID {
			total++
			if ws > after {
				k := *w.key
				k.Ciphertext = bytes.Clone(k.Ciphertext)
				out = append(out, k)
			}
		}
	}
	slices.SortFunc(out, func(a, b WrappedKey) int { return strings.Compare(a.Workspace, b.Workspace) })
	return out[:min(limit, len(out))], total, nil
}

// master returns the registered master key id, or ErrNotFound. The
// caller holds s.mu.
func (s *MemoryStore) master(id string) (MasterKey, error) {
	k, ok := s.masters[id]
	if !ok {
		return MasterKey{}, errorf(ErrNotFound, "master key %s is not registered", id)
	}
	return k, nil
}

// SetMasterKeyCheck implements RotationStore.
func (s *MemoryStore) SetMasterKeyCheck(ctx context.Context, id string, check []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.master(id)
	if err != nil {
		return err
	}
	k.Check = bytes.Clone(check)
	s.masters[id] = k
	return nil
}

// RetireMasterKey implements MasterKeyRetirer.
func (s *MemoryStore) RetireMasterKey(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.master(id)
	if err != nil {
		return err
	}
	if !k.Retired.IsZero() {
		return nil
	}
	n := 0
	for _, w := range s.ws {
		if w.key != nil && w.key.CipherID == id {
			n++
		}
	}
	if n > 0 {
		return &MasterKeyError{ID: id, InUse: n}
	}
	k.Retired = at.UTC()
	s.masters[id] = k
	return nil
}

// Workspaces implements RotationStore.
func (s *MemoryStore) Workspaces(ctx context.Context, q WorkspacesQuery) ([]string, error) {
	after, limit := q.After, q.Limit
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for ws, w := range s.ws {
		if w.key != nil && ws > after {
			out = append(out, ws)
		}
	}
	slices.Sort(out)
	return out[:min(limit, len(out))], nil
}

// DeleteWorkspace implements WorkspaceDeleter.
func (s *MemoryStore) DeleteWorkspace(ctx context.Context, ws string, audit *Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if audit != nil {
		audit.Secrets = nil
	}
	if w := s.workspace(ws, false); w != nil {
		s.seq++
		for id, sec := range w.secrets {
			if sec.entry.Deleted.IsZero() {
				s.ledger[ws] = append(s.ledger[ws], ledgerEntry{state: s.seq, at: time.Now().UTC(), secretID: id, name: sec.entry.Name})
			}
			if audit != nil {
				cur := sec.entry.Current
				audit.Secrets = append(audit.Secrets, EventSecret{Name: sec.entry.Name, Version: cur.Version, Fingerprint: bytes.Clone(cur.Fingerprint)})
			}
		}
		if audit != nil {
			audit.State = s.seq
			slices.SortFunc(audit.Secrets, func(a, b EventSecret) int { return strings.Compare(a.Name, b.Name) })
		}
		delete(s.ws, ws)
	}
	s.appendEvents(audit)
	return nil
}

// Due implements DueStore.
func (s *MemoryStore) Due(ctx context.Context, q DueQuery) ([]Entry, error) {
	return s.across(ctx, q.Limit, func(ws string, e Entry) bool {
		return e.Deleted.IsZero() && isDue(e.Expires, e.RotateBy, q.Before) &&
			(ws > q.AfterWorkspace || ws == q.AfterWorkspace && e.Name > q.AfterName)
	})
}

// DeletedBefore implements Purger.
func (s *MemoryStore) DeletedBefore(ctx context.Context, before time.Time, limit int) ([]Entry, error) {
	return s.across(ctx, limit, func(_ string, e Entry) bool {
		return !e.Deleted.IsZero() && e.Deleted.Before(before)
	})
}

// across returns up to limit secrets of any workspace that keep accepts,
// ordered by workspace and name, without ciphertexts.
func (s *MemoryStore) across(ctx context.Context, limit int, keep func(ws string, e Entry) bool) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Entry
	for ws, w := range s.ws {
		for _, sec := range w.secrets {
			if keep(ws, sec.entry) {
				e := sec.entry
				e.Current.Ciphertext = nil
				out = append(out, cloneEntry(e))
			}
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if c := strings.Compare(a.Workspace, b.Workspace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out[:min(limit, len(out))], nil
}
