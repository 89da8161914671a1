package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A RestoreAtPlan is what restoring a workspace to how it was at a time
// would change, by name and version; it never holds a value. RestoreAt
// applies exactly this plan.
type RestoreAtPlan struct {
	// Workspace is the workspace the plan was made for: RestoreAt
	// refuses it for any other, and a plan that names none (ErrConflict).
	Workspace string `json:"workspace"`
	// At is the time restored to, in UTC at microsecond precision.
	At time.Time `json:"at"`
	// Versions are the live secrets whose current version is not the one
	// current at At: each gets a new version with the value of To.
	Versions []RestoreAtChange `json:"versions"`
	// Undeleted are the soft-deleted secrets that were live at At:
	// undeleted, with a new version with the value of To if From differs.
	Undeleted []RestoreAtChange `json:"undeleted"`
	// Deleted are the live secrets that were not live at At (created
	// after it, or soft-deleted at the time): soft-deleted.
	Deleted []string `json:"deleted"`
	// Unchanged are the secrets already as they were at At (live at the
	// same version, or soft-deleted and not live at At). A write-only
	// secret at another version is never listed here: its values are
	// not compared, so it gets a new version.
	Unchanged []string `json:"unchanged"`
	// Unrestorable are the secrets live at At that cannot be brought back
	// as they were, and why: left as they are.
	Unrestorable []Unrestorable `json:"unrestorable"`
	// Renamed are the secrets whose name at At differs from their name
	// now: a restore does not undo renames; they keep their current names.
	Renamed []RestoreAtRename `json:"renamed"`
	// Revisions are the revisions of the workspace's secrets the plan was
	// computed from, by name: RestoreAt refuses if any of them changed.
	Revisions map[string]int64 `json:"revisions"`
}

// A RestoreAtChange is a secret a point-in-time restore gives a version:
// From is its current version, To the version current at the time
// restored to, whose value the new version gets.
type RestoreAtChange struct {
	Name string `json:"name"`
	From int64  `json:"from"`
	To   int64  `json:"to"`
	// Protects says that the secret, not protected now, becomes
	// protected: version To was sealed protected (see
	// VersionMeta.Protected), and a version sealed protected stays so.
	Protects bool `json:"protects,omitempty"`
}

// A RestoreAtRename is a secret called Was at the time restored to and
// Name now.
type RestoreAtRename struct {
	Name string `json:"name"`
	Was  string `json:"was"`
}

// An Unrestorable is a secret, live at the time restored to, that a
// point-in-time restore cannot bring back, with Version the version
// current then and Reason one of:
//
//   - "pruned": that version is no longer retained (Config.KeepVersions);
//   - "destroyed": the secret was destroyed (by Destroy, by Purge after
//     Config.DeleteRetention, or with its workspace); Name is its name at
//     the time;
//   - "untracked": the secret existed then, but the ledger no longer
//     reaches back that far (Purge dropped its entries with old events),
//     so what it delivered is unknown (Version is 0).
type Unrestorable struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
	Reason  string `json:"reason"`
}

// The reasons of an Unrestorable.
const (
	UnrestorablePruned    = "pruned"
	UnrestorableDestroyed = "destroyed"
	UnrestorableUntracked = "untracked"
)

