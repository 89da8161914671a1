package secrets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A RestorePlan is what restoring a backup document into a workspace
// would change, by name; it never holds a value. Restore applies exactly
// this plan.
type RestorePlan struct {
	// Workspace is the workspace the plan was made for: Restore refuses
	// it for any other, and a plan that names none (ErrConflict).
	Workspace string `json:"workspace"`
	// Source and Created are the container the document was made of and
	// when, as it says.
	Source  string    `json:"source"`
	Created time.Time `json:"created"`
	// Digest is the SHA-256 of the document's bytes, in hex: Restore
	// refuses the plan with any other document (ErrConflict).
	Digest string `json:"digest"`
	// Encrypted says whether the document's values are encrypted (to age
	// recipients); an unencrypted one binds nothing (see the README).
	Encrypted bool `json:"encrypted"`
	// Added are the document's secrets the workspace lacks: created.
	Added []string `json:"added"`
	// Changed are the secrets that differ, with what differs.
	Changed []RestoreChange `json:"changed"`
	// Unchanged are the secrets that are as the document says.
	Unchanged []string `json:"unchanged"`
	// Removed are, with Remove, the workspace's live secrets that the
	// document does not name: soft-deleted.
	Removed []string `json:"removed"`
	// Skipped are the write-only secrets whose values the document does
	// not hold (RestoreOptions.SkipWithheld): left as they are.
	Skipped []string `json:"skipped"`
	Remove  bool     `json:"remove"`
	// Revisions are the revisions of the workspace's secrets the plan was
	// computed from, by name: Restore refuses if any of them changed (a
	// secret destroyed and made again since, back at the same revision,
	// passes: see SetOptions.IfRevision).
	Revisions map[string]int64 `json:"revisions"`
}

// A RestoreChange is a secret a restore changes and the fields that
// change: "value", "description", "expires", "rotate_by", "write_only",
// "file", "protected", "expand". The value of a write-only secret is
// never compared: it is always listed as changing.
type RestoreChange struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
}

// PreviewRestore compares a backup document (from [Manager.Backup]) with
// the workspace, changing nothing, and returns the plan that
// [Manager.Restore] would apply: the secrets it adds, changes (and which
// fields), leaves unchanged, removes (with opts.Remove) and skips.
//
// Restoring keeps each secret's name, description, expiry, rotation date,
// write-only, file, protected and expand flags and value; a changed value
// becomes a new version. Times, actors, revisions and version numbers are
// the restore's own. Restore asks the authorizer ActionUnprotect for
// each protected secret that the document would make unprotected.
//
// It is authorized and audited as ActionDiff (it tells whether values
// differ, as [Manager.Diff] does) with the document's names, before the
// document is checked. It refuses, changing nothing: a document over
// opts.MaxBytes (ErrTooLarge); one that is malformed, of another version,
// damaged, or holds a name twice or a name, value or Info that Set would
// refuse (ErrInvalidBackup); an encrypted one without a matching
// identity (ErrBackupIdentity); withheld write-only values without
// opts.SkipWithheld, or a readable secret that is write-only in the
// workspace (ErrWriteOnly); a name that a deleted secret has or that
// differs in case (*ExistsError); an unencrypted document when
// opts.Identities are given (ErrInvalidBackup). It also refuses, with
// ErrTooLarge, a document of more secrets than a workspace may hold (the
// least of Config.MaxSecrets, Config.MaxEnvBytes / 3 and 100,000), as it
// is read, one whose restore would add secrets past Config.MaxSecrets
// (deleted secrets count, as for Set), and one
// whose restore would make the workspace's environment (the sum of
// len(name)+len(value)+2 over its live secrets, of every scope) larger
// than Config.MaxEnvBytes while it adds or grows a secret: no plan is
// made that Restore would refuse for its size (one that only shrinks or
// keeps a workspace already over a lowered budget goes through).
func (m *Manager) PreviewRestore(ctx context.Context, ws string, doc []byte, opts *RestoreOptions) (RestorePlan, error) {
	var o RestoreOptions
	if opts != nil {
		o = *opts
	}
	if err := validWorkspace(ws); err != nil {
		return RestorePlan{}, err
	}
	e := m.event(ctx, ActionDiff, ws)
	d, entries, err := m.readBackup(ctx, e, doc, &o)
	if err != nil {
		return RestorePlan{}, err
	}
	defer clearRestore(entries)
	p, err := withFreshKey(m, ws, func() (RestorePlan, error) {
		p, _, err := m.restorePlan(ctx, ws, d, entries, o.Remove, o.SkipWithheld)
		return p, err
	})
	if err != nil {
		return RestorePlan{}, m.failed(ctx, e, err)
	}
	if err := m.mayRemove(ctx, e, p.Removed); err != nil {
		return RestorePlan{}, m.failed(ctx, e, err)
	}
	e.Detail = "restore: " + p.counts()
	changed := make([]string, len(p.Changed))
	for i, c := range p.Changed {
		changed[i] = c.Name
	}
	e.Secrets = namedSecrets(p.Added, changed, p.Unchanged, p.Removed, p.Skipped)
	if err := m.recordRead(ctx, e); err != nil {
		return RestorePlan{}, err
	}
	return p, nil
}

