package secrets

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dataspace/secrets/internal/scope"
)

// Get returns the current version of a secret, with its value. It returns
// ErrNotFound if there is no live secret of that name, ErrWriteOnly if it
// is write-only, and ErrDecrypt if it fails to decrypt. The authorizer is
// asked with the name as stored; the read is audited as a reveal.
func (m *Manager) Get(ctx context.Context, ws, name string) (Secret, error) {
	return m.get(ctx, ws, name, 0)
}

// GetVersion returns a retained version of a secret, with its value; Meta
// is the secret's, but for Version and the flags, the version's (an older
// version may be protected when the secret no longer is: see
// Info.Protected). It returns ErrNoVersion if the version is not
// retained, and otherwise fails as Get does.
func (m *Manager) GetVersion(ctx context.Context, ws, name string, version int64) (Secret, error) {
	if version <= 0 {
		version = -1 // never retained
	}
	return m.get(ctx, ws, name, version)
}

func (m *Manager) get(ctx context.Context, ws, name string, version int64) (Secret, error) {
	e, cur, err := m.lookup(ctx, ActionReveal, ws, name, true)
	if err != nil {
		return Secret{}, err
	}
	var stale error // the last attempt's, once Lookup has cleared err
	for range maxAttempts {
		var p []byte
		var v Version
		p, v, err = m.reveal(ctx, cur, version)
		if errors.Is(err, errStale) {
			stale = err
			if cur, err = m.store.Lookup(ctx, ws, cur.Name); err != nil {
				break
			}
			if !cur.Deleted.IsZero() {
				err = errorf(ErrNotFound, "%s is deleted (Undelete restores it)", cur.Name)
				break
			}
			continue
		}
		if err != nil {
			break
		}
		e.Secrets = []EventSecret{{Name: cur.Name, Version: v.Version, Fingerprint: m.Fingerprint(p)}}
		if err := m.recordRead(ctx, e); err != nil {
			clear(p)
			return Secret{}, err
		}
		meta := cur.meta()
		meta.Version = v.Version
		meta.WriteOnly, meta.File, meta.Protected, meta.Expand = v.WriteOnly, v.File, v.Protected, v.Expand
		return Secret{Meta: meta, Value: newValue(p)}, nil
	}
	if err == nil {
		// Every attempt read rows that never settled (a trial: with the
		// newest version row deleted with SQL, GetVersion returned an
		// empty value and no error).
		err = unsettled(ws, cur.Name, stale)
	}
	if errors.Is(err, ErrNotFound) {
		err = errorf(ErrNotFound, "%s does not exist", name)
	}
	return Secret{}, m.failed(ctx, e, err)
}

// reveal decrypts version (0: the current one) of cur.
func (m *Manager) reveal(ctx context.Context, cur Entry, version int64) ([]byte, Version, error) {
	if cur.Current.WriteOnly {
		return nil, Version{}, errorf(ErrWriteOnly, "%s is write-only: it is injected into jobs but never revealed", cur.Name)
	}
	v := cur.Current
	if version != 0 && version != v.Version {
		hist, err := m.store.History(ctx, cur.Workspace, cur.SecretID)
		if err != nil {
			return nil, Version{}, err
		}
		i := slices.IndexFunc(hist, func(h Version) bool { return h.Version == version })
		if i < 0 {
			return nil, Version{}, errorf(ErrNoVersion, "%s has no version %d: versions %s are retained", cur.Name, version, versionList(hist))
		}
		if hist[0].Version != cur.Current.Version || hist[0].WriteOnly {
			return nil, Version{}, errStale // changed since the lookup
		}
		if hist[i].WriteOnly {
			return nil, Version{}, errorf(ErrWriteOnly, "%s version %d is write-only: it is never revealed", cur.Name, version)
		}
		// The current version's flags say whether the secret is
		// write-only now: only its ciphertext authenticates them.
		if err := m.authentic(ctx, &cur); err != nil {
			return nil, Version{}, err
		}
		v = hist[i]
	}
	k, err := m.keyFor(ctx, cur.Workspace, v.KeyGen)
	if err != nil {
		return nil, Version{}, err
	}
	p, err := k.open(&v)
	if err != nil {
		return nil, Version{}, &DecryptError{Workspace: cur.Workspace, Names: []string{cur.Name}}
	}
	return p, v, nil
}