// PreviewRestoreAt computes, changing nothing, the plan that [Manager.RestoreAt]
// would apply to make the workspace deliver what it delivered at time at:
// for each secret, the version current then (the Store's ledger says
// which version each secret delivered from each change on, with the time
// of the change), live or soft-deleted as then. A secret whose current
// value is the one it had then (an earlier restore made a new version
// with it) is unchanged: the two versions are compared inside the
// Manager, by fingerprint or decrypted, and nothing of either is shown.
// A write-only value is never compared (else a preview would tell
// whether a guess set as the value equals the value then): a secret
// write-only now or in the version then, at another version than then,
// always gets a new version with the value then.
//
// Only what a job receives is restored: which secrets are live, and the
// value each delivers. A restore does not undo renames (listed in
// Renamed), nor changes of description, expiry, rotation date or flags,
// which keep their current settings (a restored value takes the current
// write-only and file flags, as with Rollback). What cannot be restored
// is listed in Unrestorable and left as it is: a version pruned by
// Config.KeepVersions, a destroyed secret (Destroy, Purge), a secret
// whose ledger entries Purge dropped.
//
// It is authorized and audited as ActionDiff, as PreviewRestore is: it
// shows names and version numbers, no value, but Unchanged tells whether
// a secret's value now is its value then. It returns ErrInvalidTime for a zero at,
// an error matching errors.ErrUnsupported if the Store is not a
// [LedgerStore], and ErrTooLarge for a restore that would make the
// workspace's environment larger than Config.MaxEnvBytes while it
// undeletes or grows a secret: no plan is made that RestoreAt would
// refuse for its size.
func (m *Manager) PreviewRestoreAt(ctx context.Context, ws string, at time.Time) (RestoreAtPlan, error) {
	if err := validWorkspace(ws); err != nil {
		return RestoreAtPlan{}, err
	}
	// ActionDiff, as PreviewRestore: Unchanged tells whether a secret's
	// value now is its value then.
	e := m.event(ctx, ActionDiff, ws)
	if err := m.authorize(ctx, e); err != nil {
		return RestoreAtPlan{}, err
	}
	p, err := withFreshKey(m, ws, func() (RestoreAtPlan, error) {
		p, _, err := m.restoreAtPlan(ctx, ws, at)
		return p, err
	})
	if err != nil {
		return RestoreAtPlan{}, m.failed(ctx, e, err)
	}
	e.Detail = "restore preview: " + p.counts()
	var changed []string
	for _, l := range [][]RestoreAtChange{p.Versions, p.Undeleted} {
		for _, c := range l {
			changed = append(changed, c.Name)
		}
	}
	e.Secrets = namedSecrets(changed, p.Deleted, p.Unchanged)
	if err := m.recordRead(ctx, e); err != nil {
		return RestoreAtPlan{}, err
	}
	return p, nil
}

// RestoreAt applies plan, from an earlier PreviewRestoreAt of the
// workspace, in one all-or-nothing change audited as one ActionSet event
// (the authorizer is asked ActionSet and ActionDiff first, as the
// preview it applies was, then ActionSet with the names given versions or
// undeleted, and ActionDelete with the deleted ones); a restore that changes
// nothing records its event too, its detail saying so. Values come back as new
// versions, so the history is kept and another restore can undo this
// one; each with the secret's current flags, and protected if it was
// sealed protected, as Rollback's. If the workspace changed since the preview in any way that
// touches the plan (a secret written, added, deleted or destroyed by
// someone else, a version pruned), RestoreAt changes nothing and returns
// an error matching ErrConflict: preview again; so it does for a plan
// made for another workspace (RestoreAtPlan.Workspace). It returns
// ErrTooLarge, changing nothing, if the restore would grow the
// workspace's environment past Config.MaxEnvBytes (an undeleted secret,
// or a value brought back longer than the current one), a *DecryptError,
// changing nothing, for a secret whose retained versions are not sealed
// under its row's secret ID and name (rows changed with SQL), and
// otherwise the metadata of the secrets it gave versions or undeleted.
func (m *Manager) RestoreAt(ctx context.Context, ws string, plan RestoreAtPlan) ([]Meta, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	e := m.event(ctx, ActionSet, ws)
	// Asked first, so that a refused caller learns nothing of its plan
	// (the names it sets and deletes are asked about once it is checked).
	if err := m.authorize(ctx, e); err != nil {
		return nil, err
	}
	// It compares the workspace now with then as its preview does, and
	// its answer to a plan of the caller's making (ErrConflict or not)
	// would tell whether a value now is the value then: ActionDiff too.
	de := *e
	de.Action = ActionDiff
	if err := m.authorize(ctx, &de); err != nil {
		return nil, err
	}
	if plan.Workspace != ws {
		return nil, m.failed(ctx, e, errPlanWorkspace("plan"))
	}
	metas, err := withFreshKey(m, ws, func() ([]Meta, error) { return m.restoreAt(ctx, e, &plan) })
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	return metas, nil
}