// Restore applies a backup document to the workspace as plan (from an
// earlier PreviewRestore of the same document) says, in one all-or-nothing
// change, audited as one ActionSet event (the authorizer is asked with
// the document's names, and with ActionDelete for the removed ones); a
// restore that changes nothing records its event too, its detail saying
// so. A plan made of another document (its Digest differs) or for
// another workspace (its Workspace differs) is refused with ErrConflict,
// changing nothing. If
// the workspace changed since the preview in any way that touches the
// plan (a secret of the document or a removed one written, added or
// deleted by someone else), Restore changes nothing and returns an error
// matching ErrConflict: preview again. opts gives the identities (its
// other fields are the plan's). It refuses what PreviewRestore refuses,
// a workspace environment over Config.MaxEnvBytes included (ErrTooLarge),
// before anything is encrypted or written. It returns the metadata of
// the secrets added and changed.
func (m *Manager) Restore(ctx context.Context, ws string, doc []byte, plan RestorePlan, opts *RestoreOptions) ([]Meta, error) {
	var o RestoreOptions
	if opts != nil {
		o = *opts
	}
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	e := m.event(ctx, ActionSet, ws)
	d, entries, err := m.readBackup(ctx, e, doc, &o)
	if err != nil {
		return nil, err
	}
	defer clearRestore(entries)
	if plan.Workspace != ws {
		return nil, m.failed(ctx, e, errPlanWorkspace("plan"))
	}
	if plan.Digest != d.digest {
		return nil, m.failed(ctx, e, errorf(ErrConflict, "the plan was made from another backup document (or names none): preview this one"))
	}
	metas, err := withFreshKey(m, ws, func() ([]Meta, error) { return m.restore(ctx, e, d, entries, &plan) })
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	return metas, nil
}

// withFreshKey runs do, and again with ws's key fetched anew, as many
// times as a write tries, while it fails for rows of another key
// generation than the key it had: a rotation or kill switch on another
// replica meanwhile. Previews (Diff, PreviewRestore, PreviewRestoreAt)
// and whole-workspace restores read this way.
func withFreshKey[T any](m *Manager, ws string, do func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := do()
		if !(errors.Is(err, ErrKeyChanged) || errors.Is(err, errStale)) || attempt >= maxAttempts {
			return v, err
		}
		m.keys.Remove(ws)
	}
}

func (p RestorePlan) counts() string {
	return fmt.Sprintf("%d added, %d changed, %d unchanged, %d removed, %d skipped",
		len(p.Added), len(p.Changed), len(p.Unchanged), len(p.Removed), len(p.Skipped))
}

// source says which document p restores, for its event: the container
// and time the document says it was made of and at (its own claim: a
// document is the caller's input), and its digest, which the Manager
// computed.
func (p RestorePlan) source() string {
	of := "another container"
	if validWorkspace(p.Source) == nil {
		of = strconv.Quote(p.Source)
	}
	return fmt.Sprintf("; a backup that says it is of %s, made %s, sha256 %.16s", of, p.Created.UTC().Format(time.RFC3339), p.Digest)
}

// maxNamed is how many names named gives.
const maxNamed = 10

// named is "; what A, B, and 3 more" (the first maxNamed of names), or
// "" for none. A restore's event lists the secrets it soft-deletes as it
// lists its writes: its detail names them, last, so that the event's
// other notes are not cut off by long names (see maxDetail).
func named(what string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	s := "; " + what + " " + strings.Join(names[:min(len(names), maxNamed)], ", ")
	if len(names) > maxNamed {
		s += ", and " + strconv.Itoa(len(names)-maxNamed) + " more"
	}
	return s
}

// restoreItem is one secret a plan concerns.
type restoreItem struct {
	entry *restoreEntry // nil for a removed secret
	cur   *Entry        // nil for an added one
	kind  string        // added, changed, unchanged, removed
	value bool          // the value changes
}

