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
	_ RotationStore    = (*MemoryStore)(nil)
	_ MasterKeyRetirer = (*MemoryStore)(nil)
	_ WorkspaceDeleter = (*MemoryStore)(nil)
	_ Purger           = (*MemoryStore)(nil)
	_ FingerprintStore = (*MemoryStore)(nil)
	_ LedgerStore      = (*MemoryStore)(nil)
)

// A MemoryStore is a Store that keeps everything in process memory, for
// tests, examples and single-process use with small workspaces: each write
// copies the index of its workspace (time and memory in proportion to the
// workspace's secrets), under a lock every workspace shares. It holds only ciphertext and metadata,
// like any Store, the newest 100,000 audit events and the ledger of its
// whole life (see Purger to drop old events and ledger entries). It is
// safe for concurrent use; the zero value is not usable: call
// NewMemoryStore.
type MemoryStore struct {
	mu      sync.RWMutex
	seq     int64 // the last state or key generation handed out
	ws      map[string]*memWorkspace
	masters map[string]MasterKey
	ledger  map[string][]ledgerEntry // by workspace, in state order; outlives workspaces
	events  []Event                  // the newest memoryEvents events, oldest first
	lastID  int64
}

// memoryEvents bounds the audit events a MemoryStore keeps: the oldest go
// first. A host that must keep every event records them elsewhere too,
// through Config.OnEvent.
const memoryEvents = 100_000

type memWorkspace struct {
	key     *WrappedKey
	secrets map[string]*memSecret // by secret ID
	names   map[string]string     // lower-case name -> secret ID
	envSize int64                 // sum of EnvSize over live current versions
	state   int64
}

type memSecret struct {
	entry    Entry     // Current is the newest of versions
	versions []Version // retained, oldest first
}

// A ledgerEntry says what a secret delivered from a state on.
type ledgerEntry struct {
	state       int64
	at          time.Time
	secretID    string
	name        string
	version     int64 // 0: not delivered (deleted, destroyed)
	writeOnly   bool
	protected   bool
	fingerprint []byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{ws: map[string]*memWorkspace{}, masters: map[string]MasterKey{}, ledger: map[string][]ledgerEntry{}}
}

// Format prints no stored bytes.
func (s *MemoryStore) Format(f fmt.State, _ rune) { fmt.Fprint(f, "secrets.MemoryStore") }

func (s *MemoryStore) workspace(ws string, create bool) *memWorkspace {
	w := s.ws[ws]
	if w == nil && create {
		w = &memWorkspace{secrets: map[string]*memSecret{}, names: map[string]string{}}
		s.ws[ws] = w
	}
	return w
}

func (w *memWorkspace) keyGen() int64 {
	if w == nil || w.key == nil {
		return 0
	}
	return w.key.Generation
}

func cloneVersion(v Version) Version {
	v.Fingerprint = bytes.Clone(v.Fingerprint)
	v.Ciphertext = bytes.Clone(v.Ciphertext)
	if v.Ciphertext == nil {
		v.Ciphertext = []byte{}
	}
	return v
}

func cloneEntry(e Entry) Entry {
	e.Current = cloneVersion(e.Current)
	return e
}

// Lookup implements Store.
func (s *MemoryStore) Lookup(ctx context.Context, ws, name string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if w := s.workspace(ws, false); w != nil {
		if id, ok := w.names[strings.ToLower(name)]; ok {
			e := cloneEntry(w.secrets[id].entry)
			e.Current.KeyGen = w.keyGen()
			return e, nil
		}
	}
	return Entry{}, errorf(ErrNotFound, "%s does not exist", name)
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
		return nil, errorf(ErrNotFound, "secret %s does not exist", secretID)
	}
	vs := w.secrets[secretID].versions
	out := make([]Version, len(vs))
	for i, v := range vs {
		out[len(vs)-1-i] = cloneVersion(v)
		out[len(vs)-1-i].KeyGen = w.keyGen()
	}
	return out, nil
}

