package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dataspace/secrets/internal/scope"
)

// DiffOptions tune a [Manager.Diff]. A nil *DiffOptions means the zero
// value.
type DiffOptions struct {
	// Remove makes the workspace become the text: its live secrets that
	// the text does not name are removed (soft-deleted) by Apply. Only
	// secrets of Scope are removed: the text says nothing of the others.
	Remove bool
	// Scope is the scope the text is for: "" or "*" for the secrets of
	// every environment, "production" for those of scope production (see
	// [SplitName]). A NAME in the text stands for the secret
	// ScopedName(NAME, Scope), and the text is compared with the
	// workspace's secrets of exactly that scope. An invalid scope is
	// ErrInvalidScope.
	Scope string
}

// A Diff is what applying a .env text to a workspace would change, by
// name; it never holds a value. Apply applies exactly this difference.
// Names are the secrets' full names, with the scope ("API_TOKEN@production"),
// as Meta.Name has them.
type Diff struct {
	// Workspace is the workspace the difference was computed for: Apply
	// refuses it for any other, and a Diff that names none
	// (ErrConflict), so that a preview reviewed for one workspace is
	// never applied to another.
	Workspace string `json:"workspace"`
	// Scope is the scope the difference is for: "*" for the secrets of
	// every environment (also what an empty Scope, as in a Diff from an
	// earlier release, means to Apply).
	Scope     string   `json:"scope"`
	Added     []string `json:"added"`     // names the text adds: Apply creates them
	Changed   []string `json:"changed"`   // existing secrets whose value the text changes (or does not compare)
	Unchanged []string `json:"unchanged"` // existing secrets the text gives their current value
	Removed   []string `json:"removed"`   // with Remove, live secrets the text does not name: Apply soft-deletes them
	Remove    bool     `json:"remove"`    // the difference was asked with DiffOptions.Remove
	// Uncompared are the names of Changed that are write-only secrets:
	// their values were not compared (see [Manager.Diff]), so they count
	// as changed whether or not the text gives the value they hold. It is
	// empty when every name of Changed really has another value. Apply
	// does not read it.
	Uncompared []string `json:"uncompared"`
	// Revisions are the revisions of the existing secrets the difference
	// was computed from, by name: Apply refuses if any of them changed.
	Revisions map[string]int64 `json:"revisions"`
}

// Diff compares a .env text (see Import for the syntax) with the
// workspace's live secrets, changing nothing: Added names are new, Changed
// ones have another value, Unchanged ones the same, and, with
// opts.Remove, Removed ones are live secrets the text does not name.
// With opts.Scope, the text is for that scope: its names stand for the
// secrets of that scope, it is compared with those only, and the Diff
// names the scope (Diff.Scope, and in each name). A bad scope is
// ErrInvalidScope, before anything is read.
// Write-only secrets named by the text are always Changed, and also
// listed in Uncompared: their values are never compared, so that a Diff
// cannot test guesses of them.
//
// It is authorized as ActionDiff with every name of the text, before the
// text is checked, and, with opts.Remove, as ActionDelete of the removed
// ones (a refusal is recorded as a denied delete). It is audited as one
// ActionDiff event naming the secrets of every kind, whose detail counts
// the names of each kind, recorded as a read is (Config.AuditReads). It refuses a text that Import would refuse,
// with the same errors.
func (m *Manager) Diff(ctx context.Context, ws string, text []byte, opts *DiffOptions) (Diff, error) {
	var o DiffOptions
	if opts != nil {
		o = *opts
	}
	if err := validWorkspace(ws); err != nil {
		return Diff{}, err
	}
	sc, err := bulkScope(o.Scope)
	if err != nil {
		return Diff{}, err
	}
	e := m.event(ctx, ActionDiff, ws)
	entries, kept, err := m.parseForWorkspace(ctx, e, text, sc)
	if err != nil {
		return Diff{}, err
	}
	defer clearEntries(entries)
	// Read again after a rotation on another replica, as the writes do (a
	// data-loss trial: 12 Diffs in 60 failed with ErrKeyChanged).
	d, err := withFreshKey(m, ws, func() (Diff, error) {
		d, _, err := m.diff(ctx, e, entries, kept, sc, o.Remove)
		return d, err
	})
	if err != nil {
		return Diff{}, m.failed(ctx, e, err)
	}
	if err := m.mayRemove(ctx, e, d.Removed); err != nil {
		return Diff{}, m.failed(ctx, e, err)
	}
	e.Detail = fmt.Sprintf("%d added, %d changed, %d unchanged, %d removed", len(d.Added), len(d.Changed), len(d.Unchanged), len(d.Removed))
	e.Secrets = namedSecrets(d.Added, d.Changed, d.Unchanged, d.Removed)
	if err := m.recordRead(ctx, e); err != nil {
		return Diff{}, err
	}
	return d, nil
}

