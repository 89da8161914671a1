package secrets

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/dataspace/secrets/internal/expand"
)

// MaxReferenceDepth bounds how deep ${NAME} references nest (see
// Info.Expand): a value that references one that references another, and
// so on. A deeper chain is a *[ReferenceError] of kind ReferenceDepth.
const MaxReferenceDepth = 8

// The expander's bound is MaxReferenceDepth: this fails to compile if
// they differ.
const _ = uint(MaxReferenceDepth-expand.MaxDepth) + uint(expand.MaxDepth-MaxReferenceDepth)

// References returns the names value references with ${NAME} (see
// Info.Expand), each once, in the order of their first reference: what an
// editor shows beside a value that opts in to expansion. It reads the
// syntax only; whether the names exist is Set's Meta.Undefined.
func References(value []byte) []string { return expand.Refs(string(value)) }

// The kinds of a [ReferenceError].
const (
	// ReferenceUnknown: a reference to a name the job does not get (no
	// secret of that name, one its environment or protection does not
	// resolve to, or one Config.Withhold keeps from it).
	ReferenceUnknown = "unknown"
	// ReferenceCycle: references that come back to where they started.
	ReferenceCycle = "cycle"
	// ReferenceDepth: references nested deeper than MaxReferenceDepth.
	ReferenceDepth = "depth"
	// ReferenceSize: an expanded value over MaxEnvString, or a job's
	// environment over Config.MaxEnvBytes once expanded (64 MiB if
	// MaxEnvBytes is negative; the job's raw environment if larger), the
	// values expanded only as ingredients counted too. Expansion stops
	// there: it never builds more.
	ReferenceSize = "size"
	// ReferenceNearer: a parent's value that references a name whose
	// secret for the job is at a nearer level (the workspace's own, or a
	// level between), which only Config.ReferNearer allows: whoever
	// edits a parent must not receive its children's secrets through
	// their jobs. Names are the secret that holds the reference and the
	// name it references.
	ReferenceNearer = "nearer"
)

// A ReferenceError is a ${NAME} reference that cannot be expanded: a job
// that meets one gets nothing, and Set and SetInfo refuse a value whose
// references form a cycle. It names secrets and the names a value
// references (the text between ${ and }), never the rest of a value, and
// matches [ErrReference].
type ReferenceError struct {
	// Kind is ReferenceUnknown, ReferenceCycle, ReferenceDepth,
	// ReferenceSize or ReferenceNearer.
	Kind string
	// Names are the secrets concerned, as variables: for ReferenceUnknown
	// the secret that holds the reference (if known) and the name it
	// references; for a cycle or depth the chain, in order; for a size
	// the secret; for ReferenceNearer the secret that holds the
	// reference and the name it references. A cycle refused by Set or
	// SetInfo is named only as far as the values of the workspace written
	// to hold it (the value given included): the chain stops before the
	// first reference inside a parent's value, and does not end with its
	// first name again. A job's cycle or depth chain stops at the first
	// secret that is not the workspace's own (a parent's), which it
	// names: the references inside that value are not named. Either way
	// Trimmed is set and Error says "…" for the rest.
	Names []string
	// Trimmed says that Names stop before the end of the chain: the rest
	// is inside a parent's value, which the reader may not see.
	Trimmed bool
}

// Error names the secrets and referenced names, never the rest of a value.
func (e *ReferenceError) Error() string {
	switch e.Kind {
	case ReferenceUnknown:
		if len(e.Names) == 2 {
			return fmt.Sprintf("secrets: %s references ${%s}, which the job does not get", e.Names[0], e.Names[1])
		}
		return fmt.Sprintf("secrets: a reference to ${%s}, which the job does not get", strings.Join(e.Names, ""))
	case ReferenceCycle:
		if n := len(e.Names); n > 0 && (e.Trimmed || n == 1 || e.Names[n-1] != e.Names[0]) {
			// Only the start of the chain is known: the rest is inside
			// values the reader may not see.
			return "secrets: references form a cycle: " + strings.Join(e.Names, " → ") + " → … → " + e.Names[0]
		}
		return "secrets: references form a cycle: " + strings.Join(e.Names, " → ")
	case ReferenceDepth:
		rest := ""
		if e.Trimmed {
			rest = " → …"
		}
		return fmt.Sprintf("secrets: references nest deeper than %d: %s%s", MaxReferenceDepth, strings.Join(e.Names, " → "), rest)
	case ReferenceNearer:
		if len(e.Names) == 2 {
			return fmt.Sprintf("secrets: %s references ${%s}, which a nearer level defines for the job: a parent's value may not take it (Config.ReferNearer)", e.Names[0], e.Names[1])
		}
		return "secrets: a reference to a nearer level's secret (Config.ReferNearer)"
	}
	return fmt.Sprintf("secrets: %s would expand over the size limits", strings.Join(e.Names, ", "))
}

