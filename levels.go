package secrets

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/dataspace/secrets/internal/scope"
)

// MaxParents bounds the containers a workspace inherits from
// (Config.Parents).
const MaxParents = 8

// parents asks Config.Parents for the chain of ws and checks it: at most
// MaxParents valid container identifiers, none repeated and none ws
// itself (a cycle). nil means the workspace inherits nothing.
func (m *Manager) parents(ctx context.Context, ws string) ([]string, error) {
	if m.cfg.Parents == nil {
		return nil, nil
	}
	chain, err := m.cfg.Parents(ctx, ws)
	if err != nil {
		return nil, wrapf(err, "parents of workspace %q", ws)
	}
	if len(chain) == 0 {
		return nil, nil
	}
	if len(chain) > MaxParents {
		return nil, errorf(ErrInvalidParents, "workspace %q has %d parents, over %d", ws, len(chain), MaxParents)
	}
	seen := make(map[string]bool, len(chain)+1)
	seen[ws] = true
	for _, c := range chain {
		if validWorkspace(c) != nil {
			return nil, errorf(ErrInvalidParents, "a parent of workspace %q is not a valid container identifier", ws)
		}
		switch {
		case c == ws:
			return nil, errorf(ErrInvalidParents, "the parents of workspace %q name the workspace itself (a cycle)", ws)
		case seen[c]:
			return nil, errorf(ErrInvalidParents, "the parents of workspace %q name %q twice (a cycle)", ws, c)
		}
		seen[c] = true
	}
	return slices.Clone(chain), nil
}

// readLevels reads a job's environment from its workspace and the parents
// in e.Parents (one Store read, one snapshot), resolves each name by the
// rule of internal/scope (the nearest level wins; expired secrets left
// out by Config.Expired count as absent), leaves out what Config.Withhold
// keeps from the job, decrypts each value with its own container's key,
// and records one inject event that lists every delivered and withheld
// secret with its container. A read under a key replaced since (a
// rotation or kill switch at any level, by any replica) is read again.
//
// With exact not "" the read is an export's: the workspace's secrets of
// exactly that scope ("*" included), protected or not, with no rule and no
// Withhold.
func (m *Manager) readLevels(ctx context.Context, e *Event, names []string, exact string) (envRead, error) {
	query := names
	for attempt := 0; ; attempt++ {
		snap, err := m.store.Env(ctx, e.Workspace, EnvQuery{Names: query, Parents: e.Parents})
		if err == nil && query != nil && exact == "" && slices.ContainsFunc(snap.Entries, func(en EnvEntry) bool { return en.Expand }) {
			// A named secret that expands may use others as ingredients:
			// read them all, in one snapshot, and resolveLevels keeps
			// what the job needs. Jobs that expand nothing read only
			// what they name.
			query = nil
			snap, err = m.store.Env(ctx, e.Workspace, EnvQuery{Parents: e.Parents})
		}
		if err != nil {
			return envRead{}, m.failed(ctx, e, err)
		}
		r, secrets, err := m.resolveLevels(ctx, e, snap, names, exact)
		if errors.Is(err, errStale) {
			if attempt < maxAttempts {
				continue
			}
			// Keys kept moving under every read: as the single-level
			// read reports it, never the internal sentinel alone.
			err = &DecryptError{Workspace: e.Workspace, Names: entryNames(snap.Entries), Cause: err}
		}
		if err != nil {
			e.Secrets = nil
			return envRead{}, m.failed(ctx, e, err)
		}
		if err := m.authorizeIngredients(ctx, e, r.ingredients); err != nil {
			r.wipe()
			return envRead{}, err
		}
		e.State, e.Secrets, e.Expanded = snap.State, secrets, r.expanded
		if m.cfg.AuditReads == AuditWritesOnly {
			return r, nil
		}
		if err := m.recordJob(ctx, e); err != nil {
			r.wipe()
			// A caller gone while its event's batch was written: the
			// event is recorded, the job gets nothing.
			return envRead{}, m.voided(ctx, e, err)
		}
		return r, nil
	}
}