// mayRemove asks Config.Authorize for ActionDelete of the names a
// difference or plan would remove (none: nothing asked), before their
// names are told or they are removed: a refusal is recorded, and returned
// as such (failed records nothing more).
func (m *Manager) mayRemove(ctx context.Context, e *Event, removed []string) error {
	if len(removed) == 0 {
		return nil
	}
	de := *e
	de.Action = ActionDelete
	if err := m.authorize(ctx, &de, removed...); err != nil {
		return err // recorded by authorize
	}
	return nil
}

// namedSecrets are the event's list of the secrets a comparison named,
// without versions: which values it compared, or would write.
func namedSecrets(lists ...[]string) []EventSecret {
	out := []EventSecret{}
	for _, l := range lists {
		for _, n := range l {
			out = append(out, EventSecret{Name: n})
		}
	}
	return out
}

// Apply applies the difference between a .env text and the workspace, as
// want (from an earlier Diff of the same text) shows it, in one
// all-or-nothing change: new secrets are created, changed ones get a new
// version, removed ones are soft-deleted. If the workspace changed since
// the Diff in any way that touches the difference (a secret of the text
// or a removed one written, added or deleted by someone else), Apply
// changes nothing and returns an error matching ErrConflict: preview
// again. (A secret destroyed and made again since, back at the revision
// the preview saw, passes for the one it saw: see SetOptions.IfRevision.) The text is applied to the scope want.Scope names ("" means
// "*"): a Diff made for another scope, or one whose scope was edited
// after Diff, names other secrets than the text does there and is
// refused with ErrConflict; an invalid want.Scope is ErrInvalidScope.
// A Diff holds no values: a text with other values that makes the same
// difference (the same names changed) is applied with its own values.
// Nothing is written in either case. A Diff made for another workspace
// (Diff.Workspace) is refused with ErrConflict. It returns the metadata of the
// secrets the text names. It is authorized as ActionSet and, since it
// compares values as Diff does, as ActionDiff with the text's names.
func (m *Manager) Apply(ctx context.Context, ws string, text []byte, want Diff) ([]Meta, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	sc, err := bulkScope(want.Scope)
	if err != nil {
		return nil, err
	}
	want.Scope = sc
	e := m.event(ctx, ActionSet, ws)
	entries, kept, err := m.parseForWorkspace(ctx, e, text, sc)
	if err != nil {
		return nil, err
	}
	defer clearEntries(entries)
	// Apply compares the text with the workspace as Diff does, and its
	// answer (ErrConflict or not, for a difference of the caller's
	// making) would tell whether a guess of a value is right: it is
	// ActionDiff too, as the preview it applies was.
	de := *e
	de.Action = ActionDiff
	names := make([]string, len(entries))
	for i, en := range entries {
		names[i] = en.name
	}
	if err := m.authorize(ctx, &de, m.askable(names)...); err != nil {
		return nil, err
	}
	if want.Workspace != ws {
		return nil, m.failed(ctx, e, errPlanWorkspace("difference"))
	}
	for attempt := 0; ; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return nil, m.failed(ctx, e, err)
		}
		metas, err := m.apply(ctx, e, ws, entries, kept, sc, &want)
		var r *raced
		if errors.Is(err, ErrKeyChanged) && attempt < maxAttempts {
			m.keys.Remove(ws)
			continue
		}
		if errors.As(err, &r) && attempt < maxAttempts {
			// Another write of the workspace since the reads (with Remove,
			// any): read and compare again; a change that touches the
			// difference is refused there.
			continue
		}
		if err != nil {
			return nil, m.failed(ctx, e, err)
		}
		for i := range metas {
			metas[i].Warnings = m.nameWarnings(metas[i].Name)
		}
		return metas, nil
	}
}