// Is makes a ReferenceError match ErrReference.
func (e *ReferenceError) Is(target error) bool { return target == ErrReference }

// referenceError converts an error of package expand. own, if not nil,
// says whether a name is the workspace's own secret for the job: a cycle
// or depth chain stops at the first that is not (see ownPart).
func referenceError(err error, own func(string) bool) error {
	var (
		u *expand.UnknownError
		c *expand.CycleError
		d *expand.DepthError
		s *expand.SizeError
		t *expand.TotalError
		n *expand.NearerError
	)
	switch {
	case errors.As(err, &u):
		if u.Name == "" {
			return &ReferenceError{Kind: ReferenceUnknown, Names: []string{u.Ref}}
		}
		return &ReferenceError{Kind: ReferenceUnknown, Names: []string{u.Name, u.Ref}}
	case errors.As(err, &c):
		names, trimmed := ownPart(c.Chain, own)
		return &ReferenceError{Kind: ReferenceCycle, Names: names, Trimmed: trimmed}
	case errors.As(err, &d):
		names, trimmed := ownPart(d.Chain, own)
		return &ReferenceError{Kind: ReferenceDepth, Names: names, Trimmed: trimmed}
	case errors.As(err, &n):
		return &ReferenceError{Kind: ReferenceNearer, Names: []string{n.Name, n.Ref}}
	case errors.As(err, &s):
		return &ReferenceError{Kind: ReferenceSize, Names: []string{s.Name}}
	case errors.As(err, &t):
		return envOverBudget()
	}
	return err
}

// ownPart is chain up to its first secret that own says is not the
// workspace's (a parent's: named, as the value before it references it,
// but not the references inside it), and whether that left some out.
// own nil: the whole chain (a job of one level).
func ownPart(chain []string, own func(string) bool) ([]string, bool) {
	if own == nil {
		return chain, false
	}
	for i, name := range chain {
		if !own(name) && i+1 < len(chain) {
			return chain[:i+1], true
		}
	}
	return chain, false
}

// envOverBudget is the error of a job's environment over its budget once
// expanded (see expandBudget).
func envOverBudget() error {
	return &ReferenceError{Kind: ReferenceSize, Names: []string{"the job's environment"}}
}

// maxExpandUnlimited bounds a job's expansion when Config.MaxEnvBytes is
// negative (no limit): 64 MiB, or the job's raw environment if larger.
const maxExpandUnlimited = 64 << 20

// expandBudget is the most bytes a job whose environment takes raw bytes
// before expansion may have after it, and the most its expansion may
// build: Config.MaxEnvBytes (maxExpandUnlimited if negative), or raw if
// larger (a job of several levels may be over it already, which expansion
// does not make an error). Every value an expansion builds counts once,
// an ingredient's the job does not get included: expansion holds no more
// than the budget whatever an editor saves (many small values that
// each reference one large one made it build gigabytes before the check).
func (m *Manager) expandBudget(raw int) int {
	limit := int64(maxExpandUnlimited)
	if m.cfg.MaxEnvBytes > 0 {
		limit = m.cfg.MaxEnvBytes
	}
	return int(min(max(limit, int64(raw)), math.MaxInt))
}