// List implements Store.
func (s *MemoryStore) List(ctx context.Context, ws string, q ListQuery) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.workspace(ws, false)
	if w == nil {
		return []Entry{}, nil
	}
	after, search := strings.ToLower(q.After), strings.ToLower(q.Search)
	var keys []string
	match := func(k, id string) {
		if (q.After == "" || k > after) && strings.Contains(k, search) && w.secrets[id].entry.Deleted.IsZero() != q.Deleted {
			keys = append(keys, k)
		}
	}
	if q.Names != nil {
		seen := map[string]bool{}
		for _, n := range q.Names {
			k := strings.ToLower(n)
			if id, ok := w.names[k]; ok && !seen[k] {
				seen[k] = true
				match(k, id)
			}
		}
	} else {
		keys = make([]string, 0, len(w.names))
		for k, id := range w.names {
			match(k, id)
		}
	}
	slices.Sort(keys)
	keys = keys[:min(len(keys), max(q.Limit, 1))]
	out := make([]Entry, len(keys))
	for i, k := range keys {
		e := w.secrets[w.names[k]].entry
		if !q.Values {
			e.Current.Ciphertext = nil
		}
		out[i] = cloneEntry(e)
		out[i].Current.KeyGen = w.keyGen()
	}
	return out, nil
}

// Env implements Store.
func (s *MemoryStore) Env(ctx context.Context, ws string, q EnvQuery) (Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, err
	}
	if q.Audit != nil && len(q.Parents) > 0 {
		return Snapshot{}, errorf(nil, "read workspace %q: an audited read of several levels", ws)
	}
	lock, unlock := s.mu.RLock, s.mu.RUnlock
	if q.Audit != nil {
		lock, unlock = s.mu.Lock, s.mu.Unlock
	}
	lock()
	defer unlock()
	var want map[string]bool
	if q.Names != nil {
		want = map[string]bool{}
		for _, n := range q.Names {
			want[strings.ToLower(n)] = true
		}
	}
	var snap Snapshot
	for level, c := range slices.Concat([]string{ws}, q.Parents) {
		var st LevelState
		var es []EnvEntry
		if w := s.workspace(c, false); w != nil {
			st = LevelState{Container: c, State: w.state, KeyGen: w.keyGen()}
			for k, id := range w.names {
				e := w.secrets[id].entry
				if e.Deleted.IsZero() && (want == nil || want[variableOf(k)]) {
					v := e.Current
					es = append(es, EnvEntry{Level: level, SecretID: e.SecretID, Name: e.Name, Version: v.Version, Format: v.Format,
						WriteOnly: v.WriteOnly, File: v.File, Protected: v.Protected, Expand: v.Expand, Ciphertext: slices.Clone(v.Ciphertext), Expires: e.Expires})
				}
			}
			if q.Unscoped || q.Audit != nil {
				es = unscoped(es)
			}
			slices.SortFunc(es, func(a, b EnvEntry) int { return strings.Compare(a.Name, b.Name) })
		}
		snap.Entries = append(snap.Entries, es...)
		if level == 0 {
			snap.State, snap.KeyGen = st.State, st.KeyGen
		} else {
			st.Container = c
			snap.Parents = append(snap.Parents, st)
		}
	}
	if q.Audit != nil {
		q.Audit.State = snap.State
		e := *q.Audit
		e.Secrets = nil
		if q.Names != nil {
			// Not nil, even for no names: a job given none got none.
			e.Secrets = make([]EventSecret, 0, len(q.Names))
			for _, n := range q.Names {
				e.Secrets = append(e.Secrets, EventSecret{Name: n})
			}
		}
		s.appendEvents(&e)
		q.Audit.ID = e.ID
	}
	return snap, nil
}

// Put implements Store. The writes are applied to copies of the
// workspaces, which replace the originals only if all succeed.
func (s *MemoryStore) Put(ctx context.Context, writes ...Write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	copies := map[string]*memWorkspace{}
	var ledger []struct {
		ws string
		e  ledgerEntry
	}
	for _, wr := range writes {
		if wr.CheckState {
			if w := s.workspace(wr.Entry.Workspace, false); w == nil && wr.ExpectState != 0 || w != nil && w.state != wr.ExpectState {
				return errorf(ErrConflict, "workspace %q changed since state %d", wr.Entry.Workspace, wr.ExpectState)
			}
		}
	}
	seq := s.seq
	states := map[string]int64{}
	for _, wr := range writes {
		ws := wr.Entry.Workspace
		w, ok := copies[ws]
		if !ok {
			w = s.workspace(ws, true).clone()
			copies[ws] = w
		}
		le, changed, err := applyWrite(w, wr)
		if err != nil {
			return err
		}
		if changed {
			if states[ws] == 0 {
				seq++
				states[ws] = seq
			}
			w.state = states[ws]
			le.state = w.state
			ledger = append(ledger, struct {
				ws string
				e  ledgerEntry
			}{ws, le})
		}
		if wr.Audit != nil {
			wr.Audit.State = w.state
		}
	}
	if err := checkSecretCounts(s, copies, writes); err != nil {
		return err
	}
	s.seq = seq
	maps.Copy(s.ws, copies)
	for _, l := range ledger {
		s.ledger[l.ws] = append(s.ledger[l.ws], l.e)
	}
	for _, wr := range writes {
		s.appendEvents(wr.Audit)
	}
	return nil
}

