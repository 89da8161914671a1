package secrets

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// A writeOp is one of the Manager's writes of one secret.
type writeOp struct {
	action Action
	ws     string
	name   string   // the secret's name as the caller gave it
	extra  []string // more names the authorizer is asked with (Rename's new one)
	// useHint lets a remembered entry stand in for the Store's on the
	// first attempt (unconditional Set: the Store's conditions decide).
	useHint bool
	// build validates the write against the secret as it is (cur, nil if
	// there is none) and makes it, with its event from e. remembered says
	// that cur is the Manager's own entry of its last write of the secret
	// (useHint), whose flags are those it sealed: not the Store's row,
	// whose flags only its ciphertext authenticates (see authentic).
	build func(e *Event, cur *Entry, remembered bool) (Write, error)
}

// write runs op: it checks the workspace (not audited), starts op's
// event, and lets edit authorize, build and store the write; a failure is
// audited as such. On success the caller finishes with done (or, for a
// destroy, its own bookkeeping).
func (m *Manager) write(ctx context.Context, op writeOp) (Write, error) {
	if err := validWorkspace(op.ws); err != nil {
		return Write{}, err
	}
	e := m.event(ctx, op.action, op.ws)
	w, err := m.edit(ctx, e, op)
	if err != nil {
		// A failed write names its secret, so that a search by name
		// finds the attempt; not a name the tiers refuse, which may be a
		// value pasted into the name's field.
		if len(e.Secrets) == 0 && m.validName(op.name) == nil {
			e.Secrets = []EventSecret{{Name: op.name}}
		}
		return Write{}, m.failed(ctx, e, err)
	}
	return w, nil
}

// edit runs op, the write of the secret called op.name: it reads the
// secret (cur is nil if there is none), asks the authorizer with the name
// as stored (and op.extra), lets op.build validate and make the write,
// and stores it. When the Store finds a condition broken (another writer
// got there first) or the workspace key changed, edit reads again and
// asks op.build again: it decides, from the new state, whether that is a
// conflict for its caller.
func (m *Manager) edit(ctx context.Context, e *Event, op writeOp) (Write, error) {
	ws, name, useHint := op.ws, op.name, op.useHint
	authorized := ""
	var last error
	began, stale, attempt := time.Now(), 0, 0
	seen := "" // what the last attempt was put on condition of (see putOn)
	for ; ; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return Write{}, err
		}
		hinted := useHint && attempt == 0
		cur, remembered, err := m.current(ctx, ws, name, hinted)
		if err != nil {
			return Write{}, err
		}
		canon := name
		if cur != nil {
			canon = cur.Name
		}
		if canon != authorized {
			if err := m.authorize(ctx, e, m.askable(append([]string{canon}, op.extra...))...); err != nil {
				return Write{}, err
			}
			authorized = canon
		}
		// As Get: an invalid name is refused after authorization, never
		// quoted (users paste values into name fields).
		if err := validSyntax(name, m.cfg.MaxNameLength); err != nil {
			return Write{}, err
		}
		w, err := op.build(e, cur, remembered)
		if errors.Is(err, errStale) {
			last = err // kept for the end: a write never ends with no error
			if stale++; stale > maxAttempts {
				break
			}
			continue
		}
		if err != nil && hinted {
			// A remembered entry may be out of date (another replica
			// changed the secret): refuse only on the Store's.
			m.hints.Remove(hintKey(ws, name))
			useHint = false
			attempt--
			continue
		}
		if err != nil {
			return Write{}, err
		}
		// A race lost again: go on while another writer moved what this
		// write depends on since the last attempt (the secret, or, for a
		// write held to its workspace, the workspace).
		now := putOn(cur, w)
		if attempt > 0 && !m.retryRace(attempt, began, now != seen) {
			break
		}
		seen = now
		if err = m.store.Put(ctx, w); err == nil {
			return w, nil
		}
		last = err
		m.hints.Remove(hintKey(ws, name))
		switch {
		case errors.Is(err, ErrKeyChanged):
			m.keys.Remove(ws)
			seen = "" // a key that moved is another writer's win
			if stale++; stale > maxAttempts {
				return Write{}, wrapf(err, "%s: the workspace key kept changing under this write; gave up after %d attempts", name, attempt+1)
			}
		case errors.Is(err, errTooManySecrets):
			return Write{}, m.tooManySecrets(canon + ": ")
		case errors.Is(err, ErrTooLarge):
			return Write{}, errorf(ErrTooLarge, "%s: the workspace environment would exceed %d bytes", canon, m.cfg.MaxEnvBytes)
		case !lostRace(err):
			return Write{}, err
		}
	}
	if errors.Is(last, errStale) {
		// Rows read under a key, or a history, that never settled: as a
		// read reports it (the rows may have been edited outside).
		return Write{}, unsettled(ws, name, last)
	}
	// One class, ErrConflict, whatever the Store's last refusal was (a
	// name taken, a secret gone: each a race this write lost).
	return Write{}, errorf(ErrConflict, "%s (or, for a value that references others, its workspace) keeps changing under this write; gave up after %d attempts: %s",
		name, attempt, detail(last))
}

