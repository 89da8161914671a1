package secrets

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"
)

// maxAttempts bounds the retries of unconditional writes that lose a race.
const maxAttempts = 32

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

// Set stores value as the new current version of the secret name of
// workspace ws, creating the secret if needed; its Info is kept. If
// another writer changes the secret at the same time, Set retries on top
// of their version, so both versions are kept in the history and the last
// to commit is current. A name that differs only in case from an existing
// secret's updates that secret and renames it to the new spelling.
//
// Set refuses, changing nothing: an invalid workspace (ErrInvalidWorkspace);
// a name that breaks the environment-variable rule (ErrInvalidName) or is
// denied or reserved (ErrReservedName); a value with a NUL byte
// (ErrInvalidValue); a "NAME=value" over MaxEnvString, or a workspace
// environment over Config.MaxEnvBytes (ErrTooLarge); a refusal of
// Config.Authorize (ErrForbidden).
func (m *Manager) Set(ctx context.Context, ws, name string, value []byte) (Meta, error) {
	return m.set(ctx, ws, name, value, -1, nil)
}

// SetIf is Set with check-and-set: it writes only if the secret's current
// version is still seen, the one the editor saw. seen 0 means "create only
// if absent". Otherwise it returns an error matching ErrConflict (and
// ErrExists if the name is taken) and changes nothing. Of several editors
// racing with the same seen version, exactly one succeeds.
func (m *Manager) SetIf(ctx context.Context, ws, name string, value []byte, seen int64) (Meta, error) {
	if seen < 0 {
		return Meta{}, fmt.Errorf("secrets: SetIf: negative version: %w", ErrConflict)
	}
	return m.set(ctx, ws, name, value, seen, nil)
}

// SetWithInfo is Set that also replaces the secret's Info, in the same
// version: the way to create a secret that is write-only from its first
// version.
func (m *Manager) SetWithInfo(ctx context.Context, ws, name string, value []byte, info Info) (Meta, error) {
	return m.set(ctx, ws, name, value, -1, &info)
}

// SetInfo replaces a secret's Info, keeping its value, as a new version.
// It returns ErrNotFound if there is no such secret, and ErrWriteOnly if
// info would make a write-only secret readable.
func (m *Manager) SetInfo(ctx context.Context, ws, name string, info Info) (Meta, error) {
	return m.set(ctx, ws, name, nil, -1, &info)
}

// set writes a new version of name: value (nil: the current value) and
// info (nil: the current Info); seen < 0 means unconditional.
func (m *Manager) set(ctx context.Context, ws, name string, value []byte, seen int64, info *Info) (Meta, error) {
	if err := validWorkspace(ws); err != nil {
		return Meta{}, err
	}
	e := m.event(ctx, ActionSet, ws)
	if err := validSyntax(name, m.cfg.MaxNameLength); err != nil {
		return Meta{}, m.failed(ctx, e, err)
	}
	if err := m.authorize(ctx, e, name); err != nil {
		return Meta{}, err
	}
	e.Secrets = []EventSecret{{Name: name}}
	if err := m.validName(name); err != nil {
		return Meta{}, m.failed(ctx, e, err)
	}
	if value != nil {
		if err := validValue(name, value); err != nil {
			return Meta{}, m.failed(ctx, e, err)
		}
	}
	meta, err := m.setLoop(ctx, e, ws, name, value, seen, info)
	return meta, m.failed(ctx, e, err)
}