func (p RestoreAtPlan) counts() string {
	return fmt.Sprintf("to %s: %d new versions, %d undeleted, %d deleted, %d unchanged, %d unrestorable",
		p.At.Format(time.RFC3339Nano), len(p.Versions), len(p.Undeleted), len(p.Deleted), len(p.Unchanged), len(p.Unrestorable))
}

// restoreAtItem is one secret of the workspace and what a restore does
// to it.
type restoreAtItem struct {
	cur  Entry
	kind string // version, undelete, delete, keep
	to   int64  // the version whose value a new version gets (0: none)
}

// restoreAtPlan computes the plan of a restore of ws to at, with the
// workspace's secrets and what it does to each.
func (m *Manager) restoreAtPlan(ctx context.Context, ws string, at time.Time) (RestoreAtPlan, []restoreAtItem, error) {
	ls, ok := m.store.(LedgerStore)
	if !ok {
		return RestoreAtPlan{}, nil, errorf(errors.ErrUnsupported, "restore at a time: the %T store cannot read its ledger", m.store)
	}
	if at.IsZero() {
		return RestoreAtPlan{}, nil, errorf(ErrInvalidTime, "restore at a time: no time given")
	}
	at = at.UTC().Truncate(time.Microsecond)
	ledger, err := ls.LedgerAt(ctx, ws, at)
	if err != nil {
		return RestoreAtPlan{}, nil, err
	}
	then := make(map[string]LedgerEntry, len(ledger))
	for _, l := range ledger {
		then[l.SecretID] = l
	}
	var cur []Entry
	for _, deleted := range []bool{false, true} {
		for after := ""; ; {
			es, err := m.store.List(ctx, ws, ListQuery{After: after, Deleted: deleted, Limit: maxPage})
			if err != nil {
				return RestoreAtPlan{}, nil, err
			}
			cur = append(cur, es...)
			if len(es) < maxPage {
				break
			}
			after = es[len(es)-1].Name
		}
	}
	p := RestoreAtPlan{Workspace: ws, At: at, Versions: []RestoreAtChange{}, Undeleted: []RestoreAtChange{}, Deleted: []string{},
		Unchanged: []string{}, Unrestorable: []Unrestorable{}, Renamed: []RestoreAtRename{}, Revisions: map[string]int64{}}
	var items []restoreAtItem
	exists := map[string]bool{}
	var after int64 // the environment's size once restored
	grows := false
	for _, c := range cur {
		exists[c.SecretID] = true
		p.Revisions[c.Name] = c.Revision
		l, known := then[c.SecretID]
		live := c.Deleted.IsZero()
		it := restoreAtItem{cur: c, kind: "keep"}
		size := c.Current.EnvSize // of the value the secret has once restored
		switch {
		case !known && !c.Created.After(at):
			p.Unrestorable = append(p.Unrestorable, Unrestorable{Name: c.Name, Reason: UnrestorableUntracked})
		case !known || l.Version == 0:
			if live {
				it.kind = "delete"
				p.Deleted = append(p.Deleted, c.Name)
			} else {
				p.Unchanged = append(p.Unchanged, c.Name)
			}
		default:
			if l.Name != c.Name {
				p.Renamed = append(p.Renamed, RestoreAtRename{Name: c.Name, Was: l.Name})
			}
			protects := false
			if l.Version != c.Current.Version {
				hist, err := m.store.History(ctx, ws, c.SecretID)
				if err != nil {
					return RestoreAtPlan{}, nil, err
				}
				i := slices.IndexFunc(hist, func(v Version) bool { return v.Version == l.Version })
				if i < 0 {
					p.Unrestorable = append(p.Unrestorable, Unrestorable{Name: c.Name, Version: l.Version, Reason: UnrestorablePruned})
					break
				}
				// A write-only value is never compared, now or at the
				// time: the plan would tell whether it equals another.
				same := false
				if !c.Current.WriteOnly && !hist[0].WriteOnly && !hist[i].WriteOnly {
					if same, err = m.sameVersions(ctx, &c, &hist[0], &hist[i]); err != nil {
						return RestoreAtPlan{}, nil, err
					}
				}
				if !same {
					it.to, size = l.Version, hist[i].EnvSize
					protects = restoredProtected(c.Current, hist[i]) && !c.Current.Protected
				}
			}
			change := RestoreAtChange{Name: c.Name, From: c.Current.Version, To: c.Current.Version, Protects: protects}
			if it.to != 0 {
				change.To = it.to
			}
			switch {
			case !live:
				it.kind = "undelete"
				p.Undeleted = append(p.Undeleted, change)
			case it.to != 0:
				it.kind = "version"
				p.Versions = append(p.Versions, change)
			default:
				p.Unchanged = append(p.Unchanged, c.Name)
			}
		}
		switch it.kind {
		case "keep":
			if live {
				after += size
			}
		case "undelete", "version":
			after += size
			grows = grows || !live || size > c.Current.EnvSize
		}
		items = append(items, it)
	}
	// No plan that RestoreAt would refuse for its size (a data-loss trial:
	// a version pruned stays at its current size, undeleted secrets grow
	// the total, and the apply failed).
	if err := m.restoreFits(after, grows); err != nil {
		return RestoreAtPlan{}, nil, err
	}
	for _, l := range ledger {
		if l.Version > 0 && !exists[l.SecretID] {
			p.Unrestorable = append(p.Unrestorable, Unrestorable{Name: l.Name, Version: l.Version, Reason: UnrestorableDestroyed})
		}
	}
	byName := func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }
	for _, l := range [][]RestoreAtChange{p.Versions, p.Undeleted} {
		slices.SortFunc(l, func(a, b RestoreAtChange) int { return byName(a.Name, b.Name) })
	}
	slices.SortFunc(p.Deleted, byName)
	slices.SortFunc(p.Unchanged, byName)
	slices.SortFunc(p.Renamed, func(a, b RestoreAtRename) int { return byName(a.Name, b.Name) })
	slices.SortFunc(p.Unrestorable, func(a, b Unrestorable) int {
		return cmpOr(byName(a.Name, b.Name), strings.Compare(a.Reason, b.Reason))
	})
	return p, items, nil
}

