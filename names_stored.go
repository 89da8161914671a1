package secrets

import (
	"strings"
	"sync"
)

// Names are checked when saved (Set, Rename, Import, Apply, Restore), but
// the rules change: a release denies more names, a host turns on
// Config.StrictNames or OnlyNames, or reserves a name. A secret saved
// under a name the rules now refuse would still reach every job, and with
// it the hijack the rule is there to stop. So a job checks the names it
// would deliver, and is refused (ErrReservedName) while one of them is
// refused: the secret must be renamed, deleted or allowed
// (Config.AllowNames). An export and a backup still read it (the way to
// move it elsewhere), and Restore refuses it as Set does.

// refusals remembers, by variable name, what checkName's rules say of a
// stored name ("" for accepted), so that a job checks each of its names
// with one map read: those rules are the Manager's Config and do not
// change while it runs. Config.OnlyNames, a host function whose answers
// may change (a review), is asked on each job instead. It is emptied when
// it reaches maxRefusals names.
type refusals struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxRefusals = 1 << 16

// storedRefusal returns an ErrReservedName naming the first secret of
// names (NAME or NAME@scope, with its container) whose variable the
// Manager's rules refuse, or nil.
func (m *Manager) storedRefusal(names func(yield func(name, container string) bool)) error {
	type named struct{ variable, container string }
	var unknown []named
	m.refused.mu.RLock()
	for n, c := range names {
		v := variableOf(n)
		reason, ok := m.refused.m[v]
		if !ok {
			unknown = append(unknown, named{v, c})
			continue
		}
		if reason == "" {
			reason = m.onlyRefuses(v)
		}
		if reason != "" {
			m.refused.mu.RUnlock()
			return storedRefused(c, v, reason)
		}
	}
	m.refused.mu.RUnlock()
	if len(unknown) == 0 {
		return nil
	}
	var refused named
	var reason string
	seen := make(map[string]string, len(unknown))
	for _, u := range unknown {
		r := ""
		if _, err := m.checkTiers(u.variable, false); err != nil {
			r = detail(err)
		}
		seen[u.variable] = r
		if r == "" {
			r = m.onlyRefuses(u.variable)
		}
		if r != "" && reason == "" {
			refused, reason = u, r
		}
	}
	m.refused.mu.Lock()
	if m.refused.m == nil || len(m.refused.m)+len(seen) > maxRefusals {
		m.refused.m = make(map[string]string, len(seen))
	}
	for v, r := range seen {
		m.refused.m[v] = r
	}
	m.refused.mu.Unlock()
	if reason != "" {
		return storedRefused(refused.container, refused.variable, reason)
	}
	return nil
}

func storedRefused(container, variable, reason string) error {
	return errorf(ErrReservedName, "%q holds a secret named %s, which the rules now refuse (%s): "+
		"rename or delete it, or allow the name (Config.AllowNames); the job gets nothing",
		container, variable, strings.TrimSuffix(reason, "."))
}

// onlyRefuses returns why Config.OnlyNames refuses the variable, or "".
func (m *Manager) onlyRefuses(variable string) string {
	if m.cfg.OnlyNames != nil && !m.cfg.OnlyNames(variable) {
		return "the name is not one the host allows"
	}
	return ""
}