// lookup starts a read of one secret: it checks the workspace, looks the
// secret up, asks the authorizer with its name as stored, and refuses a
// deleted secret when live is set.
func (m *Manager) lookup(ctx context.Context, action Action, ws, name string, live bool) (*Event, Entry, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, Entry{}, err
	}
	e := m.event(ctx, action, ws)
	cur, _, err := m.current(ctx, ws, name, false)
	canon := name
	if cur != nil {
		canon = cur.Name
	}
	if aerr := m.authorize(ctx, e, m.askable([]string{canon})...); aerr != nil {
		return nil, Entry{}, aerr
	}
	if err == nil {
		err = validSyntax(name, m.cfg.MaxNameLength)
	}
	if err == nil && cur == nil {
		err = errorf(ErrNotFound, "%s does not exist", name)
	}
	if err == nil && live && !cur.Deleted.IsZero() {
		err = errorf(ErrNotFound, "%s is deleted (Undelete restores it)", cur.Name)
	}
	if err != nil {
		e.Secrets = nil
		return nil, Entry{}, m.failed(ctx, e, err)
	}
	e.Secrets = []EventSecret{{Name: cur.Name, Version: cur.Current.Version}}
	return e, *cur, nil
}

// Meta returns a secret's metadata, live or soft-deleted (then its Deleted
// is set). It returns ErrNotFound if there is no secret of that name.
func (m *Manager) Meta(ctx context.Context, ws, name string) (Meta, error) {
	e, cur, err := m.lookup(ctx, ActionList, ws, name, false)
	if err != nil {
		return Meta{}, err
	}
	m.listed(ctx, e)
	return cur.meta(), nil
}

// Versions returns the retained value versions of a secret, live or
// soft-deleted, newest first. It returns ErrNotFound if there is no
// secret of that name.
func (m *Manager) Versions(ctx context.Context, ws, name string) ([]VersionMeta, error) {
	e, cur, err := m.lookup(ctx, ActionList, ws, name, false)
	if err != nil {
		return nil, err
	}
	hist, err := m.store.History(ctx, ws, cur.SecretID)
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	out := make([]VersionMeta, len(hist))
	for i, v := range hist {
		out[i] = VersionMeta{Version: v.Version, Written: v.Written, WrittenBy: v.WrittenBy, Current: i == 0, Protected: v.Protected}
	}
	m.listed(ctx, e)
	return out, nil
}

// ListOptions select a page of secrets. A nil *ListOptions means the first
// page of live secrets.
type ListOptions struct {
	// Search keeps the names that contain it, ignoring the case of ASCII
	// letters, and of other letters (in a scope) as the store lowers
	// them: the memory store and a Postgres database of a UTF-8 locale
	// do, one of the C locale does not. A Search that holds NUL or is
	// not UTF-8 keeps none.
	Search string
	// After is where the page starts: the Next of the previous page. An
	// After that holds NUL or is not UTF-8 gives an empty page.
	After string
	// Limit is the page size: default 100, at most 1000.
	Limit int
	// Deleted lists the soft-deleted secrets instead of the live ones.
	Deleted bool
}

// A Page is one page of a listing.
type Page struct {
	Secrets []Meta `json:"secrets"`
	// Next, if not empty, is the After of the next page: there are more.
	Next string `json:"next,omitempty"`
}

// maxPage bounds a page of List.
const maxPage = 1000

// maxAfter bounds ListOptions.After: far more than any stored name, which
// a Next never exceeds.
const maxAfter = 64 << 10