// Import sets every variable of a .env text in the workspace, in one
// all-or-nothing change: new names are created, existing secrets whose
// value differs get a new version (their Info is kept), unchanged ones
// are left alone, and the workspace's other secrets are not touched. The
// value of a write-only secret is never compared: every write-only
// secret the text names gets a new version, even of the value it holds. A
// concurrent change is retried on top of.
//
// The text is checked whole before anything is written: a syntax error, a
// name given twice (ignoring case), a name or value that Set would
// refuse on its own, or a name that exists under another spelling or
// belongs to a deleted secret, is reported as a *DotenvError with its
// line, never its value. References are not checked: a cycle the
// text's "# expand:" values make fails the workspace's jobs (see Set). A text larger than the workspace's budget (plus room for
// comments) is ErrTooLarge.
//
// Syntax, one entry a line (lines end with LF, CRLF or a lone CR; a
// leading byte-order mark is skipped):
//
//	# a comment, and blank lines, are skipped
//	NAME=value            unquoted: up to the line's end or a " #" comment, trailing blanks trimmed, no escapes
//	export NAME=value     "export " is allowed and ignored
//	NAME='value'          single quotes: every byte literal, newlines included
//	NAME="value"          double quotes: \n \r \t \" \\ \$ \` are escapes, a backslash before a newline
//	                      joins lines, any other backslash is kept; newlines included
//	NAME='it'\''s'        quoted parts, and backslash-escaped characters between them, are joined,
//	                      as in a POSIX shell
//
// No variable is expanded: "$HOME" in a value stays "$HOME".
//
// With opts.Scope, every NAME of the text is set as the secret
// ScopedName(NAME, opts.Scope): Export with the same scope and Import
// round-trip one scope. A bad scope is ErrInvalidScope, and nothing is
// written.
func (m *Manager) Import(ctx context.Context, ws string, text []byte, opts *ImportOptions) ([]Meta, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	sc, err := bulkScope(o.Scope)
	if err != nil {
		return nil, err
	}
	e := m.event(ctx, ActionSet, ws)
	entries, _, err := m.parseForWorkspace(ctx, e, text, sc)
	if err != nil {
		return nil, err
	}
	defer clearEntries(entries)
	began, seen := time.Now(), int64(-1)
	for attempt := 0; ; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return nil, m.failed(ctx, e, err)
		}
		metas, err := m.apply(ctx, e, ws, entries, nil, sc, nil)
		if errors.Is(err, ErrKeyChanged) && attempt < maxAttempts {
			m.keys.Remove(ws)
			continue
		}
		if errors.Is(err, ErrConflict) {
			// Retried past maxAttempts while other writers keep changing
			// the workspace (its state moves), as a single write is; the
			// state is read only when it decides.
			won := true
			if attempt+1 >= maxAttempts-1 {
				st, serr := m.workspaceState(ctx, ws)
				won = serr == nil && st != seen
				seen = st
			}
			if m.retryRace(attempt+1, began, won) {
				continue
			}
		}
		if err != nil {
			return nil, m.failed(ctx, e, err)
		}
		for i := range metas {
			metas[i].Warnings = m.nameWarnings(metas[i].Name)
		}
		return metas, nil
	}
}

