package secrets

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

var (
	_ DueStore         = (*MemoryStore)(nil)
	_ EnvStore         = (*MemoryStore)(nil)
	_ RotationStore    = (*MemoryStore)(nil)
	_ WorkspaceDeleter = (*MemoryStore)(nil)
)

// A MemoryStore is a Store that keeps everything in process memory, for
// tests and for single-process use. It holds only ciphertext and metadata,
// like any Store, and the newest 100,000 audit events. It is safe for
// concurrent use; the zero value is not usable: call NewMemoryStore.
type MemoryStore struct {
	mu     sync.RWMutex
	ws     map[string]*memWorkspace
	events []Event // the newest memoryEvents events, oldest first
	lastID int64
}

// memoryEvents bounds the audit events a MemoryStore keeps: the oldest go
// first. A host that must keep every event records them elsewhere too,
// through Config.OnEvent.
const memoryEvents = 100_000

type memWorkspace struct {
	key     *WrappedKey
	secrets map[string][]Version // by secret ID, oldest version first
	names   map[string]string    // lower-case name -> secret ID
	envSize int64                // sum of EnvSize over current versions
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{ws: map[string]*memWorkspace{}}
}

// Format prints no stored bytes.
func (s *MemoryStore) Format(f fmt.State, _ rune) { fmt.Fprint(f, "secrets.MemoryStore") }

func (s *MemoryStore) workspace(ws string, create bool) *memWorkspace {
	w := s.ws[ws]
	if w == nil && create {
		w = &memWorkspace{secrets: map[string][]Version{}, names: map[string]string{}}
		s.ws[ws] = w
	}
	return w
}

func cloneVersion(v Version) Version {
	v.Fingerprint = bytes.Clone(v.Fingerprint)
	v.Ciphertext = bytes.Clone(v.Ciphertext)
	if v.Ciphertext == nil {
		v.Ciphertext = []byte{}
	}
	return v
}

func current(vs []Version) Version { return vs[len(vs)-1] }