func (m *Manager) setLoop(ctx context.Context, e *Event, ws, name string, value []byte, seen int64, info *Info) (Meta, error) {
	hintKey := hintKey(ws, name)
	for attempt := 0; ; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return Meta{}, err
		}
		k, err := m.writeKey(ctx, ws)
		if err != nil {
			return Meta{}, err
		}
		// A hint saves the lookup when this replica wrote or read the
		// secret last; SetInfo needs the current ciphertext anyway.
		cur, hinted := m.hints.Get(hintKey)
		if !hinted || value == nil || seen == 0 || (seen > 0 && cur.Version != seen) {
			hinted = false
			cur, err = m.store.Lookup(ctx, ws, name)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return Meta{}, err
			}
		}
		found := hinted || err == nil
		now, actor := m.now(), ActorFrom(ctx)
		v := Version{Workspace: ws, Name: name, Updated: now, UpdatedBy: actor}
		var expect int64
		switch {
		case seen > 0 && !found:
			return Meta{}, fmt.Errorf("secrets: %s was deleted since version %d: %w", name, seen, ErrConflict)
		case seen >= 0 && found && cur.Version != seen:
			if seen == 0 {
				return Meta{}, fmt.Errorf("secrets: %s: %w", cur.Name, errors.Join(ErrExists, ErrConflict))
			}
			return Meta{}, fmt.Errorf("secrets: %s is at version %d, not %d: %w", cur.Name, cur.Version, seen, ErrConflict)
		case found:
			v.SecretID, v.Version, v.Created, v.CreatedBy, v.Info = cur.SecretID, cur.Version+1, cur.Created, cur.CreatedBy, cur.Info
			expect = cur.Version
		case value == nil:
			return Meta{}, fmt.Errorf("secrets: %s: %w", name, ErrNotFound)
		default:
			v.SecretID, v.Version, v.Created, v.CreatedBy = newSecretID(), 1, now, actor
		}
		if info != nil {
			if v.WriteOnly && !info.WriteOnly {
				return Meta{}, fmt.Errorf("secrets: %s is write-only, which cannot be undone: %w", name, ErrWriteOnly)
			}
			v.Info = *info
		}
		val := value
		if val == nil { // SetInfo: the current value, under the same name
			if val, err = m.reveal(ctx, cur); err != nil {
				return Meta{}, err
			}
			v.Name = cur.Name
		}
		err = m.seal(k, &v, val)
		if value == nil {
			clear(val)
		}
		if err != nil {
			return Meta{}, err
		}
		ev := *e
		ev.Secrets = nil
		written(&ev, v)
		err = m.put(ctx, k, v, expect, &ev)
		if err == nil {
			m.hint(v)
			m.published(ctx, ev)
			return metaOf(v), nil
		}
		m.hints.Remove(hintKey)
		if m.keyChanged(ws, err) && attempt < maxAttempts {
			continue
		}
		if hinted && attempt < maxAttempts && lostRace(err) {
			continue // the hint was stale: look up and decide again
		}
		if seen >= 0 || attempt == maxAttempts || !lostRace(err) {
			return Meta{}, err
		}
	}
}

// hintKey is the key of a secret's hint: names are unique ignoring case.
func hintKey(ws, name string) string { return ws + "\x00" + strings.ToLower(name) }

// hint remembers v (without its ciphertext) as its secret's current version.
func (m *Manager) hint(v Version) {
	v.Ciphertext, v.Fingerprint = nil, nil
	m.hints.Add(hintKey(v.Workspace, v.Name), v)
}

// lostRace reports whether a write failed because another writer changed
// the secret (or its name) first.
func lostRace(err error) bool {
	return errors.Is(err, ErrConflict) || errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound)
}

// keyChanged reports whether err says the workspace key moved on, and if
// so drops the cached key so that a retry loads the new one.
func (m *Manager) keyChanged(ws string, err error) bool {
	if errors.Is(err, ErrKeyChanged) {
		m.keys.Remove(ws)
		return true
	}
	return false
}

// write returns the Write that adds v, encrypted under k, with its event.
func (m *Manager) write(k *dataKey, v Version, expect int64, e *Event) Write {
	return Write{Version: v, Expect: expect, Keep: m.cfg.KeepVersions, MaxEnvBytes: max(m.cfg.MaxEnvBytes, 0), KeyRevision: k.revision, Audit: e}
}

// put writes v and gives store errors their Manager form.
func (m *Manager) put(ctx context.Context, k *dataKey, v Version, expect int64, e *Event) error {
	err := m.store.Put(ctx, m.write(k, v, expect, e))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrExists):
		return fmt.Errorf("secrets: another secret is named %s: %w", v.Name, errors.Join(ErrExists, ErrConflict))
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("secrets: %s: the workspace environment would exceed %d bytes: %w", v.Name, m.cfg.MaxEnvBytes, ErrTooLarge)
	}
	return err
}

// Get returns the current version of a secret, with its value. It returns
// ErrNotFound if there is none, ErrWriteOnly if it is write-only, and
// ErrDecrypt if it fails to decrypt.
func (m *Manager) Get(ctx context.Context, ws, name string) (Secret, error) {
	return m.get(ctx, ws, name, 0)
}

// GetVersion returns a retained version of a secret, with its value. The
// name is the secret's current name. It returns ErrNotFound if the version
// is not retained, and ErrWriteOnly if the secret is write-only.
func (m *Manager) GetVersion(ctx context.Context, ws, name string, version int64) (Secret, error) {
	if version <= 0 {
		return Secret{}, fmt.Errorf("secrets: %s has no version %d: %w", name, version, ErrNotFound)
	}
	return m.get(ctx, ws, name, version)
}