// expandItems replaces, in r.items, the value of each delivered secret
// that opted in (Info.Expand) with its expansion over the values of the
// read: the secrets the job gets, and the extra items read to be
// ingredients only. events, if not nil, is parallel to r.items (a job
// with levels) and is kept so. Extra items that went into an expansion
// leave r.items for r.masks (the job's output masks them) and their
// events are marked Ingredient; the others are dropped. sorted says that
// r.items are sorted by name.
//
// It returns the events (events, or nil) and the ingredients: every
// secret whose value went into an expansion, for Config.Authorize.
func (m *Manager) expandItems(r *envRead, events []EventSecret, sorted bool) ([]EventSecret, []EventSecret, error) {
	if !slices.ContainsFunc(r.items, func(it envItem) bool { return it.expand && !it.extra }) {
		return m.dropExtra(r, events, nil), nil, nil
	}
	expanded, raw := 0, 0
	for _, it := range r.items {
		if it.expand {
			expanded++
		}
		if !it.extra {
			raw += len(it.kv) + 1
		}
	}
	budget := m.expandBudget(raw)
	var x *expand.Expander
	var own func(string) bool // nil: every secret is the workspace's
	if sorted {
		// The single-level read's items, sorted: found by binary search.
		items := r.items
		x = expand.NewFunc(func(name string) (expand.Secret, bool) {
			lo, hi := 0, len(items)
			for lo < hi {
				h := int(uint(lo+hi) >> 1)
				if items[h].kv[:items[h].nameLen] < name {
					lo = h + 1
				} else {
					hi = h
				}
			}
			if lo == len(items) || items[lo].name() != name {
				return expand.Secret{}, false
			}
			return expand.Secret{Value: items[lo].value(), Expand: items[lo].expand}, true
		}, MaxEnvString, budget, expanded)
	} else {
		pool := make(map[string]expand.Secret, len(r.items))
		for _, it := range r.items {
			pool[it.name()] = expand.Secret{Value: it.value(), Expand: it.expand, Level: it.level}
		}
		x = expand.New(pool, MaxEnvString, budget)
		own = func(name string) bool { return pool[name].Level == 0 }
	}
	x.AllowNearer = m.cfg.ReferNearer
	// Every expansion first (the items keep their raw values meanwhile),
	// then their "NAME=value" strings cut from one string, as the read's.
	// The environment is over budget as soon as the part of it counted so
	// far is: it stops there, with no more expanded.
	values := make([]string, len(r.items))
	size, total := 0, 0
	for i, it := range r.items {
		if it.expand && !it.extra {
			v, err := x.Value(it.name())
			if err != nil {
				return nil, nil, referenceError(err, own)
			}
			if len(it.name())+1+len(v) > MaxEnvString {
				return nil, nil, &ReferenceError{Kind: ReferenceSize, Names: []string{it.name()}}
			}
			values[i] = v
			size += len(it.name()) + 1 + len(v)
			total += len(it.name()) + 2 + len(v)
		} else if !it.extra {
			total += len(it.kv) + 1
		}
		if total > budget {
			return nil, nil, envOverBudget()
		}
	}
	for i, it := range r.items {
		// An ingredient that is itself expanded is masked as the job's
		// values met it: expanded (Value remembers it).
		if it.extra && it.expand && x.Used(it.name()) {
			v, err := x.Value(it.name())
			if err != nil {
				return nil, nil, referenceError(err, own)
			}
			values[i] = v
			size += len(it.name()) + 1 + len(v)
		}
	}
	buf := make([]byte, 0, size)
	ends := make([]int, len(r.items))
	for i, it := range r.items {
		if it.expand && (!it.extra || x.Used(it.name())) {
			buf = append(append(append(buf, it.name()...), '='), values[i]...)
			ends[i] = len(buf)
		}
	}
	all := string(buf)
	clear(buf)
	start := 0
	for i := range r.items {
		if it := &r.items[i]; ends[i] > 0 {
			it.kv, start = all[start:ends[i]], ends[i]
		}
	}
	// An ingredient past its expiry counts as one the job got (with
	// ExpiredOmit it was absent, so never an ingredient).
	var expired []string
	for i, it := range r.items {
		if it.extra && it.expired && x.Used(it.name()) {
			expired = append(expired, events[i].Name) // only a job with levels has extra items
		}
	}
	if m.cfg.Expired == ExpiredRefuse && len(expired) > 0 {
		return nil, nil, errorf(ErrExpired, "%s expired", strings.Join(expired, ", "))
	}
	r.expired = append(r.expired, expired...)
	var ingredients []EventSecret // only Config.Authorize needs them
	for i, it := range r.items {
		if m.cfg.Authorize == nil || !x.Used(it.name()) {
			continue
		}
		s := EventSecret{Name: it.name(), Version: it.version}
		if events != nil {
			s = events[i]
			s.Fingerprint = nil
		}
		ingredients = append(ingredients, s)
	}
	return m.dropExtra(r, events, x.Used), ingredients, nil
}