// restorePlan computes the plan of entries against the workspace's live
// and deleted secrets.
func (m *Manager) restorePlan(ctx context.Context, ws string, d *backupDoc, entries []restoreEntry, remove, skip bool) (RestorePlan, []restoreItem, error) {
	cur, err := m.allEntries(ctx, ws)
	if err != nil {
		return RestorePlan{}, nil, err
	}
	p := RestorePlan{Workspace: ws, Source: d.Container, Created: d.Created, Digest: d.digest, Encrypted: d.Encryption == encryptionAge,
		Remove: remove, Revisions: map[string]int64{}}
	if err := m.restoreFits(envAfter(cur, entries, remove)); err != nil {
		return RestorePlan{}, nil, err
	}
	// Nor a plan that Restore would refuse for the number of secrets (a
	// data-loss trial: the preview listed them, the restore failed).
	added := 0
	for i := range entries {
		// A withheld write-only value is never added: skipped, or refused
		// below with ErrWriteOnly (a review: it was counted).
		if _, ok := cur[strings.ToLower(entries[i].name)]; !ok && !entries[i].withheld {
			added++
		}
	}
	if m.cfg.MaxSecrets > 0 && added > 0 && len(cur)+added > m.cfg.MaxSecrets {
		return RestorePlan{}, nil, m.tooManySecrets("")
	}
	var items []restoreItem
	var withheld []string
	named := map[string]bool{}
	for i := range entries {
		en := &entries[i]
		key := strings.ToLower(en.name)
		named[key] = true
		c, ok := cur[key]
		if ok && (c.Name != en.name || !c.Deleted.IsZero()) {
			return RestorePlan{}, nil, &ExistsError{Name: c.Name, Deleted: !c.Deleted.IsZero()}
		}
		if en.withheld {
			withheld = append(withheld, en.name)
			p.Skipped = append(p.Skipped, en.name)
			continue
		}
		if !ok {
			items = append(items, restoreItem{entry: en, kind: "added", value: true})
			p.Added = append(p.Added, en.name)
			continue
		}
		if c.Current.WriteOnly && !en.info.WriteOnly {
			return RestorePlan{}, nil, errorf(ErrWriteOnly, "%s is write-only in the workspace but not in the backup, which cannot be undone: destroy it first", c.Name)
		}
		p.Revisions[c.Name] = c.Revision
		same, err := m.sameValue(ctx, &c, en.value)
		if err != nil {
			return RestorePlan{}, nil, err
		}
		var fields []string
		if !same {
			fields = append(fields, "value")
		}
		have := c.meta().Info
		for _, f := range []struct {
			name string
			diff bool
		}{
			{"description", have.Description != en.info.Description},
			{"expires", !have.Expires.Equal(en.info.Expires)},
			{"rotate_by", !have.RotateBy.Equal(en.info.RotateBy)},
			{"write_only", have.WriteOnly != en.info.WriteOnly},
			{"file", have.File != en.info.File},
			{"protected", have.Protected != en.info.Protected},
			{"expand", have.Expand != en.info.Expand},
		} {
			if f.diff {
				fields = append(fields, f.name)
			}
		}
		it := restoreItem{entry: en, cur: &c, kind: "unchanged", value: !same}
		if len(fields) == 0 {
			p.Unchanged = append(p.Unchanged, c.Name)
		} else {
			it.kind = "changed"
			p.Changed = append(p.Changed, RestoreChange{Name: c.Name, Fields: fields})
		}
		items = append(items, it)
	}
	if len(withheld) > 0 && !skip {
		return RestorePlan{}, nil, errorf(ErrWriteOnly, "the backup holds no value for the write-only %s (made without a recipient): restore with RestoreOptions.SkipWithheld to leave them as they are", strings.Join(withheld, ", "))
	}
	if remove {
		for key, c := range cur {
			if !named[key] && c.Deleted.IsZero() {
				items = append(items, restoreItem{cur: &c, kind: "removed"})
				p.Removed = append(p.Removed, c.Name)
				p.Revisions[c.Name] = c.Revision
			}
		}
	}
	for _, l := range []*[]string{&p.Added, &p.Unchanged, &p.Removed, &p.Skipped} {
		if *l == nil {
			*l = []string{}
		}
		slices.Sort(*l)
	}
	if p.Changed == nil {
		p.Changed = []RestoreChange{}
	}
	slices.SortFunc(p.Changed, func(a, b RestoreChange) int { return strings.Compare(a.Name, b.Name) })
	return p, items, nil
}