// sameVersions reports whether versions a and b of c hold the same value
// (a restore that already happened made a new version with an old value).
// Their fingerprints decide if both have one; otherwise they are
// decrypted and compared, and neither value leaves this function.
func (m *Manager) sameVersions(ctx context.Context, c *Entry, a, b *Version) (bool, error) {
	if len(a.Fingerprint) > 0 && len(b.Fingerprint) > 0 {
		return bytes.Equal(a.Fingerprint, b.Fingerprint), nil
	}
	if a.EnvSize != b.EnvSize {
		return false, nil
	}
	var ps [2][]byte
	defer func() { clear(ps[0]); clear(ps[1]) }()
	for i, v := range []*Version{a, b} {
		k, err := m.keyFor(ctx, c.Workspace, v.KeyGen)
		if errors.Is(err, errStale) {
			return false, &failure{class: ErrKeyChanged, msg: "the workspace key changed"}
		}
		if err != nil {
			return false, err
		}
		if ps[i], err = k.open(v); err != nil {
			return false, &DecryptError{Workspace: c.Workspace, Names: []string{c.Name + " version " + itoa(v.Version)}}
		}
	}
	return bytes.Equal(ps[0], ps[1]), nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// sameRestoreAtPlan compares plans as their JSON says them.
func sameRestoreAtPlan(a, b RestoreAtPlan) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// restoreAt writes the plan as one change, if the workspace still gives
// want.
func (m *Manager) restoreAt(ctx context.Context, e *Event, want *RestoreAtPlan) ([]Meta, error) {
	ws := e.Workspace
	// The workspace's state before the plan is made again: the writes
	// apply only if it has not moved since (Write.ExpectState), so that a
	// secret created after these reads, which no write of the plan checks,
	// fails the restore instead of staying live.
	before, err := m.workspaceState(ctx, ws)
	if err != nil {
		return nil, err
	}
	p, items, err := m.restoreAtPlan(ctx, ws, want.At)
	if err != nil {
		return nil, err
	}
	if !sameRestoreAtPlan(p, *want) {
		return nil, errorf(ErrConflict, "the workspace changed since the preview: preview again")
	}
	var set []string
	for _, l := range [][]RestoreAtChange{p.Versions, p.Undeleted} {
		for _, c := range l {
			set = append(set, c.Name)
		}
	}
	if err := m.authorize(ctx, e, set...); err != nil {
		return nil, err
	}
	if err := m.mayRemove(ctx, e, p.Deleted); err != nil {
		return nil, err
	}
	if len(set)+len(p.Deleted) == 0 {
		audit := *e
		audit.Time = m.now()
		if err := m.recordNoop(ctx, &audit, "restore, nothing changed: "+p.counts()); err != nil {
			return nil, err
		}
		return []Meta{}, nil
	}
	var k *dataKey
	if len(p.Versions) > 0 || slices.ContainsFunc(p.Undeleted, func(c RestoreAtChange) bool { return c.From != c.To }) {
		if k, err = m.writeKey(ctx, ws, nil); err != nil {
			return nil, err
		}
	}
	now, actor := m.now(), ActorFrom(ctx)
	audit := *e
	audit.Time, audit.Secrets = now, nil
	var flags flagNotes
	writes := make([]Write, 0, len(items))
	curs := make([]*Entry, 0, len(items))
	metas := []Meta{}
	for _, it := range items {
		if it.kind == "keep" {
			writes, curs = append(writes, Write{Entry: it.cur, Expect: it.cur.Revision, Check: true}), append(curs, &it.cur)
			continue
		}
		ne := it.cur
		ne.Revision++
		ne.Updated, ne.UpdatedBy = now, actor
		w := Write{Expect: it.cur.Revision, Keep: m.cfg.KeepVersions, MaxEnvBytes: max(m.cfg.MaxEnvBytes, 0)}
		switch it.kind {
		case "delete":
			ne.Deleted, ne.DeletedBy = now, actor
		case "undelete":
			ne.Deleted, ne.DeletedBy = time.Time{}, ""
		}
		if it.to != 0 {
			v, err := m.restoredVersion(ctx, k, &it.cur, it.to, now, actor)
			if err != nil {
				return nil, err
			}
			ne.Current, w.NewVersion, w.KeyGen = v, true, k.gen
		}
		w.Entry = ne
		if w.NewVersion {
			written(&audit, ne.Current)
		} else {
			audit.Secrets = append(audit.Secrets, EventSecret{Name: ne.Name, Version: ne.Current.Version, Fingerprint: ne.Current.Fingerprint})
		}
		flags.add(ne.Name, it.cur.Current, ne.Current)
		if it.kind != "delete" {
			metas = append(metas, ne.meta())
		}
		writes, curs = append(writes, w), append(curs, &it.cur)
	}
	slices.SortFunc(metas, func(a, b Meta) int { return strings.Compare(a.Name, b.Name) })
	shrinkFirst(writes, curs)
	writes[0].CheckState, writes[0].ExpectState = true, before
	audit.Detail = truncateUTF8(flags.detail("restore "+p.counts())+named("deleted", p.Deleted), maxDetail)
	if err := m.putAll(ctx, writes, &audit, "the workspace changed while it was restored"); err != nil {
		return nil, err
	}
	return metas, nil
}

// restoredVersion makes the version after cur's current one with the
// value of its retained version n, as Rollback does.
func (m *Manager) restoredVersion(ctx context.Context, k *dataKey, cur *Entry, n int64, now time.Time, actor string) (Version, error) {
	hist, err := m.store.History(ctx, cur.Workspace, cur.SecretID)
	if err != nil {
		return Version{}, err
	}
	i := slices.IndexFunc(hist, func(v Version) bool { return v.Version == n })
	if i < 0 {
		return Version{}, errorf(ErrConflict, "%s: version %d is no longer retained: preview again", cur.Name, n)
	}
	if hist[i].KeyGen != k.gen || hist[0].KeyGen != k.gen {
		return Version{}, errStale
	}
	if hist[0].Version != cur.Current.Version {
		return Version{}, errorf(ErrConflict, "%s changed since the preview: preview again", cur.Name)
	}
	return m.versionOf(k, cur, hist, i, now, actor)
}