// relaxedRecorder is a Store that can record a read's event without
// waiting for it to be flushed: both of this package's stores, and only
// they (see recordJob).
type relaxedRecorder interface {
	recordRelaxed(ctx context.Context, e *Event) error
}

// recordJob records the event of a job with parents as Config.AuditReads
// says: with AuditRelaxed committed without waiting for the flush, as the
// event of a job without parents is; otherwise durably (with
// AuditFailClosed, or the job fails).
//
// Only this package's own stores record so: a host's type that embeds one
// has recordRelaxed promoted, which would write past the host's own
// Record (an audit trial: a wrapper's Record that failed was bypassed,
// the event recorded and OnAuditError never called). Such a store's job
// events go through its Record, as AuditBestEffort's do.
func (m *Manager) recordJob(ctx context.Context, e *Event) error {
	var rr relaxedRecorder
	switch s := m.store.(type) {
	case *MemoryStore:
		rr = s
	case *PostgresStore:
		rr = s
	}
	if rr == nil || m.cfg.AuditReads != AuditRelaxed {
		return m.recordRead(ctx, e)
	}
	rctx, done := recordContext(ctx)
	defer done()
	if err := rr.recordRelaxed(rctx, e); err != nil {
		if m.cfg.OnAuditError != nil {
			m.cfg.OnAuditError(ctx, []Event{*e}, err)
		}
		return nil
	}
	m.published(ctx, *e)
	return nil
}

// resolveLevels makes a job's environment of a snapshot of several levels,
// and the event's list of what it delivered and withheld.
func (m *Manager) resolveLevels(ctx context.Context, e *Event, snap Snapshot, names []string, exact string) (envRead, []EventSecret, error) {
	containers := slices.Concat([]string{e.Workspace}, e.Parents)
	r := envRead{state: snap.State}
	var c choice
	if exact != "" {
		c = m.chooseScope(snap, exact)
	} else {
		c = m.choose(ctx, m.request(e, nil), containers, snap)
	}
	r.expired = c.expired
	if c.twice != nil {
		// Names are unique ignoring case in a scope of a level: rows
		// changed outside the library (see decryptEnv).
		twice := make([]string, len(c.twice))
		for j, i := range c.twice {
			twice[j] = snap.Entries[i].Name
		}
		return envRead{}, nil, &DecryptError{Workspace: containers[snap.Entries[c.twice[0]].Level], Names: twice, Cause: errTwice}
	}
	if names != nil {
		got := map[string]bool{}
		for _, i := range slices.Concat(c.delivered, c.withheld) {
			got[strings.ToLower(variableOf(snap.Entries[i].Name))] = true
		}
		for _, n := range names {
			if !got[strings.ToLower(n)] {
				// The same words whether no secret has the name or none
				// applies (another environment's, or protected for an
				// unprotected job): the job may not tell them apart.
				return envRead{}, nil, errorf(ErrNotFound, "%s: no secret of that name for this job", n)
			}
		}
		if exact == "" {
			c.only(snap, names)
			r.expired = c.expired
		}
	}
	if m.cfg.Expired == ExpiredRefuse && len(r.expired) > 0 {
		return envRead{}, nil, errorf(ErrExpired, "%s expired", strings.Join(r.expired, ", "))
	}
	keys, err := m.levelKeys(ctx, containers, snap, slices.Concat(c.delivered, c.withheld, c.extra))
	if err != nil {
		return envRead{}, nil, err
	}
	events, err := m.openLevels(&r, containers, keys, snap, c)
	if err != nil {
		return envRead{}, nil, err
	}
	if exact == "" { // a job; an export reads what is stored (see names_stored.go)
		// After the values are open: a row changed with SQL is ErrDecrypt
		// first.
		err := m.storedRefusal(func(yield func(string, string) bool) {
			for _, i := range c.delivered {
				if en := &snap.Entries[i]; !yield(en.Name, containers[en.Level]) {
					return
				}
			}
		})
		if err != nil {
			r.wipe()
			return envRead{}, nil, err
		}
	}
	return r, events, nil
}