// List returns a page of the metadata of the workspace's secrets, ordered
// by name ignoring case. It never decrypts or returns a value. Paging by
// Next returns each secret that exists throughout exactly once, whatever
// is added or removed meanwhile.
func (m *Manager) List(ctx context.Context, ws string, opts *ListOptions) (Page, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	if o.Limit <= 0 {
		o.Limit = 100
	}
	o.Limit = min(o.Limit, maxPage)
	if err := validWorkspace(ws); err != nil {
		return Page{}, err
	}
	e := m.event(ctx, ActionList, ws)
	if err := m.authorize(ctx, e); err != nil {
		return Page{}, err
	}
	// A stored name is its variable (MaxMaxNameLength at most, under
	// whatever MaxNameLength it was stored), '@' and its scope: a longer
	// Search matches nothing. After is a place in the order, not a name
	// to match: any length is a place, within what a request may carry.
	if len(o.Search) > MaxMaxNameLength+1+scope.MaxLen || len(o.After) > maxAfter ||
		strings.ContainsRune(o.Search, 0) || !utf8.ValidString(o.Search) ||
		strings.ContainsRune(o.After, 0) || !utf8.ValidString(o.After) {
		return Page{Secrets: []Meta{}}, nil // no name can match (and Postgres refuses NUL)
	}
	es, err := m.store.List(ctx, ws, ListQuery{After: o.After, Search: o.Search, Deleted: o.Deleted, Limit: o.Limit + 1})
	if err != nil {
		return Page{}, m.failed(ctx, e, err)
	}
	p := Page{Secrets: make([]Meta, 0, min(len(es), o.Limit))}
	for i, en := range es {
		if i == o.Limit {
			p.Next = es[i-1].Name
			break
		}
		p.Secrets = append(p.Secrets, en.meta())
	}
	m.listed(ctx, e)
	return p, nil
}

// Due returns the metadata of the workspace's live secrets whose Expires
// or RotateBy falls before the given time, sorted by name (expired ones
// included: their Expires is past).
func (m *Manager) Due(ctx context.Context, ws string, before time.Time) ([]Meta, error) {
	var out []Meta
	opts := &ListOptions{Limit: maxPage}
	for {
		p, err := m.List(ctx, ws, opts)
		if err != nil {
			return nil, err
		}
		for _, s := range p.Secrets {
			if isDue(s.Expires, s.RotateBy, before) {
				out = append(out, s)
			}
		}
		if p.Next == "" {
			return out, nil
		}
		opts.After = p.Next
	}
}

// DueOptions select a page of [Manager.DueAll]. A nil *DueOptions means
// the first page of 100.
type DueOptions struct {
	// After is where the page starts: the last DueSecret of the previous
	// page (only its Workspace and Name count); zero for the first.
	After DueSecret
	// Limit is the page size: default 100, at most 1000.
	Limit int
}

// DueAll returns, across every workspace, a page of the live secrets
// whose Expires or RotateBy falls before the given time, ordered by
// workspace and name, after the secret opts.After (see [DueOptions]): the
// operator's weekly list. It is authorized as a list of no particular
// workspace ("") and needs a Store that is a DueStore.
func (m *Manager) DueAll(ctx context.Context, before time.Time, opts *DueOptions) ([]DueSecret, error) {
	var o DueOptions
	if opts != nil {
		o = *opts
	}
	if o.Limit <= 0 {
		o.Limit = 100
	}
	e := m.event(ctx, ActionList, "")
	if err := m.authorize(ctx, e); err != nil {
		return nil, err
	}
	ds, ok := m.store.(DueStore)
	if !ok {
		return nil, m.failed(ctx, e, errorf(nil, "due secrets: the %T store cannot search across workspaces", m.store))
	}
	es, err := ds.Due(ctx, DueQuery{Before: before, AfterWorkspace: o.After.Workspace, AfterName: o.After.Name, Limit: min(o.Limit, maxPage)})
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	out := make([]DueSecret, len(es))
	for i, en := range es {
		out[i] = DueSecret{Workspace: en.Workspace, Meta: en.meta()}
	}
	m.listed(ctx, e)
	return out, nil
}