// workspaceState reads the workspace's state (see Write.ExpectState), and
// nothing else.
func (m *Manager) workspaceState(ctx context.Context, ws string) (int64, error) {
	snap, err := m.store.Env(ctx, ws, EnvQuery{Names: []string{}})
	return snap.State, err
}

// putOn names what w, a write of cur, is put on condition of: which
// secret at which revision ("" for none), and the workspace's state if w
// is held to it, so that a retry can tell whether another writer won
// since the last attempt.
func putOn(cur *Entry, w Write) string {
	s := ""
	if cur != nil {
		s = cur.SecretID + "@" + strconv.FormatInt(cur.Revision, 10)
	}
	if w.CheckState {
		s += "/" + strconv.FormatInt(w.ExpectState, 10)
	}
	return s
}

// current returns the secret called name, or nil if there is none (or
// the name is invalid: its caller refuses it after authorization). With
// useHint, a remembered entry may stand in for the Store's.
func (m *Manager) current(ctx context.Context, ws, name string, useHint bool) (cur *Entry, remembered bool, err error) {
	if validSyntax(name, m.cfg.MaxNameLength) != nil {
		return nil, false, nil
	}
	if useHint {
		if h, ok := m.hints.Get(hintKey(ws, name)); ok {
			return &h, true, nil
		}
	}
	e, err := m.store.Lookup(ctx, ws, name)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &e, false, nil
}

// The last argument of need.
const (
	mustBeLive   = true  // a soft-deleted secret is ErrNotFound
	mayBeDeleted = false // live or soft-deleted
)

// need checks that the secret exists (live, if live), at ifRevision when
// that is not zero (a negative one never matches).
func (m *Manager) need(cur *Entry, name string, ifRevision int64, live bool) error {
	switch {
	case cur == nil && ifRevision != 0:
		return &ConflictError{Name: name, Seen: ifRevision}
	case cur == nil:
		return errorf(ErrNotFound, "%s does not exist", name)
	case ifRevision != 0 && cur.Revision != ifRevision:
		return conflict(cur, ifRevision)
	case live && !cur.Deleted.IsZero():
		return errorf(ErrNotFound, "%s is deleted (Undelete restores it)", cur.Name)
	}
	return nil
}

func conflict(cur *Entry, seen int64) *ConflictError {
	return &ConflictError{Name: cur.Name, Seen: seen, Revision: cur.Revision, Version: cur.Current.Version, Deleted: !cur.Deleted.IsZero()}
}

// next returns cur at its next revision, changed by the caller of ctx.
func (m *Manager) next(ctx context.Context, cur Entry) Entry {
	cur.Revision++
	cur.Updated, cur.UpdatedBy = m.now(), ActorFrom(ctx)
	return cur
}

// A change says what a Write does beyond replacing the entry; the zero
// change edits the entry only (its details, its deleted mark).
type change struct {
	newVersion bool      // ne.Current is a new version (Set, Rollback)
	reseal     []Version // the retained versions re-encrypted, oldest first
	key        *dataKey  // the key new ciphertexts are under (nil: none)
	destroy    bool      // the secret goes, with every version
}

// newWrite returns the Write that turns cur (nil: nothing) into ne as c
// says, with its event.
func (m *Manager) newWrite(e *Event, ne Entry, cur *Entry, c change) Write {
	w := Write{Entry: ne, NewVersion: c.newVersion, Destroy: c.destroy, Reseal: c.reseal,
		Keep: m.cfg.KeepVersions, MaxEnvBytes: max(m.cfg.MaxEnvBytes, 0), MaxSecrets: max(m.cfg.MaxSecrets, 0)}
	if cur != nil {
		w.Expect = cur.Revision
	}
	if c.key != nil {
		w.KeyGen = c.key.gen
	}
	ev := *e
	ev.Time = ne.Updated
	ev.Secrets = []EventSecret{{Name: ne.Name, Version: ne.Current.Version, Fingerprint: ne.Current.Fingerprint}}
	if cur != nil {
		ev.Detail = joinDetail(ev.Detail, flagChanges(cur.Current, ne.Current))
	}
	w.Audit = &ev
	return w
}