// levelKeys loads the key of each level that the entries idx are in.
// errStale means the snapshot is older than a key: read again.
func (m *Manager) levelKeys(ctx context.Context, containers []string, snap Snapshot, idx []int) ([]*dataKey, error) {
	gens := make([]int64, len(containers))
	gens[0] = snap.KeyGen
	for i, p := range snap.Parents {
		gens[i+1] = p.KeyGen
	}
	keys := make([]*dataKey, len(containers))
	for _, i := range idx {
		l := snap.Entries[i].Level
		if keys[l] != nil {
			continue
		}
		k, err := m.keyFor(ctx, containers[l], gens[l])
		if err != nil {
			if errors.Is(err, errStale) {
				return nil, err
			}
			return nil, keyError(ctx, containers[l], levelNames(snap.Entries, l), err)
		}
		keys[l] = k
	}
	return keys, nil
}

// openLevels decrypts the delivered values into r's items (every
// "NAME=value" cut from one string, as decryptEnv does) and the withheld
// ones into r's masks, each with its own level's key, and returns the
// event's list of both. A value that fails makes it fail as a whole.
func (m *Manager) openLevels(r *envRead, containers []string, keys []*dataKey, snap Snapshot, c choice) ([]EventSecret, error) {
	var ad []byte
	var failed []string
	failedIn := -1 // the level of every failure, or len(containers) if several
	open := func(i int) []byte {
		en := &snap.Entries[i]
		ad = appendEntryAD(ad[:0], containers[en.Level], en)
		p, err := keys[en.Level].aead.Decrypt(en.Ciphertext, ad)
		if err != nil {
			failed = append(failed, en.Name)
			if failedIn != -1 && failedIn != en.Level {
				failedIn = len(containers)
			} else {
				failedIn = en.Level
			}
			return nil
		}
		return p
	}
	// The values to read, in the order of their variables' names, as the
	// job gets them: sorting these indexes is cheaper than sorting the
	// items they become.
	read := slices.Concat(c.delivered, c.extra)
	extra := make(map[int]bool, len(c.extra))
	for _, i := range c.extra {
		extra[i] = true
	}
	slices.SortFunc(read, func(a, b int) int {
		return strings.Compare(variableOf(snap.Entries[a].Name), variableOf(snap.Entries[b].Name))
	})
	now := m.now()
	size := 0
	for _, i := range read {
		size += len(snap.Entries[i].Name) + 1 + len(snap.Entries[i].Ciphertext)
	}
	buf := make([]byte, 0, size)
	ends := make([]int, 0, len(read))
	r.items = make([]envItem, 0, len(read))
	events := make([]EventSecret, 0, len(read)+len(c.withheld))
	for _, i := range read {
		en := &snap.Entries[i]
		if p := open(i); p != nil {
			variable := variableOf(en.Name)
			buf = append(append(append(buf, variable...), '='), p...)
			ends = append(ends, len(buf))
			r.items = append(r.items, envItem{nameLen: len(variable), version: en.Version, file: en.File, writeOnly: en.WriteOnly,
				protected: en.Protected, expands: en.Expand, expand: en.Expand && !c.raw, extra: extra[i], expired: en.expired(now)})
			r.items[len(r.items)-1].level = en.Level
			events = append(events, EventSecret{Name: en.Name, Version: en.Version, Fingerprint: m.Fingerprint(p),
				Container: container(containers, en.Level)})
			clear(p)
		}
	}
	all := string(buf)
	clear(buf)
	start := 0
	for i, end := range ends {
		r.items[i].kv = all[start:end]
		start = end
	}
	if failed == nil {
		var err error
		if events, r.ingredients, err = m.expandAudited(r, events, false); err != nil {
			r.wipe()
			return nil, err
		}
	}
	for _, i := range c.withheld {
		en := &snap.Entries[i]
		if p := open(i); p != nil {
			// Opened, so that a tampered row fails the job, and not
			// masked: a job's output scanned for a value it does not
			// have tells it, by how the scan goes (what is held, how
			// long it takes), what the value begins with (two trials and
			// a review read withheld tokens so).
			clear(p)
			events = append(events, EventSecret{Name: en.Name, Version: en.Version, Container: container(containers, en.Level), Withheld: true})
		}
	}
	if failed != nil {
		r.wipe()
		// The container whose values failed, if one: a parent's kill
		// switch names the parent.
		in := containers[0]
		if failedIn < len(containers) {
			in = containers[failedIn]
		}
		return nil, &DecryptError{Workspace: in, Names: failed}
	}
	slices.SortFunc(events, func(a, b EventSecret) int { return strings.Compare(a.Name, b.Name) })
	return events, nil
}

