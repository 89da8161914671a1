package secrets

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
)

// EnvFor returns, as "NAME=value" strings sorted by name, ready for
// [os/exec.Cmd.Env] (merge them onto a base with [Environ]), what a job
// of the workspace with no environment and no protection gets: the live
// secrets of the workspace and of its parents (Config.Parents, the
// nearest level winning a name) that have no scope (or scope "*") and
// are not protected, less what Config.Withhold keeps from it. All of
// them come from one consistent read of the Store: a concurrent write is
// seen entirely or not at all. A workspace without such secrets gives an
// empty, non-nil slice. Write-only secrets are included (injection is
// what they are for), and so are file secrets, as their values: only
// [Manager.Prepare] delivers those as files. Expired secrets are given,
// left out or refused as Config.Expired says.
//
// If any value fails to decrypt, EnvFor returns no environment and a
// *[DecryptError] naming every secret that failed (never a value). A
// rotation, re-wrap or kill switch by another replica is never reported
// as tampering: rows read under a key that has changed since are read
// again with the new key.
//
// The strings hold the values in the clear: pass them to the child and
// drop them; never log them.
//
// The read is audited as an inject event (see Config.AuditReads). For a
// workspace without parents, on a Manager without Config.Withhold or
// ExpiredOmit, the Store records it in the same statement as the read;
// otherwise it is recorded right after the read, before any value is
// returned.
func (m *Manager) EnvFor(ctx context.Context, ws string) ([]string, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	e, err := m.injectEvent(ctx, ws, "", false)
	if err != nil {
		return nil, err
	}
	if err := m.authorize(ctx, e); err != nil {
		return nil, err
	}
	r, err := m.readEnv(ctx, e, nil)
	if err != nil {
		return nil, err
	}
	env := make([]string, len(r.items))
	for i, it := range r.items {
		env[i] = it.kv
	}
	return env, nil
}

// injectEvent starts the event of a job of ws in environment env ("" for
// none), protected or not, with the workspace's parents (Config.Parents)
// in it: the authorizer sees them, and the read follows them. A job with
// parents, an environment or protection, or of a Manager with
// Config.Withhold or ExpiredOmit, is read by readLevels, whose event lists
// what it delivered: its Parents are not nil.
func (m *Manager) injectEvent(ctx context.Context, ws, env string, protected bool) (*Event, error) {
	e := m.event(ctx, ActionInject, ws)
	if err := validEnvironment(env); err != nil {
		return nil, m.failed(ctx, e, err)
	}
	e.Environment, e.Protected = env, protected
	chain, err := m.parents(ctx, ws)
	if err != nil {
		return nil, m.failed(ctx, e, err)
	}
	e.Parents = chain
	if e.Parents == nil && (env != "" || protected || m.cfg.Withhold != nil || m.cfg.Expired == ExpiredOmit) {
		// The rule, the hook or the expiry policy decides what the job
		// gets: its event is recorded once that is known.
		e.Parents = []string{}
	}
	return e, nil
}

// envItem is one secret of an environment read: its "NAME=value" string
// and what is bound to it.
type envItem struct {
	kv        string
	nameLen   int
	version   int64
	file      bool
	writeOnly bool
	expand    bool // the secret opted in to expansion (Info.Expand)
	protected bool // Info.Protected
	expands   bool // Info.Expand, whether or not this read expands it (an export does not)
	extra     bool // read only to be an ingredient: not the job's
	expired   bool // an extra item past its Info.Expires
	level     int  // 0 for the workspace's own, i+1 for its parent i
}

func (it envItem) name() string  { return it.kv[:it.nameLen] }
func (it envItem) value() string { return it.kv[it.nameLen+1:] }

// envRead is what one read of a workspace's environment gave.
type envRead struct {
	state   int64
	items   []envItem // sorted by name
	expired []string  // names of secrets past their expiry, given or not
	// masks are the values a job did not get as variables but has in
	// others and masks: ingredients (see Info.Expand). Values
	// Config.Withhold kept from it are not masked (see levels.go).
	masks [][]byte
	// ingredients are the secrets whose values went into the job's
	// expanded values, for Config.Authorize.
	ingredients []EventSecret
	// expanded are the fingerprints of the values expansion changed, for
	// the job's event (see expandAudited).
	expanded [][]byte
}