// flagChanges says which flags bound into a secret's value the write from
// a to b turns on or off ("protected off, file on"), for its event: who
// unprotected a secret is in the trail. "" if none.
func flagChanges(a, b Version) string {
	var out []string
	for _, f := range []struct {
		name string
		a, b bool
	}{{"protected", a.Protected, b.Protected}, {"write-only", a.WriteOnly, b.WriteOnly}, {"file", a.File, b.File}, {"expand", a.Expand, b.Expand}} {
		switch {
		case f.b && !f.a:
			out = append(out, f.name+" on")
		case f.a && !f.b:
			out = append(out, f.name+" off")
		}
	}
	return strings.Join(out, ", ")
}

// done remembers a written secret and publishes its event.
func (m *Manager) done(ctx context.Context, w Write) Meta {
	if !w.Check {
		h := w.Entry
		h.Current.Ciphertext = nil
		h.Current.KeyGen = w.KeyGen
		m.hints.Add(hintKey(h.Workspace, h.Name), h)
		m.published(ctx, *w.Audit)
	}
	return w.Entry.meta()
}

// reseal re-encrypts every retained version of cur with change applied to
// what is bound into it, oldest first, as Write.Reseal wants them.
func (m *Manager) reseal(ctx context.Context, cur *Entry, k *dataKey, change func(*Version)) ([]Version, error) {
	hist, err := m.store.History(ctx, cur.Workspace, cur.SecretID)
	if err != nil {
		return nil, err
	}
	out := make([]Version, len(hist))
	for i, v := range hist {
		if v.KeyGen != k.gen {
			m.keys.Remove(cur.Workspace)
			return nil, errStale
		}
		p, err := k.open(&v)
		if err != nil {
			return nil, &DecryptError{Workspace: cur.Workspace, Names: []string{cur.Name + " version " + itoa(v.Version)}}
		}
		if err := answers(cur, &v); err != nil {
			clear(p)
			return nil, err
		}
		change(&v)
		err = k.seal(&v, p)
		clear(p)
		if err != nil {
			return nil, err
		}
		v.KeyGen = 0
		out[len(hist)-1-i] = v
	}
	return out, nil
}

// authentic opens cur's current version under the flags its row says,
// and fails with a DecryptError when it does not open. The row's flags
// are what a write keeps (Set without Info, Rollback) and decides by
// (write-only cannot be undone, ActionUnprotect), and only the ciphertext
// authenticates them: a row re-flagged with SQL must not pass its flags
// to a version the Manager seals, nor unlock an older version.
func (m *Manager) authentic(ctx context.Context, cur *Entry) error {
	p, err := m.openCurrent(ctx, cur)
	clear(p)
	return err
}

// openCurrent decrypts cur's current version under the flags its row
// says (see authentic); the caller clears the value.
func (m *Manager) openCurrent(ctx context.Context, cur *Entry) ([]byte, error) {
	k, err := m.keyFor(ctx, cur.Workspace, cur.Current.KeyGen)
	if err != nil {
		return nil, err
	}
	v := cur.Current
	p, err := k.open(&v)
	if err != nil {
		return nil, &DecryptError{Workspace: cur.Workspace, Names: []string{cur.Name}}
	}
	return p, nil
}

// hintKey is the key of a secret's hint: names are unique ignoring case.
func hintKey(ws, name string) string { return ws + "\x00" + strings.ToLower(name) }

// lostRace reports whether a write failed because another writer changed
// the secret (or took its name) first.
func lostRace(err error) bool {
	return errors.Is(err, ErrConflict) || errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound)
}

// tooManySecrets is the Manager's refusal of a write past
// Config.MaxSecrets, after prefix (a name and ": ", or nothing).
func (m *Manager) tooManySecrets(prefix string) error {
	return errorf(ErrTooLarge, "%sthe workspace would hold more than %d secrets (Config.MaxSecrets; deleted secrets count until purged or destroyed)",
		prefix, m.cfg.MaxSecrets)
}

// holdState puts w on condition that its workspace is at *state, if state
// is not nil (see checkRefs).
func holdState(w *Write, state *int64) {
	if state != nil {
		w.CheckState, w.ExpectState = true, *state
	}
}

// restoredProtected is whether a version made with the value of then, a
// retained version, while now is current, is protected: a version sealed
// protected stays so (see reflag), and a write that brings a value back
// never unprotects.
func restoredProtected(now, then Version) bool { return now.Protected || then.Protected }

// flagNotes collects, for a write of several secrets (Restore, RestoreAt),
// the flags each turned on or off (flagChanges), for its event's detail.
type flagNotes []string

func (f *flagNotes) add(name string, from, to Version) {
	if c := flagChanges(from, to); c != "" {
		*f = append(*f, name+": "+c)
	}
}

// detail is the event's detail: head, then the notes, within maxDetail.
func (f flagNotes) detail(head string) string {
	return truncateUTF8(joinDetail(head, strings.Join(f, "; ")), maxDetail)
}

// joinDetail joins two parts of an event's detail, either of which may be
// empty.
func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