// clone copies the workspace's indexes; secrets are replaced, never
// changed in place, so they may be shared.
func (w *memWorkspace) clone() *memWorkspace {
	c := *w
	c.secrets = maps.Clone(w.secrets)
	c.names = maps.Clone(w.names)
	return &c
}

// applyWrite checks wr against w and applies it, or changes nothing. It
// returns the ledger entry to add (without its state) and whether the
// write changed what a job would receive. In order:
//   - checkPreconditions: the key generation, and the secret's existence
//     and revision against wr.Expect;
//   - a check-only write stops there; a destroy removes the secret;
//   - checkSuccession: the new revision, name and version follow the old;
//   - keptVersions: the retained versions after re-encryption and the new
//     version, and the current one;
//   - envSizeAfter: the workspace's environment within wr.MaxEnvBytes;
//   - the entry stored, with its ledger entry and whether jobs see a change.
func applyWrite(w *memWorkspace, wr Write) (ledgerEntry, bool, error) {
	e := wr.Entry
	old := w.secrets[e.SecretID]
	if err := checkPreconditions(w, wr, old); err != nil {
		return ledgerEntry{}, false, err
	}
	if wr.Check {
		return ledgerEntry{}, false, nil
	}
	if wr.Destroy {
		le, changed := destroySecret(w, e, old)
		return le, changed, nil
	}
	if err := checkSuccession(w, wr, old); err != nil {
		return ledgerEntry{}, false, err
	}
	vs, cur, err := keptVersions(wr, old)
	if err != nil {
		return ledgerEntry{}, false, err
	}
	size, err := envSizeAfter(w, wr, old, cur)
	if err != nil {
		return ledgerEntry{}, false, err
	}
	if old != nil {
		delete(w.names, strings.ToLower(old.entry.Name))
	}
	ne := e
	ne.Current = cur
	w.secrets[e.SecretID] = &memSecret{entry: ne, versions: vs}
	w.names[strings.ToLower(e.Name)] = e.SecretID
	w.envSize = size

	le := ledgerEntry{at: e.Updated, secretID: e.SecretID, name: e.Name}
	if e.Deleted.IsZero() {
		le.version, le.writeOnly, le.protected, le.fingerprint = cur.Version, cur.WriteOnly, cur.Protected, bytes.Clone(cur.Fingerprint)
	}
	return le, jobSeesChange(old, ne), nil
}

// checkPreconditions checks wr's key generation, and its expectation of
// the stored secret old (nil: none): absent for a create (whose name must
// be free and which must start at revision and version 1), at revision
// wr.Expect otherwise.
func checkPreconditions(w *memWorkspace, wr Write, old *memSecret) error {
	e := wr.Entry
	if wr.KeyGen > 0 && w.keyGen() != wr.KeyGen {
		return errorf(ErrKeyChanged, "%s: the workspace key changed", e.Name)
	}
	if wr.Expect != 0 {
		if old == nil {
			return errorf(ErrNotFound, "secret %s does not exist", e.SecretID)
		}
		if old.entry.Revision != wr.Expect {
			return errorf(ErrConflict, "%s is at revision %d, not %d", old.entry.Name, old.entry.Revision, wr.Expect)
		}
		return nil
	}
	if old != nil {
		return errorf(ErrConflict, "secret %s exists", e.SecretID)
	}
	if id, taken := w.names[strings.ToLower(e.Name)]; taken {
		return errorf(ErrExists, "%s is taken by %s", e.Name, w.secrets[id].entry.Name)
	}
	if wr.Destroy || wr.Check || e.Revision != 1 || !wr.NewVersion || e.Current.Version != 1 {
		return errorf(ErrConflict, "%s: a new secret starts at revision and version 1", e.Name)
	}
	return nil
}

// destroySecret removes old (which exists: a destroy expects a revision)
// with every version, and returns its ledger entry and whether a job sees
// the change (it was not deleted).
func destroySecret(w *memWorkspace, e Entry, old *memSecret) (ledgerEntry, bool) {
	delete(w.secrets, e.SecretID)
	delete(w.names, strings.ToLower(old.entry.Name))
	live := old.entry.Deleted.IsZero()
	if live {
		w.envSize -= old.entry.Current.EnvSize
	}
	return ledgerEntry{at: e.Updated, secretID: e.SecretID, name: old.entry.Name}, live
}

