package secrets

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"
)

// maxAttempts bounds the retries of a read or write that keeps meeting a
// replaced key, and is the least number of attempts of a write that loses
// races (see retryRace).
const maxAttempts = 32

// raceBudget is how long, past maxAttempts attempts, a write goes on
// retrying while other writers of its secret (or workspace) keep winning:
// a write without conditions (a script) under steady contention lost 32
// races in a row about once in 120 calls (a trial: six writers of one
// name). A write whose conflict no other writer makes (each attempt reads
// the same secret, or workspace, as the last) gives up after
// maxAttempts.
const raceBudget = 10 * time.Second

// retryRace reports whether a write that began at began, has made
// attempt attempts and lost a race tries again: within maxAttempts, or,
// past them, within the Manager's raceBudget if another writer won since
// the last attempt (won).
func (m *Manager) retryRace(attempt int, began time.Time, won bool) bool {
	return attempt < maxAttempts || won && time.Since(began) < m.raceBudget
}

// errStale says that rows were read under a workspace key that has been
// replaced since: read them again.
var errStale = errors.New("secrets: read under a replaced key")

// errTwice is the cause of the DecryptError of a read that found two
// rows of one name.
var errTwice = errors.New("two secrets hold the name")

// unmatched is the cause of the DecryptError of a retained version that
// is not sealed under the secret ID and name of the row read with it: a
// rename or re-seal by another writer since the row was read, so it
// matches errStale (read again), or rows changed with SQL, which the
// attempts' limit then reports as the DecryptError. A version is opened
// under its own fields, so those are the ones it was sealed with; one
// that does not answer for the row must not be sealed anew under the
// row's (an attacker trial: with a row's name or secret ID changed with
// SQL, RestoreAt and Rename sealed a production-scoped value, another
// secret's and a refused name's anew, valid for every job).
type unmatched struct{}

func (unmatched) Error() string {
	return "a retained version is sealed under another name or secret ID than its row's"
}

func (unmatched) Is(target error) bool { return target == errStale }

// unsettled is the error of a write whose reads of name never settled
// (errStale past maxAttempts): as a read reports it, a DecryptError, since
// rows edited outside the library keep them from settling. One that is a
// DecryptError already is returned as it is.
func unsettled(ws, name string, err error) error {
	var de *DecryptError
	if errors.As(err, &de) {
		return de
	}
	return &DecryptError{Workspace: ws, Names: []string{name}, Cause: err}
}

// answers returns nil if v, a version of cur's history that opened, is
// sealed under cur's workspace, secret ID and name, and otherwise the
// DecryptError whose cause is unmatched.
func answers(cur *Entry, v *Version) error {
	if v.Workspace == cur.Workspace && v.SecretID == cur.SecretID && v.Name == cur.Name {
		return nil
	}
	return &DecryptError{Workspace: cur.Workspace, Names: []string{cur.Name}, Cause: unmatched{}}
}

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

// WriteOptions are the conditions of a write to an existing secret:
// [Manager.SetInfo], [Manager.Rename], [Manager.Rollback],
// [Manager.Delete], [Manager.Undelete] and [Manager.Destroy]. A nil
// *WriteOptions (or a zero IfRevision) writes unconditionally.
// [SetOptions] has the same fields and more: a field added here is added
// there too.
type WriteOptions struct {
	// IfRevision, if not zero, is the revision the editor saw: the write
	// applies only if the secret is still at it (*ConflictError
	// otherwise, also if the secret is gone). No secret is ever at a
	// negative revision: one is always refused so, audited, nothing
	// written. A revision counts the changes of one secret: a secret
	// destroyed (Destroy, Purge, DeleteWorkspace) and made again under
	// its name starts again at 1, and a revision seen of the first passes
	// for the second's (Meta.Created tells them apart).
	IfRevision int64
}

// ifRevision returns o.IfRevision, 0 for a nil o.
func (o *WriteOptions) ifRevision() int64 {
	if o == nil {
		return 0
	}
	return o.IfRevision
}

