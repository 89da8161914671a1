package secrets

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"
)

// maxAttempts bounds the retries of a write that loses races.
const maxAttempts = 32

// errStale says that rows were read under a workspace key that has been
// replaced since: read them again.
var errStale = errors.New("secrets: read under a replaced key")

// backoff waits before retry number attempt of a write that lost a race:
// not at all for the first two, then a random pause of up to attempt
// milliseconds (at most 20), so that contending writers spread out.
func backoff(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return ctx.Err()
	}
	t := time.NewTimer(time.Duration(mrand.Int64N(int64(min(attempt, 20))*int64(time.Millisecond)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SetOptions are the conditions and metadata of a [Manager.Set]. A nil
// *SetOptions writes unconditionally and keeps the secret's Info.
type SetOptions struct {
	// IfRevision, if positive, is the revision the editor saw: the write
	// applies only if the secret is still at it (*ConflictError
	// otherwise, also if the secret is gone).
	IfRevision int64
	// IfAbsent applies the write only if no secret, live or deleted, has
	// the name (*ExistsError otherwise): create-only.
	IfAbsent bool
	// Info, if not nil, replaces the secret's Info in the same revision:
	// the way to create a secret that is write-only from its first
	// version. nil keeps the Info (a new secret gets the zero Info).
	Info *Info
}

// Set stores value as the new current version of the secret name of
// workspace ws, creating the secret if there is none. Unconditional
// writes that race with other writers retry on top of them, so every
// version is kept in the history and the last to commit is current.
//
// A name is unique ignoring case: a Set under another spelling of an
// existing secret's name (API_TOKEN for api_token) is refused with an
// *ExistsError naming the existing spelling, as is a Set of a name held
// by a soft-deleted secret; only Rename changes a name.
//
// Set refuses, changing nothing: an invalid workspace (ErrInvalidWorkspace,
// not audited); a refusal of Config.Authorize (ErrForbidden), asked
// first, with the name as stored; a name that breaks the
// environment-variable rule (ErrInvalidName) or is denied or reserved
// (ErrReservedName); a value with a NUL byte (ErrInvalidValue); a
// "NAME=value" over MaxEnvString, or a workspace environment over
// Config.MaxEnvBytes (ErrTooLarge); an invalid Info (ErrInvalidInfo); an
// Info that would make a write-only secret readable (ErrWriteOnly); and
// the conditions of opts (ErrConflict, ErrExists). A name that matches one
// of [NamePatterns] is saved, and the returned Meta's Warnings say so
// (with Config.StrictNames it is refused with ErrReservedName); see
// [Manager.CheckName].
func (m *Manager) Set(ctx context.Context, ws, name string, value []byte, opts *SetOptions) (Meta, error) {
	var o SetOptions
	if opts != nil {
		o = *opts
	}
	if err := validWorkspace(ws); err != nil {
		return Meta{}, err
	}
	if o.IfRevision < 0 {
		return Meta{}, errors.New("secrets: Set: negative revision")
	}
	if o.Info != nil {
		info := normalInfo(*o.Info)
		o.Info = &info
	}
	e := m.event(ctx, ActionSet, ws)
	useHint := !o.IfAbsent && o.Info == nil
	w, err := m.edit(ctx, e, ws, name, nil, useHint, func(cur *Entry) (Write, error) {
		if err := m.validName(name); err != nil {
			return Write{}, err
		}
		if err := validValue(name, value); err != nil {
			return Write{}, err
		}
		if o.Info != nil {
			if err := validInfo(*o.Info); err != nil {
				return Write{}, err
			}
		}
		switch {
		case cur == nil && o.IfRevision > 0:
			return Write{}, &ConflictError{Name: name, Seen: o.IfRevision}
		case cur != nil && (cur.Name != name || !cur.Deleted.IsZero() || o.IfAbsent):
			return Write{}, &ExistsError{Name: cur.Name, Deleted: !cur.Deleted.IsZero()}
		case cur != nil && o.IfRevision > 0 && cur.Revision != o.IfRevision:
			return Write{}, conflict(cur, o.IfRevision)
		}
		k, err := m.writeKey(ctx, ws, cur)
		if err != nil {
			return Write{}, err
		}
		now, actor := m.now(), ActorFrom(ctx)
		var ne Entry
		var reseal []Version
		if cur == nil {
			ne = Entry{Workspace: ws, SecretID: newSecretID(), Name: name, Created: now, CreatedBy: actor}
		} else {
			ne = *cur
		}
		ne.Revision++
		ne.Updated, ne.UpdatedBy = now, actor
		v := Version{Workspace: ws, SecretID: ne.SecretID, Version: ne.Current.Version + 1, Name: name,
			WriteOnly: ne.Current.WriteOnly, File: ne.Current.File, Written: now, WrittenBy: actor}
		if o.Info != nil {
			if cur != nil && cur.Current.WriteOnly && !o.Info.WriteOnly {
				return Write{}, errorf(ErrWriteOnly, "%s is write-only, which cannot be undone", cur.Name)
			}
			setInfo(&ne, *o.Info)
			if cur != nil && (v.WriteOnly != o.Info.WriteOnly || v.File != o.Info.File) {
				v.WriteOnly, v.File = o.Info.WriteOnly, o.Info.File
				if reseal, err = m.reseal(ctx, cur, k, func(r *Version) { r.WriteOnly, r.File = v.WriteOnly, v.File }); err != nil {
					return Write{}, err
				}
			}
			v.WriteOnly, v.File = o.Info.WriteOnly, o.Info.File
		}
		v.EnvSize, v.Fingerprint = envSize(name, len(value)), m.Fingerprint(value)
		if err := k.seal(&v, value); err != nil {
			return Write{}, err
		}
		ne.Current = v
		return m.newWrite(e, ne, cur, true, reseal, k), nil
	})
	if err != nil {
		return Meta{}, m.failed(ctx, e, err)
	}
	meta := m.done(ctx, w)
	meta.Warnings = m.nameWarnings(meta.Name)
	return meta, nil
}

// SetInfo replaces a secret's Info, keeping its value and its versions:
// a new revision, not a new version. Making a secret write-only, or
// changing whether it is delivered as a file, re-encrypts its retained
// versions (the flags are bound into them); a write-only secret cannot be
// made readable (ErrWriteOnly). ifRevision, if positive, is the revision
// the editor saw (*ConflictError otherwise). A soft-deleted secret is
// ErrNotFound.
func (m *Manager) SetInfo(ctx context.Context, ws, name string, info Info, ifRevision int64) (Meta, error) {
	if err := validWorkspace(ws); err != nil {
		return Meta{}, err
	}
	info = normalInfo(info)
	e := m.event(ctx, ActionSet, ws)
	w, err := m.edit(ctx, e, ws, name, nil, false, func(cur *Entry) (Write, error) {
		if err := validInfo(info); err != nil {
			return Write{}, err
		}
		if err := m.need(cur, name, ifRevision, true); err != nil {
			return Write{}, err
		}
		if cur.Current.WriteOnly && !info.WriteOnly {
			return Write{}, errorf(ErrWriteOnly, "%s is write-only, which cannot be undone", cur.Name)
		}
		ne := m.next(ctx, *cur)
		setInfo(&ne, info)
		var k *dataKey
		var reseal []Version
		if cur.Current.WriteOnly != info.WriteOnly || cur.Current.File != info.File {
			var err error
			if k, err = m.writeKey(ctx, ws, cur); err != nil {
				return Write{}, err
			}
			if reseal, err = m.reseal(ctx, cur, k, func(r *Version) { r.WriteOnly, r.File = info.WriteOnly, info.File }); err != nil {
				return Write{}, err
			}
			ne.Current = reseal[len(reseal)-1]
		}
		return m.newWrite(e, ne, cur, false, reseal, k), nil
	})
	if err != nil {
		return Meta{}, m.failed(ctx, e, err)
	}
	return m.done(ctx, w), nil
}

// Rename gives a secret a new name, keeping its value, versions and Info
// (its retained versions are re-encrypted: the name is bound into them);
// the caller never sees the value. Renaming to another spelling of the
// same name is allowed. It refuses an invalid or reserved new name as Set
// does, a name another secret has (*ExistsError), a missing or deleted
// secret (ErrNotFound) and a stale ifRevision (*ConflictError). The
// authorizer is asked with both names. The returned Meta carries the new
// name's Warnings, as Set's does.
func (m *Manager) Rename(ctx context.Context, ws, from, to string, ifRevision int64) (Meta, error) {
	if err := validWorkspace(ws); err != nil {
		return Meta{}, err
	}
	e := m.event(ctx, ActionRename, ws)
	w, err := m.edit(ctx, e, ws, from, []string{to}, false, func(cur *Entry) (Write, error) {
		if err := m.validName(to); err != nil {
			return Write{}, err
		}
		if err := m.need(cur, from, ifRevision, true); err != nil {
			return Write{}, err
		}
		if cur.Name == to {
			return Write{Entry: *cur, Expect: cur.Revision, Check: true}, nil
		}
		switch taken, err := m.store.Lookup(ctx, ws, to); {
		case err == nil && taken.SecretID != cur.SecretID:
			return Write{}, &ExistsError{Name: taken.Name, Deleted: !taken.Deleted.IsZero()}
		case err != nil && !errors.Is(err, ErrNotFound):
			return Write{}, err
		}
		valueLen := int(cur.Current.EnvSize - int64(len(cur.Name)) - 2)
		if n := envSize(to, valueLen); n > MaxEnvString {
			return Write{}, errorf(ErrTooLarge, "%s=value would take %d bytes, over the %d a process environment string may hold", to, n, MaxEnvString)
		}
		k, err := m.writeKey(ctx, ws, cur)
		if err != nil {
			return Write{}, err
		}
		reseal, err := m.reseal(ctx, cur, k, func(r *Version) {
			r.EnvSize += int64(len(to) - len(r.Name))
			r.Name = to
		})
		if err != nil {
			return Write{}, err
		}
		ne := m.next(ctx, *cur)
		ne.Name, ne.Current = to, reseal[len(reseal)-1]
		w := m.newWrite(e, ne, cur, false, reseal, k)
		w.Audit.Secrets = append([]EventSecret{{Name: cur.Name, Version: cur.Current.Version}}, w.Audit.Secrets...)
		return w, nil
	})
	if err != nil {
		return Meta{}, m.failed(ctx, e, err)
	}
	meta := m.done(ctx, w)
	meta.Warnings = m.nameWarnings(meta.Name)
	return meta, nil
}

// Rollback makes the value of a retained version the secret's new current
// value: a new version (history is kept), under the secret's current name
// and Info. Rolling back to the current version changes nothing. It
// returns ErrNoVersion if the version is not retained, ErrNotFound for a
// missing or deleted secret, and *ConflictError for a stale ifRevision.
func (m *Manager) Rollback(ctx context.Context, ws, name string, version, ifRevision int64) (Meta, error) {
	if err := validWorkspace(ws); err != nil {
		return Meta{}, err
	}
	e := m.event(ctx, ActionSet, ws)
	w, err := m.edit(ctx, e, ws, name, nil, false, func(cur *Entry) (Write, error) {
		if err := m.need(cur, name, ifRevision, true); err != nil {
			return Write{}, err
		}
		if version == cur.Current.Version {
			return Write{Entry: *cur, Expect: cur.Revision, Check: true}, nil
		}
		hist, err := m.store.History(ctx, ws, cur.SecretID)
		if err != nil {
			return Write{}, err
		}
		i := slices.IndexFunc(hist, func(v Version) bool { return v.Version == version })
		if i < 0 {
			return Write{}, errorf(ErrNoVersion, "%s has no version %d: versions %s are retained", cur.Name, version, versionList(hist))
		}
		k, err := m.writeKey(ctx, ws, cur)
		if err != nil {
			return Write{}, err
		}
		if hist[i].KeyGen != k.gen {
			m.keys.Remove(ws)
			return Write{}, errStale
		}
		value, err := k.open(&hist[i])
		if err != nil {
			return Write{}, &DecryptError{Workspace: ws, Names: []string{cur.Name}}
		}
		defer clear(value)
		ne := m.next(ctx, *cur)
		v := Version{Workspace: ws, SecretID: cur.SecretID, Version: cur.Current.Version + 1, Name: cur.Name,
			WriteOnly: cur.Current.WriteOnly, File: cur.Current.File, EnvSize: envSize(cur.Name, len(value)),
			Fingerprint: m.Fingerprint(value), Written: ne.Updated, WrittenBy: ne.UpdatedBy}
		if err := k.seal(&v, value); err != nil {
			return Write{}, err
		}
		ne.Current = v
		w := m.newWrite(e, ne, cur, true, nil, k)
		w.Audit.Detail = "rolled back to version " + itoa(version)
		return w, nil
	})
	if err != nil {
		return Meta{}, m.failed(ctx, e, err)
	}
	return m.done(ctx, w), nil
}

// Delete soft-deletes a secret: it is no longer listed (but by List with
// Deleted), injected or revealed, it keeps its name, versions and Info,
// and Undelete restores it. Purge destroys it after Config.DeleteRetention.
// It returns ErrNotFound if there is no live secret of that name, and
// *ConflictError for a stale ifRevision.
func (m *Manager) Delete(ctx context.Context, ws, name string, ifRevision int64) (Meta, error) {
	return m.setDeleted(ctx, ActionDelete, ws, name, ifRevision, true)
}

// Undelete restores a soft-deleted secret. It returns ErrNotFound if there
// is no secret of that name, *ConflictError if it is not deleted or
// ifRevision is stale, and ErrTooLarge if it no longer fits the
// workspace's environment budget.
func (m *Manager) Undelete(ctx context.Context, ws, name string, ifRevision int64) (Meta, error) {
	return m.setDeleted(ctx, ActionSet, ws, name, ifRevision, false)
}

func (m *Manager) setDeleted(ctx context.Context, action Action, ws, name string, ifRevision int64, deleted bool) (Meta, error) {
	if err := validWorkspace(ws); err != nil {
		return Meta{}, err
	}
	e := m.event(ctx, action, ws)
	w, err := m.edit(ctx, e, ws, name, nil, false, func(cur *Entry) (Write, error) {
		if err := m.need(cur, name, ifRevision, deleted); err != nil {
			return Write{}, err
		}
		if !deleted && cur.Deleted.IsZero() {
			return Write{}, &ConflictError{Name: cur.Name, Seen: cur.Revision, Revision: cur.Revision, Version: cur.Current.Version}
		}
		ne := m.next(ctx, *cur)
		ne.Deleted, ne.DeletedBy = time.Time{}, ""
		if deleted {
			ne.Deleted, ne.DeletedBy = ne.Updated, ne.UpdatedBy
		}
		w := m.newWrite(e, ne, cur, false, nil, nil)
		w.Audit.Detail = map[bool]string{true: "deleted", false: "restored"}[deleted]
		return w, nil
	})
	if err != nil {
		return Meta{}, m.failed(ctx, e, err)
	}
	return m.done(ctx, w), nil
}

// Destroy removes a secret, live or soft-deleted, and all its versions at
// once; its name is free again. The audit trail and the ledger keep its
// name, versions and fingerprints, never its values. It returns
// ErrNotFound if there is no secret of that name and *ConflictError for a
// stale ifRevision.
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
func (m *Manager) Destroy(ctx context.Context, ws, name string, ifRevision int64) error {
	if err := validWorkspace(ws); err != nil {
		return err
	}
	e := m.event(ctx, ActionDestroy, ws)
	w, err := m.edit(ctx, e, ws, name, nil, false, func(cur *Entry) (Write, error) {
		if err := m.need(cur, name, ifRevision, false); err != nil {
			return Write{}, err
		}
		ne := m.next(ctx, *cur)
		w := m.newWrite(e, ne, cur, false, nil, nil)
		w.Destroy = true
		return w, nil
	})
	if err != nil {
		return m.failed(ctx, e, err)
	}
	m.hints.Remove(hintKey(ws, name))
	m.published(ctx, *w.Audit)
	if m.cfg.DestroyRotates {
		return m.forgetKeys(ctx, ws, w.Entry.Name)
	}
	return nil
}

// edit runs one write of the secret called name: it reads the secret (cur
// is nil if there is none), asks the authorizer with the name as stored
// (and extra names), lets build validate and make the write, and stores
// it. When the Store finds a condition broken (another writer got there
// first) or the workspace key changed, edit reads again and asks build
// again: build decides, from the new state, whether that is a conflict
// for its caller.
func (m *Manager) edit(ctx context.Context, e *Event, ws, name string, extra []string, useHint bool, build func(cur *Entry) (Write, error)) (Write, error) {
	authorized := ""
	var last error
	for attempt := 0; attempt <= maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return Write{}, err
		}
		hinted := useHint && attempt == 0
		cur, err := m.current(ctx, ws, name, hinted)
		if err != nil {
			return Write{}, err
		}
		canon := name
		if cur != nil {
			canon = cur.Name
		}
		if canon != authorized {
			if err := m.authorize(ctx, e, validNames(append([]string{canon}, extra...))...); err != nil {
				return Write{}, err
			}
			authorized = canon
		}
		w, err := build(cur)
		if errors.Is(err, errStale) {
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
		if err = m.store.Put(ctx, w); err == nil {
			return w, nil
		}
		last = err
		m.hints.Remove(hintKey(ws, name))
		switch {
		case errors.Is(err, ErrKeyChanged):
			m.keys.Remove(ws)
		case errors.Is(err, ErrTooLarge):
			return Write{}, errorf(ErrTooLarge, "%s: the workspace environment would exceed %d bytes", canon, m.cfg.MaxEnvBytes)
		case !lostRace(err):
			return Write{}, err
		}
	}
	return Write{}, wrapf(last, "%s keeps changing under this write; gave up after %d attempts", name, maxAttempts)
}

// current returns the secret called name, or nil if there is none. With
// useHint, a remembered entry may stand in for the Store's.
func (m *Manager) current(ctx context.Context, ws, name string, useHint bool) (*Entry, error) {
	if validSyntax(name, m.cfg.MaxNameLength) != nil {
		return nil, nil // refused by build's validation, after authorization
	}
	if useHint {
		if h, ok := m.hints.Get(hintKey(ws, name)); ok {
			return &h, nil
		}
	}
	cur, err := m.store.Lookup(ctx, ws, name)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &cur, nil
}

// need checks that the secret exists (live, if live), at ifRevision when
// that is positive.
func (m *Manager) need(cur *Entry, name string, ifRevision int64, live bool) error {
	switch {
	case cur == nil && ifRevision > 0:
		return &ConflictError{Name: name, Seen: ifRevision}
	case cur == nil:
		return errorf(ErrNotFound, "%s does not exist", name)
	case ifRevision > 0 && cur.Revision != ifRevision:
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

// newWrite returns the Write that turns cur (nil: nothing) into ne, with
// its event.
func (m *Manager) newWrite(e *Event, ne Entry, cur *Entry, newVersion bool, reseal []Version, k *dataKey) Write {
	w := Write{Entry: ne, NewVersion: newVersion, Reseal: reseal, Keep: m.cfg.KeepVersions, MaxEnvBytes: max(m.cfg.MaxEnvBytes, 0)}
	if cur != nil {
		w.Expect = cur.Revision
	}
	if k != nil {
		w.KeyGen = k.gen
	}
	ev := *e
	ev.Time = ne.Updated
	ev.Secrets = []EventSecret{{Name: ne.Name, Version: ne.Current.Version, Fingerprint: ne.Current.Fingerprint}}
	w.Audit = &ev
	return w
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

// hintKey is the key of a secret's hint: names are unique ignoring case.
func hintKey(ws, name string) string { return ws + "\x00" + strings.ToLower(name) }

// lostRace reports whether a write failed because another writer changed
// the secret (or took its name) first.
func lostRace(err error) bool {
	return errors.Is(err, ErrConflict) || errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound)
}

// normalInfo returns info with its times in the Store's precision.
func normalInfo(info Info) Info {
	for _, t := range []*time.Time{&info.Expires, &info.RotateBy} {
		if !t.IsZero() {
			*t = t.UTC().Truncate(time.Microsecond)
		}
	}
	return info
}

// setInfo copies info's metadata (not its flags, which are the versions')
// into e.
func setInfo(e *Entry, info Info) {
	e.Description, e.Expires, e.RotateBy = info.Description, info.Expires, info.RotateBy
}

func versionList(hist []Version) string {
	s := make([]string, len(hist))
	for i, v := range hist {
		s[len(hist)-1-i] = itoa(v.Version)
	}
	return strings.Join(s, ", ")
}