// Key implements Store.
func (s *MemoryStore) Key(ctx context.Context, ws string) (WrappedKey, error) {
	if err := ctx.Err(); err != nil {
		return WrappedKey{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.workspace(ws, false)
	if w == nil || w.key == nil {
		return WrappedKey{}, fmt.Errorf("secrets: key of workspace %q: %w", ws, ErrNotFound)
	}
	k := *w.key
	k.Ciphertext = bytes.Clone(k.Ciphertext)
	return k, nil
}

// PutKey implements Store.
func (s *MemoryStore) PutKey(ctx context.Context, k WrappedKey, expect int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.workspace(k.Workspace, true)
	var have int64
	if w.key != nil {
		have = w.key.Revision
	}
	if have != expect {
		return fmt.Errorf("secrets: key of workspace %q is at revision %d, not %d: %w", k.Workspace, have, expect, ErrConflict)
	}
	k.Ciphertext = bytes.Clone(k.Ciphertext)
	k.Revision = expect + 1
	w.key = &k
	return nil
}

// Lookup implements Store.
func (s *MemoryStore) Lookup(ctx context.Context, ws, name string) (Version, error) {
	if err := ctx.Err(); err != nil {
		return Version{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if w := s.workspace(ws, false); w != nil {
		if id, ok := w.names[strings.ToLower(name)]; ok {
			return cloneVersion(current(w.secrets[id])), nil
		}
	}
	return Version{}, fmt.Errorf("secrets: %s: %w", name, ErrNotFound)
}

// History implements Store.
func (s *MemoryStore) History(ctx context.Context, ws, secretID string) ([]Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.workspace(ws, false)
	if w == nil || w.secrets[secretID] == nil {
		return nil, fmt.Errorf("secrets: secret %s: %w", secretID, ErrNotFound)
	}
	vs := w.secrets[secretID]
	out := make([]Version, len(vs))
	for i, v := range vs {
		out[len(vs)-1-i] = cloneVersion(v)
	}
	return out, nil
}

// Current implements Store.
func (s *MemoryStore) Current(ctx context.Context, ws string) ([]Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	cur := s.sortedCurrent(ws)
	out := make([]Version, len(cur))
	for i, v := range cur {
		out[i] = cloneVersion(*v)
	}
	return out, nil
}

// Put implements Store.
func (s *MemoryStore) Put(ctx context.Context, wr Write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := put(s.workspace(wr.Version.Workspace, true), wr); err != nil {
		return err
	}
	s.appendEvents(wr.Audit)
	return nil
}

// appendEvents stores copies of events, assigning IDs. s.mu must be held.
func (s *MemoryStore) appendEvents(events ...*Event) {
	for _, e := range events {
		if e == nil {
			continue
		}
		c := cloneEvent(*e)
		s.lastID++
		c.ID = s.lastID
		if len(s.events) >= memoryEvents {
			// Drop the oldest tenth at once, so that trimming is rare.
			s.events = append(s.events[:0:0], s.events[memoryEvents/10:]...)
		}
		s.events = append(s.events, c)
	}
}

func cloneEvent(e Event) Event {
	e.Secrets = slices.Clone(e.Secrets)
	for i := range e.Secrets {
		e.Secrets[i].Fingerprint = bytes.Clone(e.Secrets[i].Fingerprint)
	}
	return e
}

// Record implements Store.
func (s *MemoryStore) Record(ctx context.Context, events []Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range events {
		s.appendEvents(&events[i])
	}
	return nil
}

// Events implements Store.
func (s *MemoryStore) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Event{}
	for _, e := range s.events {
		if len(out) == q.Limit {
			break
		}
		if q.matches(e) {
			out = append(out, cloneEvent(e))
		}
	}
	return out, nil
}

// PutBatch implements Store. The writes are applied to copies of the
// workspaces' indexes, which replace the originals only if all succeed.
func (s *MemoryStore) PutBatch(ctx context.Context, writes []Write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	copies := map[string]*memWorkspace{}
	for _, wr := range writes {
		ws := wr.Version.Workspace
		w, ok := copies[ws]
		if !ok {
			w = s.workspace(ws, true).clone()
			copies[ws] = w
		}
		if err := put(w, wr); err != nil {
			return err
		}
	}
	for ws, w := range copies {
		s.ws[ws] = w
	}
	for _, wr := range writes {
		s.appendEvents(wr.Audit)
	}
	return nil
}

func (w *memWorkspace) clone() *memWorkspace {
	c := *w
	c.secrets = maps.Clone(w.secrets)
	c.names = maps.Clone(w.names)
	return &c
}

// put applies wr to w if all its conditions hold; otherwise it changes
// nothing. It never writes into a slice it did not allocate, so a
// clone's changes cannot reach the original.
func put(w *memWorkspace, wr Write) error {
	v := cloneVersion(wr.Version)
	lower := strings.ToLower(v.Name)
	var old []Version
	if wr.Expect == 0 {
		if _, taken := w.names[lower]; taken {
			return fmt.Errorf("secrets: %s: %w", v.Name, ErrExists)
		}
		if _, taken := w.secrets[v.SecretID]; taken {
			return fmt.Errorf("secrets: secret %s exists: %w", v.SecretID, ErrConflict)
		}
	} else {
		old = w.secrets[v.SecretID]
		if old == nil {
			return fmt.Errorf("secrets: secret %s: %w", v.SecretID, ErrNotFound)
		}
		if cur := current(old).Version; cur != wr.Expect {
			return fmt.Errorf("secrets: %s is at version %d, not %d: %w", v.Name, cur, wr.Expect, ErrConflict)
		}
		if id, taken := w.names[lower]; taken && id != v.SecretID {
			return fmt.Errorf("secrets: %s: %w", v.Name, ErrExists)
		}
	}
	if wr.KeyRevision > 0 && (w.key == nil || w.key.Revision != wr.KeyRevision) {
		return fmt.Errorf("secrets: %s: %w", v.Name, ErrKeyChanged)
	}
	if v.Version != wr.Expect+1 {
		return fmt.Errorf("secrets: %s: new version %d does not follow %d: %w", v.Name, v.Version, wr.Expect, ErrConflict)
	}
	size := w.envSize + v.EnvSize
	if old != nil {
		size -= current(old).EnvSize
	}
	if wr.MaxEnvBytes > 0 && size > wr.MaxEnvBytes {
		return fmt.Errorf("secrets: %s: %w", v.Name, ErrTooLarge)
	}
	if old != nil {
		delete(w.names, strings.ToLower(current(old).Name))
	}
	keep := max(wr.Keep, 1)
	vs := append(old[:len(old):len(old)], v)
	if len(vs) > keep {
		vs = append([]Version(nil), vs[len(vs)-keep:]...)
	}
	w.secrets[v.SecretID] = vs
	w.names[lower] = v.SecretID
	w.envSize = size
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(ctx context.Context, ws, secretID string, expect int64, audit *Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.workspace(ws, false)
	if w == nil || w.secrets[secretID] == nil {
		return fmt.Errorf("secrets: secret %s: %w", secretID, ErrNotFound)
	}
	cur := current(w.secrets[secretID])
	if cur.Version != expect {
		return fmt.Errorf("secrets: %s is at version %d, not %d: %w", cur.Name, cur.Version, expect, ErrConflict)
	}
	delete(w.secrets, secretID)
	delete(w.names, strings.ToLower(cur.Name))
	w.envSize -= cur.EnvSize
	s.appendEvents(audit)
	return nil
}

// Stale implements RotationStore.
func (s *MemoryStore) Stale(ctx context.Context, ws string, keep uint32, limit int) ([]Version, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var all []Version
	if w := s.workspace(ws, false); w != nil {
		for _, vs := range w.secrets {
			for _, v := range vs {
				if v.KeyID != keep {
					all = append(all, v)
				}
			}
		}
	}
	slices.SortFunc(all, func(a, b Version) int {
		if c := strings.Compare(a.SecretID, b.SecretID); c != 0 {
			return c
		}
		return int(a.Version - b.Version)
	})
	total := len(all)
	all = all[:min(limit, total)]
	for i := range all {
		all[i] = cloneVersion(all[i])
	}
	return all, total, nil
}

// Reencrypt implements RotationStore.
func (s *MemoryStore) Reencrypt(ctx context.Context, ws string, keyRevision int64, items []Reencryption) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.workspace(ws, false)
	if w == nil || w.key == nil || w.key.Revision != keyRevision {
		return 0, fmt.Errorf("secrets: re-encrypt workspace %q: %w", ws, ErrKeyChanged)
	}
	n := 0
	for _, it := range items {
		vs := w.secrets[it.SecretID]
		for i := range vs {
			if vs[i].Version == it.Version && vs[i].KeyID == it.FromKeyID {
				vs = slices.Clone(vs) // never write into a slice another map may hold

				vs[i].Ciphertext = bytes.Clone(it.Ciphertext)
				vs[i].KeyID = it.KeyID
				w.secrets[it.SecretID] = vs
				n++
				break
			}
		}
	}
	return n, nil
}

// ForeignKeys implements RotationStore.
func (s *MemoryStore) ForeignKeys(ctx context.Context, cipherID string, limit int) ([]WrappedKey, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []WrappedKey
	for _, w := range s.ws {
		if w.key != nil && w.key.CipherID != cipherID {
			k := *w.key
			k.Ciphertext = bytes.Clone(k.Ciphertext)
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b WrappedKey) int { return strings.Compare(a.Workspace, b.Workspace) })
	return out[:min(limit, len(out))], len(out), nil
}

// DeleteWorkspace implements WorkspaceDeleter.
func (s *MemoryStore) DeleteWorkspace(ctx context.Context, ws string, audit *Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ws, ws)
	s.appendEvents(audit)
	return nil
}

// Workspaces implements RotationStore.
func (s *MemoryStore) Workspaces(ctx context.Context, after string, limit int) ([]string, error) {
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

// Env implements EnvStore.
func (s *MemoryStore) Env(ctx context.Context, ws string, audit *Event, relaxed bool) ([]Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lock := s.mu.RLock
	unlock := s.mu.RUnlock
	if audit != nil {
		lock, unlock = s.mu.Lock, s.mu.Unlock
	}
	lock()
	defer unlock()
	cur := s.sortedCurrent(ws)
	out := make([]Version, len(cur))
	for i, v := range cur {
		out[i] = Version{Workspace: v.Workspace, SecretID: v.SecretID, Name: v.Name, Version: v.Version,
			Ciphertext: bytes.Clone(v.Ciphertext), KeyID: v.KeyID, Info: Info{WriteOnly: v.WriteOnly}, Fingerprint: bytes.Clone(v.Fingerprint)}
	}
	if audit != nil {
		for _, v := range out {
			audit.Secrets = append(audit.Secrets, EventSecret{Name: v.Name, Version: v.Version, Fingerprint: bytes.Clone(v.Fingerprint)})
		}
		s.appendEvents(audit)
	}
	return out, nil
}

// sortedCurrent returns pointers to the workspace's current versions,
// sorted by name: sorting pointers moves 8 bytes, not whole Versions.
// s.mu must be held.
func (s *MemoryStore) sortedCurrent(ws string) []*Version {
	w := s.workspace(ws, false)
	if w == nil {
		return nil
	}
	cur := make([]*Version, 0, len(w.secrets))
	for _, vs := range w.secrets {
		cur = append(cur, &vs[len(vs)-1])
	}
	slices.SortFunc(cur, func(a, b *Version) int { return strings.Compare(a.Name, b.Name) })
	return cur
}

// Due implements DueStore.
func (s *MemoryStore) Due(ctx context.Context, before time.Time, limit int) ([]Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Version
	for _, w := range s.ws {
		for _, vs := range w.secrets {
			v := current(vs)
			if isDue(v.Info, before) {
				v.Ciphertext = nil
				out = append(out, cloneVersion(v))
			}
		}
	}
	slices.SortFunc(out, func(a, b Version) int {
		if c := strings.Compare(a.Workspace, b.Workspace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out[:min(limit, len(out))], nil
}