func (m *Manager) get(ctx context.Context, ws, name string, version int64) (Secret, error) {
	e, err := m.begin(ctx, ActionReveal, ws, name)
	if err != nil {
		return Secret{}, err
	}
	v, err := m.store.Lookup(ctx, ws, name)
	if err == nil && v.WriteOnly {
		err = fmt.Errorf("secrets: %s: %w", v.Name, ErrWriteOnly)
	}
	if err == nil && version != 0 && version != v.Version {
		v, err = m.version(ctx, ws, v, version)
	}
	var p []byte
	if err == nil {
		p, err = m.reveal(ctx, v)
	}
	if err != nil {
		return Secret{}, m.failed(ctx, e, err)
	}
	e.Secrets = nil
	m.touched(e, v.Name, v.Version, p)
	if err := m.recordRead(ctx, e); err != nil {
		clear(p)
		return Secret{}, err
	}
	return Secret{Meta: metaOf(v), Value: Value{p}}, nil
}

// begin checks the workspace and name and asks the authorizer; it returns
// the operation's event.
func (m *Manager) begin(ctx context.Context, action Action, ws string, names ...string) (*Event, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	e := m.event(ctx, action, ws)
	for _, n := range names {
		if err := validSyntax(n, m.cfg.MaxNameLength); err != nil {
			return nil, m.failed(ctx, e, err)
		}
	}
	if err := m.authorize(ctx, e, names...); err != nil {
		return nil, err
	}
	for _, n := range names {
		e.Secrets = append(e.Secrets, EventSecret{Name: n})
	}
	return e, nil
}

// version returns version n of the secret whose current version is cur.
func (m *Manager) version(ctx context.Context, ws string, cur Version, n int64) (Version, error) {
	hist, err := m.store.History(ctx, ws, cur.SecretID)
	if err != nil {
		return Version{}, err
	}
	for _, v := range hist {
		if v.Version == n {
			return v, nil
		}
	}
	return Version{}, fmt.Errorf("secrets: %s has no version %d: %w", cur.Name, n, ErrNotFound)
}

// Versions returns the metadata of a secret's retained versions, newest
// first. Each carries the name it was written under.
func (m *Manager) Versions(ctx context.Context, ws, name string) ([]Meta, error) {
	e, err := m.begin(ctx, ActionList, ws, name)
	if err != nil {
		return nil, err
	}
	cur, err := m.store.Lookup(ctx, ws, name)
	var hist []Version
	if err == nil {
		hist, err = m.store.History(ctx, ws, cur.SecretID)
	}
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	out := make([]Meta, len(hist))
	for i, v := range hist {
		out[i] = metaOf(v)
	}
	m.listed(ctx, e)
	return out, nil
}

// listed records a read that revealed no value; it never fails the read.
func (m *Manager) listed(ctx context.Context, e *Event) {
	if m.cfg.AuditReads != AuditWritesOnly {
		m.record(ctx, e)
	}
}

// List returns the metadata of every secret of the workspace, sorted by
// name. It never decrypts or returns a value.
func (m *Manager) List(ctx context.Context, ws string) ([]Meta, error) {
	e, err := m.begin(ctx, ActionList, ws)
	if err != nil {
		return nil, err
	}
	cur, err := m.store.Current(ctx, ws)
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	out := make([]Meta, len(cur))
	for i, v := range cur {
		out[i] = metaOf(v)
	}
	m.listed(ctx, e)
	return out, nil
}

// Due returns the metadata of the workspace's secrets whose Expires or
// RotateBy falls before the given time, sorted by name.
func (m *Manager) Due(ctx context.Context, ws string, before time.Time) ([]Meta, error) {
	all, err := m.List(ctx, ws)
	if err != nil {
		return nil, err
	}
	var out []Meta
	for _, s := range all {
		if isDue(s.Info, before) {
			out = append(out, s)
		}
	}
	return out, nil
}

func isDue(i Info, before time.Time) bool {
	return !i.Expires.IsZero() && i.Expires.Before(before) || !i.RotateBy.IsZero() && i.RotateBy.Before(before)
}

// A DueSecret is a secret whose expiry or rotation date is near, with its
// workspace.
type DueSecret struct {
	Workspace string
	Meta
}

// DueAll returns, across every workspace, up to limit secrets whose
// Expires or RotateBy falls before the given time, ordered by workspace
// and name: the operator's weekly list. It is authorized as a list of no
// particular workspace ("") and needs a Store that is a DueStore.
func (m *Manager) DueAll(ctx context.Context, before time.Time, limit int) ([]DueSecret, error) {
	e := m.event(ctx, ActionList, "")
	if err := m.authorize(ctx, e); err != nil {
		return nil, err
	}
	ds, ok := m.store.(DueStore)
	if !ok {
		return nil, m.failed(ctx, e, fmt.Errorf("secrets: due secrets: the %T store cannot search across workspaces", m.store))
	}
	vs, err := ds.Due(ctx, before, max(limit, 1))
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	out := make([]DueSecret, len(vs))
	for i, v := range vs {
		out[i] = DueSecret{Workspace: v.Workspace, Meta: metaOf(v)}
	}
	m.listed(ctx, e)
	return out, nil
}