// envAfter returns the size of the workspace's environment, as
// Config.MaxEnvBytes counts it (the EnvSize of its live secrets, of every
// scope), once entries are restored (a withheld entry keeps what the
// workspace has; without remove the secrets the document does not name
// stay), and whether any entry grows it. The stores refuse a write that
// grows the environment past the budget, and Restore writes those that
// shrink it first: so it is refused for its size exactly when the result
// is over the budget and some entry grows.
func envAfter(cur map[string]Entry, entries []restoreEntry, remove bool) (after int64, grows bool) {
	named := make(map[string]bool, len(entries))
	for i := range entries {
		en := &entries[i]
		key := strings.ToLower(en.name)
		named[key] = true
		c, live := cur[key]
		live = live && c.Deleted.IsZero()
		switch {
		case !en.withheld:
			n := envSize(en.name, len(en.value))
			after += n
			grows = grows || !live || n > c.Current.EnvSize
		case live:
			after += c.Current.EnvSize
		}
	}
	for key, c := range cur {
		if c.Deleted.IsZero() && !remove && !named[key] {
			after += c.Current.EnvSize
		}
	}
	return after, grows
}

func samePlan(a, b RestorePlan) bool {
	return a.Remove == b.Remove && a.Digest == b.Digest && slices.Equal(a.Added, b.Added) &&
		slices.Equal(a.Removed, b.Removed) && slices.Equal(a.Skipped, b.Skipped) && maps.Equal(a.Revisions, b.Revisions) &&
		maps.EqualFunc(fieldsOf(a), fieldsOf(b), slices.Equal)
}

// fieldsOf is, for each secret of p that the document names and the
// workspace has, the fields that would change but its value: whether the
// value would is not part of a plan's identity, as in sameDiff (a Restore
// sent a plan of the caller's making would tell whether a guess of a value
// is right).
func fieldsOf(p RestorePlan) map[string][]string {
	out := make(map[string][]string, len(p.Changed)+len(p.Unchanged))
	for _, n := range p.Unchanged {
		out[n] = nil
	}
	for _, c := range p.Changed {
		out[c.Name] = slices.DeleteFunc(slices.Clone(c.Fields), func(f string) bool { return f == "value" })
	}
	return out
}

// restore writes the plan as one change, if the workspace still gives
// want.
func (m *Manager) restore(ctx context.Context, e *Event, d *backupDoc, entries []restoreEntry, want *RestorePlan) ([]Meta, error) {
	ws := e.Workspace
	// With Remove the workspace must become the document: its writes hold
	// to its state before the plan's reads (Write.ExpectState), so that a
	// secret created meanwhile, which no write names, fails the restore.
	var before int64
	var err error
	if want.Remove {
		if before, err = m.workspaceState(ctx, ws); err != nil {
			return nil, err
		}
	}
	p, items, err := m.restorePlan(ctx, ws, d, entries, want.Remove, len(want.Skipped) > 0)
	if err != nil {
		return nil, err
	}
	if !samePlan(p, *want) {
		return nil, errorf(ErrConflict, "the workspace changed since the preview: preview again")
	}
	if err := m.mayRemove(ctx, e, p.Removed); err != nil {
		return nil, err
	}
	var k *dataKey
	if len(p.Added)+len(p.Changed) > 0 {
		if k, err = m.writeKey(ctx, ws, nil); err != nil {
			return nil, err
		}
	}
	now, actor := m.now(), ActorFrom(ctx)
	audit := *e
	audit.Time, audit.Secrets = now, nil
	var flags flagNotes
	var writes []Write
	var curs []*Entry
	metas := []Meta{}
	for _, it := range items {
		var w Write
		switch it.kind {
		case "unchanged":
			w = Write{Entry: *it.cur, Expect: it.cur.Revision, Check: true}
		case "removed":
			ne := *it.cur
			ne.Revision++
			ne.Updated, ne.UpdatedBy, ne.Deleted, ne.DeletedBy = now, actor, now, actor
			w = Write{Entry: ne, Expect: it.cur.Revision}
			audit.Secrets = append(audit.Secrets, EventSecret{Name: ne.Name, Version: ne.Current.Version, Fingerprint: ne.Current.Fingerprint})
		default:
			if w, err = m.restoreWrite(ctx, ws, k, it, now, actor); err != nil {
				return nil, err
			}
			if w.NewVersion {
				written(&audit, w.Entry.Current)
			} else {
				audit.Secrets = append(audit.Secrets, EventSecret{Name: w.Entry.Name, Version: w.Entry.Current.Version, Fingerprint: w.Entry.Current.Fingerprint})
			}
			if it.cur != nil {
				flags.add(w.Entry.Name, it.cur.Current, w.Entry.Current)
			}
			metas = append(metas, w.Entry.meta())
		}
		w.Keep, w.MaxEnvBytes = m.cfg.KeepVersions, max(m.cfg.MaxEnvBytes, 0)
		writes, curs = append(writes, w), append(curs, it.cur)
	}
	slices.SortFunc(metas, func(a, b Meta) int { return strings.Compare(a.Name, b.Name) })
	shrinkFirst(writes, curs)
	audit.Detail = truncateUTF8(flags.detail("restore: "+p.counts()+p.source())+named("removed", p.Removed), maxDetail)
	if len(p.Added)+len(p.Changed)+len(p.Removed) == 0 {
		if err := m.recordNoop(ctx, &audit, "restore, nothing changed: "+p.counts()); err != nil {
			return nil, err
		}
		return metas, nil
	}
	writes[0].CheckState, writes[0].ExpectState = want.Remove, before
	if err := m.putAll(ctx, writes, &audit, "the workspace changed while the backup was restored"); err != nil {
		return nil, err
	}
	return metas, nil
}