// wipe clears the bytes of the read that can be cleared.
func (r *envRead) wipe() {
	for _, m := range r.masks {
		clear(m)
	}
	r.masks = nil
}

// readEnv reads, decrypts and audits the workspace's environment, or the
// secrets of names (all of which must exist: a job that names its
// secrets is read as one with levels). e is the event of the read, not
// yet recorded: its action is inject or export.
func (m *Manager) readEnv(ctx context.Context, e *Event, names []string) (envRead, error) {
	if names != nil && e.Parents == nil {
		// A job that names its secrets may use others as ingredients
		// (Info.Expand): it reads as a job with levels does, whose event
		// lists what it delivered and used.
		e.Parents = []string{}
	}
	if e.Parents != nil {
		return m.readLevels(ctx, e, names, "")
	}
	// From here on the job gets every secret of one level: names is nil.
	ws := e.Workspace
	snap, recorded, err := m.readSnapshot(ctx, e)
	if err == nil {
		err = checkUnscoped(ws, snap)
	}
	if err != nil {
		return envRead{}, m.failed(ctx, e, err)
	}
	for attempt := 0; len(snap.Entries) > 0; attempt++ {
		k, err := m.keyFor(ctx, ws, snap.KeyGen)
		if errors.Is(err, errStale) && attempt < maxAttempts {
			// Read under a key replaced since (a rotation by another
			// replica): read again, and record what that read saw if the
			// workspace changed meanwhile.
			if snap, err = m.store.Env(ctx, ws, EnvQuery{Unscoped: true}); err == nil {
				err = checkUnscoped(ws, snap)
			}
			if err != nil {
				return envRead{}, m.readFailed(ctx, e, recorded, err)
			}
			if recorded && snap.State != e.State {
				again := *e
				again.ID, again.State = 0, snap.State
				if err := m.recordRead(ctx, &again); err != nil {
					return envRead{}, err
				}
				e.ID, e.State = again.ID, again.State // the job's event is this read's

			}
			continue
		}
		if err != nil {
			return envRead{}, m.readFailed(ctx, e, recorded, keyError(ctx, ws, entryNames(snap.Entries), err))
		}
		r, err := m.decryptEnv(k, ws, snap)
		if err == nil {
			// After the values are open: a row changed with SQL is
			// ErrDecrypt first.
			err = m.storedRefusal(func(yield func(string, string) bool) {
				for _, it := range r.items {
					if !yield(it.name(), ws) {
						return
					}
				}
			})
			if err != nil {
				r.wipe()
			}
		}
		if err != nil {
			e.Secrets = nil
			return envRead{}, m.readFailed(ctx, e, recorded, err)
		}
		if err := m.authorizeIngredients(ctx, e, r.ingredients); err != nil {
			r.wipe()
			return envRead{}, err
		}
		if err := m.auditExpanded(ctx, e, &r, recorded); err != nil {
			r.wipe()
			return envRead{}, m.voided(ctx, e, err)
		}
		m.delivered(ctx, e, r, recorded)
		return r, nil
	}
	r := envRead{state: snap.State}
	m.delivered(ctx, e, r, recorded)
	return r, nil
}

// readFailed records the failure of a read of e that got past its
// snapshot: a read that recorded its event (in its own statement) voids
// it, naming it, rather than leave an "ok" inject event for a job that
// got nothing beside an unlinked failed one.
func (m *Manager) readFailed(ctx context.Context, e *Event, recorded bool, err error) error {
	if recorded {
		return m.voided(ctx, e, err)
	}
	return m.failed(ctx, e, err)
}

// checkUnscoped fails a read that asked for EnvQuery.Unscoped and got a
// scoped or protected secret all the same (a Store that does not know
// the field): the job gets nothing rather than what it must not.
func checkUnscoped(ws string, snap Snapshot) error {
	for i := range snap.Entries {
		if scopedOrProtected(&snap.Entries[i]) {
			return errorf(nil, "read workspace %q: the Store gave a scoped or protected secret to a read that leaves them out (EnvQuery.Unscoped): no secret delivered", ws)
		}
	}
	return nil
}