// dropExtra removes the extra items from r.items (and their events),
// keeping those used (nil: none) as masks and Ingredient events.
func (m *Manager) dropExtra(r *envRead, events []EventSecret, used func(string) bool) []EventSecret {
	if !slices.ContainsFunc(r.items, func(it envItem) bool { return it.extra }) {
		return events
	}
	items := r.items[:0]
	var out []EventSecret
	if events != nil {
		out = events[:0]
	}
	for i, it := range r.items {
		if it.extra {
			if used != nil && used(it.name()) {
				r.masks = append(r.masks, []byte(it.value()))
				if events != nil {
					s := events[i]
					s.Ingredient = true
					out = append(out, s)
				}
			}
			continue
		}
		items = append(items, it)
		if events != nil {
			out = append(out, events[i])
		}
	}
	r.items = items
	return out
}

// authorizeIngredients asks Config.Authorize, a second time, about a job
// whose values reference other secrets: the request is the job's, with
// Ingredients set. A refusal is recorded as the job's event.
func (m *Manager) authorizeIngredients(ctx context.Context, e *Event, ingredients []EventSecret) error {
	if m.cfg.Authorize == nil || len(ingredients) == 0 {
		return nil
	}
	req := m.request(e, nil)
	req.Ingredients = ingredients
	err := m.cfg.Authorize(ctx, req)
	if err == nil {
		return nil
	}
	denied := *e // the job's event, unless its read recorded it already
	denied.ID, denied.Secrets = 0, slices.Clone(ingredients)
	denied.Outcome = OutcomeDenied
	refusal := refusalOf(err)
	if refusal.unavailable {
		denied.Outcome = OutcomeFailed
	}
	voided := ""
	if e.ID != 0 {
		// A job of one workspace records its event in its read's own
		// statement: that event stays, and this one says it delivered
		// nothing.
		voided = " (" + voidedNote(e.ID) + ")"
	}
	refused := refusal.error(e.Actor, e.Action, e.Workspace, err)
	denied.Detail = fmt.Sprintf("%q may not use %s as ingredients in workspace %q%s", e.Actor, ingredientNames(ingredients), e.Workspace, voided)
	if refusal.reason != "" { // the public reason, never the cause
		denied.Detail += ": " + refusal.reason
	}
	denied.Detail = truncateUTF8(denied.Detail, maxDetail)
	m.record(ctx, &denied)
	return refused
}

func ingredientNames(es []EventSecret) string {
	names := make([]string, len(es))
	for i, s := range es {
		names[i] = s.Name
		if s.Container != "" {
			names[i] += " (from " + s.Container + ")"
		}
	}
	return strings.Join(names, ", ")
}

// checkRefs is the save-time check of the secret name of ws that opts in
// to expansion, with value, or with its stored current value if stored
// (SetInfo): an empty value is a value.
// It refuses references that form a cycle with those of the secrets of
// the workspace and of its parents that opt in, in any scope (a cycle
// some environment could meet), naming the chain only as far as the
// workspace's own values hold it (see [ReferenceError]), and returns the
// names value references
// that no secret of any scope or level defines yet: saved, with a
// warning. If value references any name, hold is the workspace's state it
// read: a write that relies on the check is put on condition that the
// workspace is still at it (a value without references cannot close a
// cycle, and its write is not held).
//
// A cycle through value passes through the names it references, so only
// the values those names reach are decrypted (the entries of every level
// are read, as a job reads them, to know which names are defined): a
// value without references reads nothing, not even the workspace.
// Values are decrypted to find their references and dropped; nothing of
// them leaves this function.
func (m *Manager) checkRefs(ctx context.Context, ws, name string, value []byte, stored bool) (undefined []string, hold *int64, err error) {
	var refs []string
	if !stored {
		if refs = expand.Refs(string(value)); len(refs) == 0 {
			return nil, nil, nil
		}
	}
	chain, err := m.parents(ctx, ws)
	if err != nil {
		return nil, nil, err
	}
	containers := slices.Concat([]string{ws}, chain)
	for attempt := 0; ; attempt++ {
		snap, err := m.store.Env(ctx, ws, EnvQuery{Parents: chain})
		if err != nil {
			return nil, nil, err
		}
		undefined, hold, err = m.checkSnapshot(ctx, containers, snap, name, refs, stored)
		if errors.Is(err, errStale) && attempt < maxAttempts {
			continue
		}
		return undefined, hold, err
	}
}