// SetOptions are the conditions and metadata of a [Manager.Set]: the
// fields of [WriteOptions] (kept flat, not embedded, so that a literal
// names them directly), and IfAbsent and Info. A nil *SetOptions writes
// unconditionally and keeps the secret's Info.
type SetOptions struct {
	// IfRevision, if not zero, is the revision the editor saw: the write
	// applies only if the secret is still at it (*ConflictError
	// otherwise, also if the secret is gone). No secret is ever at a
	// negative revision: one is always refused so, audited, nothing
	// written. A revision counts the changes of one secret: a secret
	// destroyed (Destroy, Purge, DeleteWorkspace) and made again under
	// its name starts again at 1, and a revision seen of the first passes
	// for the second's (Meta.Created tells them apart).
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
// Info that would make a write-only secret readable (ErrWriteOnly); a
// value of a secret that opts in to expansion (Info.Expand) whose ${NAME}
// references form a cycle with those of the workspace's and its parents'
// secrets, in any scope (a *ReferenceError matching ErrReference: the
// check holds across replicas, as such a value is written only if its
// workspace has not changed since it was checked, and checked again
// otherwise, so that in a workspace written without pause it can give up
// with ErrConflict); and the conditions of opts (ErrConflict, ErrExists). References to names no
// secret defines yet are saved, and listed in the returned Meta's
// Undefined. A name that matches one
// of [NamePatterns] is saved, and the returned Meta's Warnings say so
// (with Config.StrictNames it is refused with ErrReservedName); see
// [Manager.CheckName].
func (m *Manager) Set(ctx context.Context, ws, name string, value []byte, opts *SetOptions) (Meta, error) {
	var o SetOptions
	if opts != nil {
		o = *opts
	}
	if o.Info != nil {
		info := normalInfo(*o.Info)
		o.Info = &info
	}
	useHint := !o.IfAbsent && o.Info == nil
	var undefined []string
	w, err := m.write(ctx, writeOp{action: ActionSet, ws: ws, name: name, useHint: useHint, build: func(e *Event, cur *Entry, remembered bool) (Write, error) {
		undefined = nil // of this attempt only: a retry may not check at all
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
		if cur == nil {
			if err := validShown(name); err != nil {
				return Write{}, err
			}
		}
		switch {
		case cur == nil && o.IfRevision != 0:
			return Write{}, &ConflictError{Name: name, Seen: o.IfRevision}
		case cur != nil && (cur.Name != name || !cur.Deleted.IsZero() || o.IfAbsent):
			return Write{}, &ExistsError{Name: cur.Name, Deleted: !cur.Deleted.IsZero()}
		case cur != nil && o.IfRevision != 0 && cur.Revision != o.IfRevision:
			return Write{}, conflict(cur, o.IfRevision)
		}
		if cur != nil && !remembered {
			if err := m.authentic(ctx, cur); err != nil { // its flags are kept, or decide
				return Write{}, err
			}
		}
		// The reference check reads every level: after the cheap checks.
		var hold *int64
		if o.Info != nil && o.Info.Expand || o.Info == nil && cur != nil && cur.Current.Expand {
			var err error
			if undefined, hold, err = m.checkRefs(ctx, ws, name, value, false); err != nil {
				return Write{}, err
			}
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
			WriteOnly: ne.Current.WriteOnly, File: ne.Current.File, Protected: ne.Current.Protected, Expand: ne.Current.Expand, Written: now, WrittenBy: actor}
		if o.Info != nil {
			if cur != nil && cur.Current.WriteOnly && !o.Info.WriteOnly {
				return Write{}, errorf(ErrWriteOnly, "%s is write-only, which cannot be undone", cur.Name)
			}
			setInfo(&ne, *o.Info)
			if err := m.mayUnprotect(ctx, cur, *o.Info); err != nil {
				return Write{}, err
			}
			if cur != nil && flagsDiffer(v, *o.Info) {
				info := *o.Info
				if reseal, err = m.reseal(ctx, cur, k, reflag(info, 0)); err != nil {
					return Write{}, err
				}
			}
			setFlags(&v, *o.Info)
		}
		v.EnvSize, v.Fingerprint = envSize(name, len(value)), m.Fingerprint(value)
		if err := k.seal(&v, value); err != nil {
			return Write{}, err
		}
		ne.Current = v
		w := m.newWrite(e, ne, cur, change{newVersion: true, reseal: reseal, key: k})
		// The check holds only for the values it read: another write of
		// the workspace since (a concurrent Set closing a cycle) makes
		// this one read and check again.
		holdState(&w, hold)
		return w, nil
	}})
	if err != nil {
		return Meta{}, err
	}
	meta := m.done(ctx, w)
	meta.Warnings = m.nameWarnings(meta.Name)
	meta.Undefined = undefined
	meta.ShortValue = len(value) > 0 && len(value) < DefaultMinMaskLength
	return meta, nil
}

// SetInfo replaces a secret's Info, keeping its value and its versions:
// a new revision, not a new version. Making a secret write-only, or
// changing whether it is delivered as a file, re-encrypts its retained
// versions (the flags are bound into them); a write-only secret cannot be
// made readable (ErrWriteOnly). Turning on Info.Expand, or keeping it on,
// checks the stored value's references as Set does (ErrReference for a
// cycle, Meta.Undefined for names no secret defines). opts.IfRevision, if
// not zero, is the revision the editor saw (*ConflictError otherwise); nil
// opts writes unconditionally. A soft-deleted secret is ErrNotFound.
func (m *Manager) SetInfo(ctx context.Context, ws, name string, info Info, opts *WriteOptions) (Meta, error) {
	ifRevision := opts.ifRevision()
	info = normalInfo(info)
	var undefined []string
	w, err := m.write(ctx, writeOp{action: ActionSet, ws: ws, name: name, build: func(e *Event, cur *Entry, _ bool) (Write, error) {
		undefined = nil // of this attempt only: a retry may not check at all
		if err := validInfo(info); err != nil {
			return Write{}, err
		}
		if err := m.need(cur, name, ifRevision, mustBeLive); err != nil {
			return Write{}, err
		}
		if cur.Current.WriteOnly && !info.WriteOnly {
			return Write{}, errorf(ErrWriteOnly, "%s is write-only, which cannot be undone", cur.Name)
		}
		if err := m.mayUnprotect(ctx, cur, info); err != nil {
			return Write{}, err
		}
		var hold *int64
		if info.Expand {
			var err error
			if undefined, hold, err = m.checkRefs(ctx, ws, cur.Name, nil, true); err != nil {
				return Write{}, err
			}
		}
		ne := m.next(ctx, *cur)
		setInfo(&ne, info)
		var k *dataKey
		var reseal []Version
		if flagsDiffer(cur.Current, info) {
			// The versions are sealed again with info's flags (but an
			// older version sealed protected stays so: see reflag): the
			// row's, which decided whether unprotecting is asked, must be
			// the current version's. A change of Info alone seals
			// nothing, and needs no key.
			if err := m.authentic(ctx, cur); err != nil {
				return Write{}, err
			}
			var err error
			if k, err = m.writeKey(ctx, ws, cur); err != nil {
				return Write{}, err
			}
			if reseal, err = m.reseal(ctx, cur, k, reflag(info, cur.Current.Version)); err != nil {
				return Write{}, err
			}
			ne.Current = reseal[len(reseal)-1]
		}
		w := m.newWrite(e, ne, cur, change{reseal: reseal, key: k})
		holdState(&w, hold) // as Set's
		return w, nil
	}})
	if err != nil {
		return Meta{}, err
	}
	meta := m.done(ctx, w)
	meta.Undefined = undefined
	return meta, nil
}

// Rename gives a secret a new name, keeping its value, versions and Info
// (its retained versions are re-encrypted: the name is bound into them);
// the caller never sees the value. Renaming to another spelling of the
// same name is allowed. It refuses an invalid or reserved new name as Set
// does, a name another secret has (*ExistsError), a missing or deleted
// secret (ErrNotFound) and a stale opts.IfRevision (*ConflictError); nil
// opts renames unconditionally; a secret whose retained versions are not
// sealed under its row's secret ID and name (rows changed with SQL) is a
// *DecryptError, nothing written. The authorizer is asked with both names.
// The returned Meta carries the new name's Warnings, as Set's does.
func (m *Manager) Rename(ctx context.Context, ws, from, to string, opts *WriteOptions) (Meta, error) {
	ifRevision := opts.ifRevision()
	w, err := m.write(ctx, writeOp{action: ActionRename, ws: ws, name: from, extra: []string{to}, build: func(e *Event, cur *Entry, _ bool) (Write, error) {
		if err := m.validName(to); err != nil {
			return Write{}, err
		}
		if !strings.EqualFold(to, from) {
			if err := validShown(to); err != nil {
				return Write{}, err
			}
		}
		if err := m.need(cur, from, ifRevision, mustBeLive); err != nil {
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
		valueLen := int(cur.Current.EnvSize - int64(len(variableOf(cur.Name))) - 2)
		if n := envSize(to, valueLen); n > MaxEnvString {
			return Write{}, errorf(ErrTooLarge, "%s=value would take %d bytes, over the %d a process environment string may hold", to, n, MaxEnvString)
		}
		k, err := m.writeKey(ctx, ws, cur)
		if err != nil {
			return Write{}, err
		}
		reseal, err := m.reseal(ctx, cur, k, func(r *Version) {
			r.EnvSize += int64(len(variableOf(to)) - len(variableOf(r.Name)))
			r.Name = to
		})
		if err != nil {
			return Write{}, err
		}
		ne := m.next(ctx, *cur)
		ne.Name, ne.Current = to, reseal[len(reseal)-1]
		w := m.newWrite(e, ne, cur, change{reseal: reseal, key: k})
		w.Audit.Secrets = append([]EventSecret{{Name: cur.Name, Version: cur.Current.Version}}, w.Audit.Secrets...)
		return w, nil
	}})
	if err != nil {
		return Meta{}, err
	}
	meta := m.done(ctx, w)
	meta.Warnings = m.nameWarnings(meta.Name)
	return meta, nil
}

// Rollback makes the value of a retained version the secret's new current
// value: a new version (history is kept), under the secret's current name
// and Info, except that a value sealed protected comes back protected,
// whoever asks: unprotecting a secret (ActionUnprotect) unprotects its
// current value only, and a version written while protected stays
// protected (see Info.Protected). Rolling back to the current version changes nothing. It
// returns ErrNoVersion if the version is not retained, ErrNotFound for a
// missing or deleted secret, and *ConflictError for a stale
// opts.IfRevision; nil opts rolls back unconditionally. The version is the
// one positional number: the revision condition is in opts, so the two
// cannot be swapped by mistake. The value of a secret that opts in to
// expansion is checked as Set checks it: *ReferenceError for a cycle it
// would close now, Meta.Undefined for names no secret defines.
func (m *Manager) Rollback(ctx context.Context, ws, name string, version int64, opts *WriteOptions) (Meta, error) {
	ifRevision := opts.ifRevision()
	var undefined []string
	w, err := m.write(ctx, writeOp{action: ActionSet, ws: ws, name: name, build: func(e *Event, cur *Entry, _ bool) (Write, error) {
		undefined = nil // of this attempt only: a retry may not check at all
		if err := m.need(cur, name, ifRevision, mustBeLive); err != nil {
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
		if err := m.authentic(ctx, cur); err != nil { // the new version keeps its flags
			return Write{}, err
		}
		k, err := m.writeKey(ctx, ws, cur)
		if err != nil {
			return Write{}, err
		}
		if hist[i].KeyGen != k.gen {
			m.keys.Remove(ws)
			return Write{}, errStale
		}
		if hist[0].Version != cur.Current.Version || hist[0].KeyGen != k.gen {
			return Write{}, errStale // written since the lookup: read again
		}
		ne := m.next(ctx, *cur)
		v, err := m.versionOf(k, cur, hist, i, ne.Updated, ne.UpdatedBy)
		if err != nil {
			return Write{}, err
		}
		var hold *int64
		if v.Expand {
			p, err := k.open(&v)
			if err != nil {
				return Write{}, err
			}
			undefined, hold, err = m.checkRefs(ctx, ws, cur.Name, p, false)
			clear(p)
			if err != nil {
				return Write{}, wrapf(err, "roll back to version %d", version)
			}
		}
		ne.Current = v
		w := m.newWrite(e, ne, cur, change{newVersion: true, key: k})
		w.Audit.Detail = joinDetail("rolled back to version "+itoa(version), w.Audit.Detail)
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

// versionOf makes the version after cur's current one, hist[0], with the
// value of the retained version hist[i] (Rollback, RestoreAt), under key
// k. Both must be sealed under cur's secret ID and name (see answers). It
// keeps the current version's flags, those its ciphertext
// authenticates (another replica's SetInfo may have sealed every version
// again since cur was read; a row re-flagged with SQL is refused), and
// makes it protected if the value was sealed protected (its ciphertext
// authenticates that too): unprotecting a secret unprotected its value
// then, not this one (see reflag). Write-only is never undone.
func (m *Manager) versionOf(k *dataKey, cur *Entry, hist []Version, i int, written time.Time, by string) (Version, error) {
	tampered := &DecryptError{Workspace: cur.Workspace, Names: []string{cur.Name}}
	now0 := hist[0]
	p, err := k.open(&now0)
	if err != nil {
		return Version{}, tampered
	}
	clear(p)
	if err := answers(cur, &now0); err != nil {
		return Version{}, err
	}
	if now0.Version != cur.Current.Version {
		return Version{}, errStale // written since cur was read
	}
	if hist[i].WriteOnly && !now0.WriteOnly {
		return Version{}, tampered
	}
	value, err := k.open(&hist[i])
	if err != nil {
		return Version{}, tampered
	}
	defer clear(value)
	if err := answers(cur, &hist[i]); err != nil {
		return Version{}, err
	}
	v := Version{Workspace: cur.Workspace, SecretID: cur.SecretID, Version: cur.Current.Version + 1, Name: cur.Name,
		WriteOnly: now0.WriteOnly, File: now0.File, Protected: restoredProtected(now0, hist[i]), Expand: now0.Expand,
		EnvSize: envSize(cur.Name, len(value)), Fingerprint: m.Fingerprint(value), Written: written, WrittenBy: by}
	if err := k.seal(&v, value); err != nil {
		return Version{}, err
	}
	return v, nil
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

// mayUnprotect asks Config.Authorize for ActionUnprotect if info would
// make the protected secret cur unprotected.
func (m *Manager) mayUnprotect(ctx context.Context, cur *Entry, info Info) error {
	if cur == nil || !cur.Current.Protected || info.Protected {
		return nil
	}
	if err := m.authorize(ctx, m.event(ctx, ActionUnprotect, cur.Workspace), cur.Name); err != nil {
		return err // recorded by authorize
	}
	return nil
}

// flagsDiffer reports whether info changes the flags bound into v.
func flagsDiffer(v Version, info Info) bool {
	return v.WriteOnly != info.WriteOnly || v.File != info.File || v.Protected != info.Protected || v.Expand != info.Expand
}

// setFlags sets the flags of v that are bound into its ciphertext from
// info.
func setFlags(v *Version, info Info) {
	v.WriteOnly, v.File, v.Protected, v.Expand = info.WriteOnly, info.File, info.Protected, info.Expand
}

// reflag returns the change that a write giving a secret info's flags
// makes to its retained versions as it seals them again: each takes
// info's flags, except that a version sealed protected stays protected
// unless it is the current one (version current; 0 when the write adds a
// new version, so that every retained one becomes older). Unprotecting a
// secret unprotects its current value only (the write asks
// ActionUnprotect for it): a value written while protected comes back
// protected by a Rollback or a RestoreAt, whoever asks. Write-only, file and expand apply to every version.
func reflag(info Info, current int64) func(*Version) {
	return func(r *Version) {
		was := r.Protected
		setFlags(r, info)
		if r.Version != current {
			r.Protected = r.Protected || was
		}
	}
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