// parseForWorkspace parses text, names each entry's secret in scope sc,
// asks the authorizer (with the names the text gives, or none if it does
// not parse), then checks the names and values as Set would. kept are the
// secrets, in scope sc, that the text names in Export's comments in place
// of a line: a Remove leaves them.
func (m *Manager) parseForWorkspace(ctx context.Context, e *Event, text []byte, sc string) (entries []dotenvEntry, kept []string, err error) {
	if limit := m.maxDotenvText(); limit > 0 && int64(len(text)) > limit {
		if err := m.authorize(ctx, e); err != nil {
			return nil, nil, err
		}
		return nil, nil, m.failed(ctx, e, errorf(ErrTooLarge, "the .env text takes %d bytes, more than the workspace could hold", len(text)))
	}
	entries, kept, perr := parseDotenv(text, m.maxDotenvEntries())
	for i := range entries {
		entries[i].name = ScopedName(entries[i].name, sc)
	}
	for i := range kept {
		kept[i] = ScopedName(kept[i], sc)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.name)
	}
	names, err = m.storedNames(ctx, e.Workspace, m.askable(names))
	if err != nil {
		return nil, nil, m.failed(ctx, e, err)
	}
	if err := m.authorize(ctx, e, names...); err != nil {
		clearEntries(entries)
		return nil, nil, err
	}
	if perr != nil {
		return nil, nil, m.failed(ctx, e, perr)
	}
	// The scope is the text's, one for every entry: checked once. A scope
	// a new secret may not take (see validShown) is refused only for the
	// secrets the text would create: those stored before stay writable.
	// The stored ones are read once, a scope of this kind being rare.
	shown := validShown(ScopedName("X", sc))
	var stored map[string]Entry
	if shown != nil {
		names := make([]string, len(entries))
		for i, en := range entries {
			names[i] = en.name
		}
		if stored, err = m.namedEntries(ctx, e.Workspace, names, false); err != nil {
			clearEntries(entries)
			return nil, nil, m.failed(ctx, e, err)
		}
	}
	for _, en := range entries {
		if err := m.validName(en.name); err != nil {
			msg := "invalid name"
			if errors.Is(err, ErrReservedName) {
				msg = detail(err)
			}
			clearEntries(entries)
			return nil, nil, m.failed(ctx, e, &DotenvError{Line: en.line, Msg: msg, Reason: classOf(err)})
		}
		if err := validValue(en.name, en.value); err != nil {
			clearEntries(entries)
			return nil, nil, m.failed(ctx, e, &DotenvError{Line: en.line, Msg: detail(err), Reason: classOf(err)})
		}
		if cur, ok := stored[strings.ToLower(en.name)]; shown != nil && (!ok || !cur.Deleted.IsZero()) {
			clearEntries(entries)
			return nil, nil, m.failed(ctx, e, &DotenvError{Line: en.line, Msg: detail(shown), Reason: classOf(shown)})
		}
	}
	// After the names are checked: a duplicate is named in its error.
	if err := duplicates(entries, m.cfg.MaxNameLength); err != nil {
		clearEntries(entries)
		return nil, nil, m.failed(ctx, e, err)
	}
	return entries, kept, nil
}