// levelNames are the names of the entries of one level.
func levelNames(es []EnvEntry, level int) []string {
	var out []string
	for _, e := range es {
		if e.Level == level {
			out = append(out, e.Name)
		}
	}
	return out
}

// container is the EventSecret.Container of level: "" for the workspace.
func container(containers []string, level int) string {
	if level == 0 {
		return ""
	}
	return containers[level]
}

// An Offer is a secret the rule would give a job, as Config.Withhold
// sees it.
type Offer struct {
	// Container is where the secret is: the job's workspace or one of its
	// parents.
	Container string
	// Name is the secret's name, with its scope (see [SplitName]);
	// Variable and Scope are its parts: the job would get it as
	// Variable.
	Name, Variable, Scope string
	Protected             bool
}

// A Resolved is a secret that a job of a workspace gets, or could have got
// and does not, without its value: what a settings page shows under "What
// will a job get?".
type Resolved struct {
	// Name is the secret's name, with its scope (see [SplitName]);
	// Variable and Scope are its parts.
	Name     string `json:"name"`
	Variable string `json:"variable"`
	Scope    string `json:"scope"`
	// Container is where the secret is: the workspace itself or one of
	// its parents; Level is 0 for the workspace, i+1 for the parent at
	// index i of the chain Config.Parents gives (nearest first).
	Container string `json:"container"`
	Level     int    `json:"level"`
	Version   int64  `json:"version"`
	Protected bool   `json:"protected"`
	// Expands says that the value composes others (${NAME}; see
	// Info.Expand). Resolve reads no value, so it cannot tell
	// whether each reference reaches the job: the job's start checks
	// them, and a reference to a secret the job does not get (protected,
	// withheld, of another environment, absent) fails the whole job
	// (ErrReference), even where Status says delivered.
	Expands bool `json:"expands"`
	// Status is what a job does with it: ResolvedDelivered,
	// ResolvedOverridden (a nearer level or a more specific scope has the
	// variable), ResolvedWithheld (Config.Withhold keeps it from the
	// job), ResolvedExpired (left out by ExpiredOmit),
	// ResolvedProtected (protected, and the job is not),
	// ResolvedOtherEnvironment (its scope does not match the job's
	// environment) or ResolvedRefused (the job would get it, and is
	// refused for it: its name is one the Manager's rules refuse now,
	// ErrReservedName; it is past its expiry under ExpiredRefuse,
	// ErrExpired; or its container holds its name and scope twice, a row
	// changed with SQL, ErrDecrypt).
	Status string `json:"status"`
}

// The statuses of a Resolved.
const (
	ResolvedDelivered        = "delivered"
	ResolvedOverridden       = "overridden"
	ResolvedWithheld         = "withheld"
	ResolvedExpired          = "expired"
	ResolvedProtected        = "protected"
	ResolvedOtherEnvironment = "other-environment"
	ResolvedRefused          = "refused"
)