// checkSuccession checks that a change of old follows it: the next
// revision, a name no other secret holds, the same version or the next.
func checkSuccession(w *memWorkspace, wr Write, old *memSecret) error {
	if old == nil {
		return nil
	}
	e := wr.Entry
	if e.Revision != wr.Expect+1 {
		return errorf(ErrConflict, "%s: revision %d does not follow %d", e.Name, e.Revision, wr.Expect)
	}
	if id, taken := w.names[strings.ToLower(e.Name)]; taken && id != e.SecretID {
		return errorf(ErrExists, "%s is taken by %s", e.Name, w.secrets[id].entry.Name)
	}
	want := old.entry.Current.Version
	if wr.NewVersion {
		want++
	}
	if e.Current.Version != want {
		return errorf(ErrConflict, "%s: version %d does not follow %d", e.Name, e.Current.Version, old.entry.Current.Version)
	}
	return nil
}

// keptVersions returns the versions retained after wr (old's, each
// replaced by its re-encryption in wr.Reseal, then the new version, the
// oldest dropped past wr.Keep) and the current version: the new one, the
// re-encrypted one, or the stored one (never the caller's copy, which a
// concurrent rotation may have re-encrypted since it was read).
func keptVersions(wr Write, old *memSecret) ([]Version, Version, error) {
	e := wr.Entry
	var vs []Version
	if old != nil {
		vs = slices.Clone(old.versions)
	}
	if len(wr.Reseal) > 0 {
		if len(wr.Reseal) != len(vs) {
			return nil, Version{}, errorf(ErrConflict, "%s: %d versions to re-encrypt, %d retained", e.Name, len(wr.Reseal), len(vs))
		}
		for i := range vs {
			r := wr.Reseal[i]
			if r.Version != vs[i].Version {
				return nil, Version{}, errorf(ErrConflict, "%s: version %d to re-encrypt is not retained", e.Name, r.Version)
			}
			vs[i] = cloneVersion(r)
			vs[i].KeyGen = 0
		}
	}
	switch {
	case wr.NewVersion:
		cur := cloneVersion(e.Current)
		cur.KeyGen = 0
		vs = append(vs, cur)
		if keep := max(wr.Keep, 1); len(vs) > keep {
			vs = slices.Clone(vs[len(vs)-keep:])
		}
		return vs, cur, nil
	case len(vs) > 0:
		return vs, vs[len(vs)-1], nil
	default:
		return vs, old.entry.Current, nil
	}
}

// envSizeAfter returns the workspace's environment size once old is
// replaced by wr's entry with current version cur; ErrTooLarge past
// wr.MaxEnvBytes, unless the write does not grow it.
func envSizeAfter(w *memWorkspace, wr Write, old *memSecret, cur Version) (int64, error) {
	size := w.envSize
	if old != nil && old.entry.Deleted.IsZero() {
		size -= old.entry.Current.EnvSize
	}
	if wr.Entry.Deleted.IsZero() {
		size += cur.EnvSize
	}
	if wr.MaxEnvBytes > 0 && size > wr.MaxEnvBytes && size > w.envSize {
		return 0, errorf(ErrTooLarge, "%s: the workspace environment would take %d bytes", wr.Entry.Name, size)
	}
	return size, nil
}

// jobSeesChange reports whether replacing old (nil: none) by ne changes
// what a job receives: the secret appears or goes, or, live, changes its
// name, version, write-only flag or file flag.
func jobSeesChange(old *memSecret, ne Entry) bool {
	live := ne.Deleted.IsZero()
	if old == nil || old.entry.Deleted.IsZero() != live {
		return true
	}
	o, c := old.entry.Current, ne.Current
	return live && (old.entry.Name != ne.Name || o.Version != c.Version || o.WriteOnly != c.WriteOnly || o.File != c.File ||
		o.Protected != c.Protected || o.Expand != c.Expand)
}

// checkSecretCounts refuses a Put that leaves a workspace with more
// secrets than its writes' MaxSecrets, unless it did not add to their
// number (see Write).
func checkSecretCounts(s *MemoryStore, copies map[string]*memWorkspace, writes []Write) error {
	limits := map[string]int{}
	for _, wr := range writes {
		limits[wr.Entry.Workspace] = max(limits[wr.Entry.Workspace], wr.MaxSecrets)
	}
	for ws, w := range copies {
		before := 0
		if old := s.workspace(ws, false); old != nil {
			before = len(old.secrets)
		}
		if n := len(w.secrets); limits[ws] > 0 && n > limits[ws] && n > before {
			return tooManySecrets("workspace %q would hold %d secrets, over %d", ws, n, limits[ws])
		}
	}
	return nil
}