// readSnapshot reads the workspace's unscoped secrets (the default job's),
// recording e in the same statement
// (recorded is then true) unless reads are not audited. When that fails,
// a plain read tells the read's own failure (its error is returned) from
// the event's: in AuditFailClosed mode the job then fails with ErrAudit
// and the plain read's rows are dropped; in AuditBestEffort and
// AuditRelaxed modes the plain read is the job's, whose event delivered
// then tries to record again.
func (m *Manager) readSnapshot(ctx context.Context, e *Event) (snap Snapshot, recorded bool, err error) {
	if m.cfg.AuditReads == AuditWritesOnly {
		snap, err = m.store.Env(ctx, e.Workspace, EnvQuery{Unscoped: true})
		return snap, false, err
	}
	ev := *e
	ev.Secrets = nil
	snap, err = m.store.Env(ctx, e.Workspace, EnvQuery{Unscoped: true, Audit: &ev, Relaxed: m.cfg.AuditReads == AuditRelaxed})
	if err == nil {
		*e = ev
		return snap, true, nil
	}
	if ctx.Err() != nil {
		return Snapshot{}, false, err
	}
	// Config.OnAuditError hears of this read once, from delivered, if its
	// event cannot be recorded after the plain read either: then with the
	// secrets it lists.
	plain, perr := m.store.Env(ctx, e.Workspace, EnvQuery{Unscoped: true})
	if perr == nil && m.cfg.AuditReads == AuditFailClosed {
		return Snapshot{}, false, &failure{class: ErrAudit, msg: "audit event not recorded", cause: err}
	}
	return plain, false, perr
}

// decryptEnv decrypts a snapshot with its key, applying Config.Expired.
// All "NAME=value" strings are built in one buffer and cut from one
// string: two allocations instead of one per secret.
func (m *Manager) decryptEnv(k *dataKey, ws string, snap Snapshot) (envRead, error) {
	r := envRead{state: snap.State, items: make([]envItem, 0, len(snap.Entries))}
	now := m.now()
	size := 0
	for i := range snap.Entries {
		size += len(snap.Entries[i].Name) + 1 + len(snap.Entries[i].Ciphertext)
	}
	buf := make([]byte, 0, size)
	ends := make([]int, 0, len(snap.Entries))
	var ad []byte
	var failed []string
	for i := range snap.Entries {
		en := &snap.Entries[i]
		if en.expired(now) {
			r.expired = append(r.expired, en.Name)
			if m.cfg.Expired == ExpiredOmit {
				continue
			}
		}
		ad = appendEntryAD(ad[:0], ws, en)
		p, err := k.aead.Decrypt(en.Ciphertext, ad)
		if err != nil {
			failed = append(failed, en.Name)
			continue
		}
		buf = append(buf, en.Name...)
		buf = append(buf, '=')
		buf = append(buf, p...)
		clear(p)
		ends = append(ends, len(buf))
		r.items = append(r.items, envItem{nameLen: len(en.Name), version: en.Version, file: en.File, writeOnly: en.WriteOnly, expand: en.Expand, protected: en.Protected})
	}
	if failed != nil {
		clear(buf)
		return envRead{}, &DecryptError{Workspace: ws, Names: failed}
	}
	if m.cfg.Expired == ExpiredRefuse && len(r.expired) > 0 {
		clear(buf)
		return envRead{}, errorf(ErrExpired, "%s expired", strings.Join(r.expired, ", "))
	}
	all := string(buf)
	clear(buf)
	start := 0
	for i, end := range ends {
		r.items[i].kv = all[start:end]
		start = end
	}
	if !slices.IsSortedFunc(r.items, byName) { // both stores sort; others may not
		slices.SortFunc(r.items, byName)
	}
	// Names are unique ignoring case, so two rows of one name are rows
	// changed outside the library (a trial: a row's name_key moved with
	// SQL, an editor's Set of its name made a second secret, and the job
	// got the replaced value first and the new one last, which a
	// consumer that keeps the first would use).
	var twice []string
	for i := 1; i < len(r.items); i++ {
		if n := r.items[i].name(); n == r.items[i-1].name() && (len(twice) == 0 || twice[len(twice)-1] != n) {
			twice = append(twice, n)
		}
	}
	if twice != nil {
		return envRead{}, &DecryptError{Workspace: ws, Names: twice, Cause: errTwice}
	}
	var err error
	if _, r.ingredients, err = m.expandAudited(&r, nil, true); err != nil {
		return envRead{}, err
	}
	return r, nil
}