// classOf returns which validation class err is of.
func classOf(err error) error {
	for _, c := range []error{ErrInvalidName, ErrInvalidScope, ErrReservedName, ErrInvalidValue, ErrTooLarge, ErrExists} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// bulkItem is one secret a diff concerns.
type bulkItem struct {
	entry *dotenvEntry // nil for a removed secret
	cur   *Entry       // nil for an added one
	kind  string       // added, changed, unchanged, removed
}

// diff computes what applying entries would do, from the workspace's
// secrets, live and deleted, of the entries' names, and, with remove, its
// live secrets of scope sc: it reads no other (each secret's revision is
// checked again by the write).
func (m *Manager) diff(ctx context.Context, e *Event, entries []dotenvEntry, kept []string, sc string, remove bool) (Diff, []bulkItem, error) {
	ws := e.Workspace
	names := make([]string, len(entries))
	for i, en := range entries {
		names[i] = en.name
	}
	cur, err := m.namedEntries(ctx, ws, names, true)
	if err != nil {
		return Diff{}, nil, err
	}
	d := Diff{Workspace: ws, Scope: sc, Remove: remove, Revisions: map[string]int64{}}
	var items []bulkItem
	named := map[string]bool{}
	for _, n := range kept {
		named[strings.ToLower(n)] = true
	}
	for i := range entries {
		en := &entries[i]
		key := strings.ToLower(en.name)
		named[key] = true
		c, ok := cur[key]
		switch {
		case !ok:
			items = append(items, bulkItem{entry: en, kind: "added"})
			d.Added = append(d.Added, en.name)
			continue
		case c.Name != en.name || !c.Deleted.IsZero():
			err := &ExistsError{Name: c.Name, Deleted: !c.Deleted.IsZero()}
			return Diff{}, nil, &DotenvError{Line: en.line, Msg: detail(err), Reason: ErrExists}
		}
		d.Revisions[c.Name] = c.Revision
		same, err := m.sameValue(ctx, &c, en.value)
		if err != nil {
			return Diff{}, nil, err
		}
		kind := "changed"
		if same {
			kind = "unchanged"
		}
		items = append(items, bulkItem{entry: en, cur: &c, kind: kind})
		if same {
			d.Unchanged = append(d.Unchanged, c.Name)
		} else {
			d.Changed = append(d.Changed, c.Name)
			if c.Current.WriteOnly {
				d.Uncompared = append(d.Uncompared, c.Name)
			}
		}
	}
	if remove {
		// The live secrets of the scope: those of a scope contain "@" and
		// the scope (Search is a first sieve; SplitName decides).
		q := ListQuery{Limit: maxPage} // a removal writes no value: no ciphertexts
		if sc != scope.Any {
			q.Search = "@" + sc
		}
		err := m.listAll(ctx, ws, q, func(c Entry) {
			if _, s := SplitName(c.Name); !named[strings.ToLower(c.Name)] && c.Deleted.IsZero() && s == sc {
				items = append(items, bulkItem{cur: &c, kind: "removed"})
				d.Removed = append(d.Removed, c.Name)
				d.Revisions[c.Name] = c.Revision
			}
		})
		if err != nil {
			return Diff{}, nil, err
		}
	}
	for _, l := range []*[]string{&d.Added, &d.Changed, &d.Unchanged, &d.Removed, &d.Uncompared} {
		if *l == nil {
			*l = []string{}
		}
		slices.Sort(*l)
	}
	return d, items, nil
}

// sameValue reports whether c's current value is value, a write-only one
// being never compared (false). It opens c's current version whatever the
// answer: the write that follows keeps the row's flags or decides by them
// (write-only cannot be undone, ActionUnprotect), and only the ciphertext
// authenticates them (see authentic).
func (m *Manager) sameValue(ctx context.Context, c *Entry, value []byte) (bool, error) {
	p, err := m.openCurrent(ctx, c)
	defer clear(p)
	if errors.Is(err, errStale) {
		err = &failure{class: ErrKeyChanged, msg: "the workspace key changed"}
	}
	if err != nil {
		return false, err
	}
	return !c.Current.WriteOnly && bytes.Equal(p, value), nil
}

// apply writes entries as one change. With want, the difference must be
// want (else ErrConflict) and the text's other secrets are removed as it
// says; without, it imports. The entries are named in scope sc already.
func (m *Manager) apply(ctx context.Context, e *Event, ws string, entries []dotenvEntry, kept []string, sc string, want *Diff) ([]Meta, error) {
	remove := want != nil && want.Remove
	// With Remove the workspace must become the text: the writes hold to
	// its state before the diff's reads (Write.ExpectState), so that a
	// secret created, undeleted or renamed into the scope meanwhile, which
	// no write names, fails the apply (as it fails a restore).
	var before int64
	if remove {
		var err error
		if before, err = m.workspaceState(ctx, ws); err != nil {
			return nil, err
		}
	}
	d, items, err := m.diff(ctx, e, entries, kept, sc, remove)
	if err != nil {
		return nil, err
	}
	if want != nil {
		if !sameDiff(d, *want) {
			return nil, errorf(ErrConflict, "the workspace changed since the preview: preview again")
		}
		if err := m.mayRemove(ctx, e, d.Removed); err != nil {
			return nil, err
		}
	}
	var writes []Write
	var curs []*Entry
	var k *dataKey
	if len(d.Added)+len(d.Changed) > 0 {
		if k, err = m.writeKey(ctx, ws, nil); err != nil {
			return nil, err
		}
	}
	now, actor := m.now(), ActorFrom(ctx)
	audit := *e
	audit.Time, audit.Secrets = now, nil
	var metas []Meta
	for _, it := range items {
		var w Write
		switch it.kind {
		case "unchanged":
			w = Write{Entry: *it.cur, Expect: it.cur.Revision, Check: true}
			metas = append(metas, it.cur.meta())
			if want == nil {
				continue // an import does not depend on unchanged secrets
			}
		case "removed":
			ne := *it.cur
			ne.Revision++
			ne.Updated, ne.UpdatedBy, ne.Deleted, ne.DeletedBy = now, actor, now, actor
			w = Write{Entry: ne, Expect: it.cur.Revision}
			audit.Secrets = append(audit.Secrets, EventSecret{Name: ne.Name, Version: ne.Current.Version, Fingerprint: ne.Current.Fingerprint})
		default:
			var ne Entry
			if it.cur == nil {
				// A new secret takes the flags the text's comments give
				// it; an existing one keeps its own.
				ne = Entry{Workspace: ws, SecretID: newSecretID(), Name: it.entry.name, Created: now, CreatedBy: actor}
				ne.Current.Protected, ne.Current.Expand, ne.Current.File = it.entry.protected, it.entry.expand, it.entry.file
			} else {
				ne = *it.cur
			}
			ne.Revision++
			ne.Updated, ne.UpdatedBy = now, actor
			v := Version{Workspace: ws, SecretID: ne.SecretID, Version: ne.Current.Version + 1, Name: ne.Name,
				WriteOnly: ne.Current.WriteOnly, File: ne.Current.File, Protected: ne.Current.Protected, Expand: ne.Current.Expand, EnvSize: envSize(ne.Name, len(it.entry.value)),
				Fingerprint: m.Fingerprint(it.entry.value), Written: now, WrittenBy: actor}
			if err := k.seal(&v, it.entry.value); err != nil {
				return nil, err
			}
			ne.Current = v
			w = Write{Entry: ne, NewVersion: true, KeyGen: k.gen}
			if it.cur != nil {
				w.Expect = it.cur.Revision
			}
			written(&audit, v)
			metas = append(metas, ne.meta())
		}
		w.Keep, w.MaxEnvBytes = m.cfg.KeepVersions, max(m.cfg.MaxEnvBytes, 0)
		writes, curs = append(writes, w), append(curs, it.cur)
	}
	slices.SortFunc(metas, func(a, b Meta) int { return strings.Compare(a.Name, b.Name) })
	shrinkFirst(writes, curs)
	if metas == nil {
		metas = []Meta{}
	}
	audit.Detail = truncateUTF8(fmt.Sprintf("%d added, %d changed, %d removed", len(d.Added), len(d.Changed), len(d.Removed))+named("removed", d.Removed), maxDetail)
	if len(d.Added)+len(d.Changed)+len(d.Removed) == 0 {
		audit.Detail = fmt.Sprintf("nothing changed: %d unchanged", len(d.Unchanged))
	}
	if len(writes) == 0 {
		if err := m.recordNoop(ctx, &audit, audit.Detail); err != nil {
			return nil, err
		}
		return metas, nil
	}
	writes[0].CheckState, writes[0].ExpectState = remove, before
	if err := m.putAll(ctx, writes, &audit, "the workspace changed while the .env text was applied"); err != nil {
		return nil, err
	}
	return metas, nil
}

// recordNoop records the event of a write that changed nothing: it was
// authorized as a write, so it is recorded as one, listing no secret.
func (m *Manager) recordNoop(ctx context.Context, audit *Event, detail string) error {
	audit.Detail, audit.Secrets = detail, []EventSecret{}
	return m.record(ctx, audit)
}

func written(e *Event, v Version) {
	e.Secrets = append(e.Secrets, EventSecret{Name: v.Name, Version: v.Version, Fingerprint: v.Fingerprint})
}

// errPlanWorkspace refuses a preview (a Diff, a restore plan) made for
// another workspace than the one it is applied to, or naming none: two
// workspaces provisioned alike can have the same names at the same
// revisions, and a plan checked only against those applied a staging
// preview to production (a data-loss trial).
func errPlanWorkspace(what string) error {
	return errorf(ErrConflict, "the %s was made for another workspace (or names none): preview this one", what)
}

func sameDiff(a, b Diff) bool {
	return a.Scope == b.Scope && a.Remove == b.Remove && slices.Equal(a.Added, b.Added) && slices.Equal(a.Changed, b.Changed) &&
		slices.Equal(a.Unchanged, b.Unchanged) && slices.Equal(a.Removed, b.Removed) && maps.Equal(a.Revisions, b.Revisions)
}

// putAll applies writes as one change, all or nothing, with audit recorded
// in its transaction and published once it committed. A lost race is an
// ErrConflict that says what was being done.
func (m *Manager) putAll(ctx context.Context, writes []Write, audit *Event, doing string) error {
	writes[len(writes)-1].Audit = audit // one event, in the change's transaction
	for i := range writes {
		writes[i].MaxSecrets = max(m.cfg.MaxSecrets, 0)
	}
	err := m.store.Put(ctx, writes...)
	switch {
	case err == nil:
		m.published(ctx, *audit)
		return nil
	case errors.Is(err, errTooManySecrets):
		return m.tooManySecrets("")
	case errors.Is(err, ErrTooLarge):
		return errorf(ErrTooLarge, "the workspace environment would exceed %d bytes", m.cfg.MaxEnvBytes)
	case errors.Is(err, ErrKeyChanged):
		return err
	case lostRace(err):
		return &raced{&failure{class: ErrConflict, msg: doing, cause: plain(err)}}
	}
	return err
}

// raced is putAll's ErrConflict when another writer changed the workspace
// between the change's reads and its writes: its caller may read,
// compare and write again, where a conflict found in the reads is final.
type raced struct{ error }

func (r *raced) Unwrap() error { return r.error }