// ResolveOptions are the job [Manager.Resolve] previews: its environment
// and whether it is protected, as in [PrepareOptions]. nil means a job
// without an environment that is not protected, as EnvFor's.
type ResolveOptions struct {
	Environment string
	Protected   bool
}

// Resolve says what a job of the workspace in the environment and with
// the protection of opts would get now, and from where, without reading
// or returning a value: every live secret of the workspace and of its
// parents (Config.Parents), sorted by variable, then nearest level first,
// then most specific scope first, each with its status. It reads as a job
// does (one snapshot of every level, the same rule), asks Config.Withhold
// as for a job (with r.Action ActionInject and the caller of ctx as the
// actor), and is authorized and audited as a listing of the workspace.
// An invalid environment is ErrInvalidScope. The slice is not nil, even
// when empty. A secret that composes others is marked (Expands): whether
// its references reach the job is known only when the job starts.
func (m *Manager) Resolve(ctx context.Context, ws string, opts *ResolveOptions) ([]Resolved, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	var o ResolveOptions
	if opts != nil {
		o = *opts
	}
	e := m.event(ctx, ActionList, ws)
	if err := validEnvironment(o.Environment); err != nil {
		return nil, m.failed(ctx, e, err)
	}
	e.Environment, e.Protected = o.Environment, o.Protected
	chain, err := m.parents(ctx, ws)
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	e.Parents = chain
	if err := m.authorize(ctx, e); err != nil {
		return nil, err
	}
	snap, err := m.store.Env(ctx, ws, EnvQuery{Parents: chain})
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	containers := slices.Concat([]string{ws}, chain)
	job := m.request(e, nil)
	job.Action = ActionInject
	c := m.choose(ctx, job, containers, snap)
	out := make([]Resolved, len(snap.Entries))
	ranks := make([]int, len(snap.Entries))
	for i, en := range snap.Entries {
		variable, sc := SplitName(en.Name)
		out[i] = Resolved{Name: en.Name, Variable: variable, Scope: sc, Container: containers[en.Level], Level: en.Level, Version: en.Version,
			Protected: en.Protected, Expands: en.Expand, Status: ResolvedOverridden}
		rank, match := scope.Rank(sc, o.Environment)
		ranks[i] = rank
		if !match {
			ranks[i] = -1 // after the scopes that apply
		}
		switch {
		case !match:
			out[i].Status = ResolvedOtherEnvironment
		case en.Protected && !o.Protected:
			out[i].Status = ResolvedProtected
		case c.absent[i]:
			out[i].Status = ResolvedExpired
		}
	}
	for _, i := range c.delivered {
		out[i].Status = ResolvedDelivered
	}
	for _, i := range c.withheld {
		out[i].Status = ResolvedWithheld
	}
	// What fails a job, as readLevels checks it (an attacker trial: the
	// preview said delivered of a name the job was refused for), and an
	// expired winner under ExpiredRefuse (a review).
	now := m.now()
	for _, i := range c.delivered {
		en := &snap.Entries[i]
		err := m.storedRefusal(func(yield func(string, string) bool) { yield(en.Name, containers[en.Level]) })
		if err != nil || m.cfg.Expired == ExpiredRefuse && en.expired(now) {
			out[i].Status = ResolvedRefused
		}
	}
	for _, i := range c.twice {
		out[i].Status = ResolvedRefused
	}
	// Entries come sorted by level: a stable sort by variable keeps the
	// nearest level first; within a level, the most specific scope first.
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := strings.Compare(strings.ToLower(out[a].Variable), strings.ToLower(out[b].Variable)); c != 0 {
			return c
		}
		if la, lb := snap.Entries[a].Level, snap.Entries[b].Level; la != lb {
			return la - lb
		}
		return ranks[b] - ranks[a]
	})
	sorted := make([]Resolved, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	m.listed(ctx, e)
	return sorted, nil
}