func byName(a, b envItem) int { return strings.Compare(a.name(), b.name()) }

// delivered completes the read's event with what was delivered, and
// records it unless the Store did in the read.
func (m *Manager) delivered(ctx context.Context, e *Event, r envRead, recorded bool) {
	e.State = r.state
	record := !recorded && m.cfg.AuditReads != AuditWritesOnly
	if !record && (!recorded || m.cfg.OnEvent == nil) {
		return // nothing to record or publish: spare the hot path the list below
	}
	e.Secrets = make([]EventSecret, len(r.items))
	for i, it := range r.items {
		e.Secrets[i] = EventSecret{Name: it.name(), Version: it.version}
	}
	if record {
		m.recordRead(ctx, e)
	} else {
		m.published(ctx, *e)
	}
}

func entryNames(es []EnvEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

// DefaultBase returns the base environment that [Manager.Command] uses when
// given none: only a conventional PATH. Nothing of the calling process's
// environment is included.
func DefaultBase() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
}

// Environ merges a workspace environment (from EnvFor) onto base and
// returns a new slice; neither argument is changed.
//
// Precedence: the workspace's secrets win. An entry of base is dropped if
// a secret has the same name (compared exactly, as getenv does on Unix);
// within base, and within secrets, as in os/exec, only the last entry of
// a name is kept, in that entry's position. Entries without "=" are
// dropped. The result is base's kept entries, in their order, followed by
// the kept secrets in their order: no name appears twice. A host protects
// a base variable from being overridden by reserving its name
// (Config.ReservedNames), which makes Set refuse it.
//
// base is used exactly as given: pass nil or [DefaultBase] for a minimal
// environment. Never pass os.Environ(): the backend's environment holds its
// own credentials.
func Environ(base, secrets []string) []string {
	lastSecret := lastOfNames(secrets)
	lastBase := lastOfNames(base)
	out := make([]string, 0, len(lastBase)+len(lastSecret))
	for i, kv := range base {
		name, _, ok := strings.Cut(kv, "=")
		if _, secret := lastSecret[name]; ok && lastBase[name] == i && !secret {
			out = append(out, kv)
		}
	}
	for i, kv := range secrets {
		if name, _, ok := strings.Cut(kv, "="); ok && lastSecret[name] == i {
			out = append(out, kv)
		}
	}
	return out
}

// lastOfNames maps each name of env ("NAME=value" entries; the others
// have none) to the index of its last entry.
func lastOfNames(env []string) map[string]int {
	last := make(map[string]int, len(env))
	for i, kv := range env {
		if name, _, ok := strings.Cut(kv, "="); ok {
			last[name] = i
		}
	}
	return last
}

// Command returns a command, not started, that runs name with args and
// the environment Environ(base, secrets of ws). A nil base means
// [DefaultBase]; the command never inherits the backend's environment (its
// Env is never nil). As with [os/exec.Command], name is looked up in the
// calling process's PATH, not in the child's. ctx kills the process if it
// is done before the command completes.
//
// The command's output is not redacted, and file secrets are in its
// environment as values: use [Manager.Prepare] or [Manager.Run] for both.
// It runs as the backend's own user, in the backend's session, and
// inherits every descriptor the backend did not open close-on-exec. A
// caller that sets SysProcAttr.Credential changes only its user: none of
// what [Job].User promises (no inherited descriptors but the three
// streams, a session and a PID namespace of its own, killed with the
// backend) holds for a Command; use [Manager.Run] with Job.User to
// isolate a job from the backend.
func (m *Manager) Command(ctx context.Context, ws string, base []string, name string, args ...string) (*exec.Cmd, error) {
	env, err := m.EnvFor(ctx, ws)
	if err != nil {
		return nil, wrapf(err, "command for workspace %q", ws)
	}
	if base == nil {
		base = DefaultBase()
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = Environ(base, env)
	return cmd, nil
}

// A Job is a command to run for a workspace with [Manager.Run].