// Rollback makes the value of a retained version the secret's new current
// version (under its current name and Info). History is kept: rolling back
// is itself a version. It returns ErrNotFound if the version is not
// retained.
func (m *Manager) Rollback(ctx context.Context, ws, name string, version int64) (Meta, error) {
	e, err := m.begin(ctx, ActionSet, ws, name)
	if err != nil {
		return Meta{}, err
	}
	meta, err := m.rewrite(ctx, e, ws, name, name, version)
	return meta, m.failed(ctx, e, err)
}

// Rename gives a secret a new name, keeping its value and history; the
// caller never sees the value. It returns ErrNotFound if there is no secret
// from, an error matching ErrExists (and ErrConflict) if another secret is
// named to, and refuses an invalid or reserved new name as Set does.
func (m *Manager) Rename(ctx context.Context, ws, from, to string) (Meta, error) {
	e, err := m.begin(ctx, ActionRename, ws, from, to)
	if err != nil {
		return Meta{}, err
	}
	if err := m.validName(to); err != nil {
		return Meta{}, m.failed(ctx, e, err)
	}
	meta, err := m.rewrite(ctx, e, ws, from, to, 0)
	return meta, m.failed(ctx, e, err)
}

// rewrite writes a new version of the secret named name, under newName,
// with the value of version fromVersion (0: the current one).
func (m *Manager) rewrite(ctx context.Context, e *Event, ws, name, newName string, fromVersion int64) (Meta, error) {
	for attempt := 0; ; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return Meta{}, err
		}
		cur, err := m.store.Lookup(ctx, ws, name)
		if err != nil {
			return Meta{}, err
		}
		src := cur
		if fromVersion > 0 && fromVersion != cur.Version {
			if src, err = m.version(ctx, ws, cur, fromVersion); err != nil {
				return Meta{}, err
			}
		}
		if name == newName && fromVersion == 0 {
			return metaOf(cur), nil // same name: nothing to do
		}
		value, err := m.reveal(ctx, src)
		if err != nil {
			return Meta{}, err
		}
		if name != newName {
			if err := validValue(newName, value); err != nil {
				clear(value)
				return Meta{}, err
			}
		}
		k, err := m.dataKey(ctx, ws)
		if err != nil {
			clear(value)
			return Meta{}, err
		}
		v := Version{Workspace: ws, SecretID: cur.SecretID, Name: newName, Version: cur.Version + 1,
			Created: cur.Created, CreatedBy: cur.CreatedBy, Updated: m.now(), UpdatedBy: ActorFrom(ctx), Info: cur.Info}
		err = m.seal(k, &v, value)
		clear(value)
		if err != nil {
			return Meta{}, err
		}
		ev := *e
		ev.Secrets = nil
		if name != newName {
			ev.Secrets = append(ev.Secrets, EventSecret{Name: cur.Name, Version: cur.Version})
		}
		written(&ev, v)
		if err = m.put(ctx, k, v, cur.Version, &ev); err == nil {
			m.hints.Remove(hintKey(ws, cur.Name))
			m.hint(v)
			m.published(ctx, ev)
			return metaOf(v), nil
		}
		if m.keyChanged(ws, err) && attempt < maxAttempts {
			continue
		}
		if !errors.Is(err, ErrConflict) || errors.Is(err, ErrExists) || attempt == maxAttempts {
			return Meta{}, err
		}
	}
}

// Delete removes a secret and all its versions. It returns ErrNotFound if
// there is none.
func (m *Manager) Delete(ctx context.Context, ws, name string) error {
	return m.del(ctx, ws, name, -1)
}

// DeleteIf removes a secret only if its current version is seen; otherwise
// it returns ErrConflict and changes nothing.
func (m *Manager) DeleteIf(ctx context.Context, ws, name string, seen int64) error {
	return m.del(ctx, ws, name, seen)
}

func (m *Manager) del(ctx context.Context, ws, name string, seen int64) error {
	e, err := m.begin(ctx, ActionDelete, ws, name)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return m.failed(ctx, e, err)
		}
		cur, err := m.store.Lookup(ctx, ws, name)
		if err != nil {
			return m.failed(ctx, e, err)
		}
		if seen >= 0 && cur.Version != seen {
			return m.failed(ctx, e, fmt.Errorf("secrets: %s is at version %d, not %d: %w", cur.Name, cur.Version, seen, ErrConflict))
		}
		ev := *e
		ev.Secrets = []EventSecret{{Name: cur.Name, Version: cur.Version}}
		err = m.store.Delete(ctx, ws, cur.SecretID, cur.Version, &ev)
		m.hints.Remove(hintKey(ws, cur.Name))
		if err == nil {
			m.published(ctx, ev)
			return nil
		}
		if seen >= 0 || attempt == maxAttempts || !errors.Is(err, ErrConflict) {
			return m.failed(ctx, e, err)
		}
	}
}