// restoreFits refuses a restore that would make the workspace's
// environment take after bytes, over Config.MaxEnvBytes, while it adds or
// grows a secret (grows): one that only shrinks, or keeps a workspace
// already over a lowered budget, goes through.
func (m *Manager) restoreFits(after int64, grows bool) error {
	if m.cfg.MaxEnvBytes > 0 && after > m.cfg.MaxEnvBytes && grows {
		return errorf(ErrTooLarge, "the restore would make the workspace environment take %d bytes, over the %d allowed (Config.MaxEnvBytes)", after, m.cfg.MaxEnvBytes)
	}
	return nil
}

// shrinkFirst orders writes (each replacing the entry of curs at its
// index, nil for none) so that those that shrink the workspace's
// environment go first, then those that grow it least: the stores check
// Config.MaxEnvBytes write by write, and a change that fits as a whole
// was refused halfway by the order of its writes (a data-loss trial:
// values swapped between two secrets by Import, Apply or RestoreAt).
func shrinkFirst(writes []Write, curs []*Entry) {
	order := make([]int, len(writes))
	deltas := make([]int64, len(writes))
	for i := range writes {
		order[i], deltas[i] = i, envDelta(writes[i], curs[i])
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(deltas[a], deltas[b]) })
	sorted := make([]Write, len(writes))
	for i, j := range order {
		sorted[i] = writes[j]
	}
	copy(writes, sorted)
}

// envDelta is what w, replacing cur (nil: none), changes of the
// workspace's environment size.
func envDelta(w Write, cur *Entry) int64 {
	var d int64
	if w.Entry.Deleted.IsZero() {
		d = w.Entry.Current.EnvSize
	}
	if cur != nil && cur.Deleted.IsZero() {
		d -= cur.Current.EnvSize
	}
	return d
}

// restoreWrite makes the write of an added or changed secret: its Info,
// its flags (re-encrypting the retained versions if they change) and, if
// the value differs, a new version.
func (m *Manager) restoreWrite(ctx context.Context, ws string, k *dataKey, it restoreItem, now time.Time, actor string) (Write, error) {
	en := it.entry
	var ne Entry
	if it.cur == nil {
		ne = Entry{Workspace: ws, SecretID: newSecretID(), Name: en.name, Created: now, CreatedBy: actor}
	} else {
		ne = *it.cur
	}
	ne.Revision++
	ne.Updated, ne.UpdatedBy = now, actor
	setInfo(&ne, en.info)
	w := Write{KeyGen: k.gen}
	if it.cur != nil {
		w.Expect = it.cur.Revision
		if err := m.mayUnprotect(ctx, it.cur, en.info); err != nil {
			return Write{}, err
		}
		if flagsDiffer(it.cur.Current, en.info) {
			current := it.cur.Current.Version // keeps en.info's flags, as SetInfo's
			if it.value {
				current = 0 // older than the new version, as Set's
			}
			reseal, err := m.reseal(ctx, it.cur, k, reflag(en.info, current))
			if err != nil {
				return Write{}, err
			}
			w.Reseal = reseal
			ne.Current = reseal[len(reseal)-1]
		}
	}
	if it.value {
		v := Version{Workspace: ne.Workspace, SecretID: ne.SecretID, Version: ne.Current.Version + 1, Name: ne.Name,
			WriteOnly: en.info.WriteOnly, File: en.info.File, Protected: en.info.Protected, Expand: en.info.Expand, EnvSize: envSize(ne.Name, len(en.value)),
			Fingerprint: m.Fingerprint(en.value), Written: now, WrittenBy: actor}
		if err := k.seal(&v, en.value); err != nil {
			return Write{}, err
		}
		ne.Current = v
		w.NewVersion = true
	}
	w.Entry = ne
	return w, nil
}