// checkSnapshot is checkRefs on one snapshot of the workspace and its
// parents: it opens the values of the expanding secrets that the
// references reach, one name at a time, each with its own level's key.
func (m *Manager) checkSnapshot(ctx context.Context, containers []string, snap Snapshot, name string, refs []string, stored bool) (undefined []string, hold *int64, err error) {
	own := -1                    // the entry of the secret itself
	byName := map[string][]int{} // the expanding entries of each variable
	defined := map[string]bool{}
	for i, en := range snap.Entries {
		v := variableOf(en.Name)
		defined[v] = true
		if en.Level == 0 && strings.EqualFold(en.Name, name) {
			own = i
			continue
		}
		if en.Expand {
			byName[v] = append(byName[v], i)
		}
	}
	keys := make([]*dataKey, len(containers))
	var ad []byte
	open := func(i int) ([]string, error) {
		en := &snap.Entries[i]
		if keys[en.Level] == nil {
			k, err := m.levelKeys(ctx, containers, snap, []int{i})
			if err != nil {
				return nil, err
			}
			keys[en.Level] = k[en.Level]
		}
		ad = appendEntryAD(ad[:0], containers[en.Level], en)
		p, err := keys[en.Level].aead.Decrypt(en.Ciphertext, ad)
		if err != nil {
			return nil, &DecryptError{Workspace: containers[en.Level], Names: []string{en.Name}}
		}
		r := expand.Refs(string(p))
		clear(p)
		return r, nil
	}
	if stored && own >= 0 {
		if refs, err = open(own); err != nil {
			return nil, nil, err
		}
	}
	if len(refs) == 0 {
		return nil, nil, nil
	}
	start := variableOf(name)
	// A cycle through the value ends where a reference comes back to
	// start: the values of start's other scopes are not read (a cycle
	// through them alone is not this value's, and a value without
	// references is not refused for it either).
	graph := map[string][]string{start: refs}
	mine := map[string][]string{start: refs} // the references of the workspace's own values
	queue := slices.Clone(refs)
	seen := map[string]bool{start: true}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if seen[v] {
			continue
		}
		seen[v] = true
		for _, i := range byName[v] {
			r, err := open(i)
			if err != nil {
				return nil, nil, err
			}
			graph[v] = append(graph[v], r...)
			if snap.Entries[i].Level == 0 {
				mine[v] = append(mine[v], r...)
			}
			queue = append(queue, r...)
		}
	}
	if cycle := findCycle(graph, start); cycle != nil {
		names := ownChain(cycle, mine)
		return nil, nil, &ReferenceError{Kind: ReferenceCycle, Names: names, Trimmed: len(names) < len(cycle)}
	}
	for _, r := range refs {
		if !defined[r] {
			undefined = append(undefined, r)
		}
	}
	return undefined, &snap.State, nil
}

// ownChain is the start of cycle up to the first reference that the
// workspace's own values (mine) do not hold: a reference inside a
// parent's value, which the editor of the workspace may not read, is
// left out with all that follows it.
func ownChain(cycle []string, mine map[string][]string) []string {
	for i := 0; i+1 < len(cycle); i++ {
		if !slices.Contains(mine[cycle[i]], cycle[i+1]) {
			return cycle[:i+1]
		}
	}
	return cycle
}

// findCycle returns a chain of references from start back to start in
// graph (variable to the variables its expanded values reference), or
// nil: a depth-first search that visits each variable once.
func findCycle(graph map[string][]string, start string) []string {
	seen := map[string]bool{}
	var path []string
	var visit func(v string) bool
	visit = func(v string) bool {
		path = append(path, v)
		for _, r := range graph[v] {
			if r == start {
				path = append(path, r)
				return true
			}
			if _, expands := graph[r]; expands && !seen[r] {
				seen[r] = true
				if visit(r) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if visit(start) {
		return path
	}
	return nil
}
