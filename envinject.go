package secrets

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// EnvFor returns the workspace's secrets as "NAME=value" strings, sorted by
// name, ready for [os/exec.Cmd.Env] (merge them onto a base with
// [Environ]). All of them come from one consistent read of the Store: a
// concurrent write is seen entirely or not at all. A workspace without
// secrets gives an empty, non-nil slice.
//
// If any value fails to decrypt, EnvFor returns no environment and a
// *[DecryptError] naming every secret that failed (never a value). If
// another replica has rotated the workspace's data key, EnvFor reloads the
// key once and succeeds.
//
// The strings hold the values in the clear: pass them to the child and
// drop them; never log them.
func (m *Manager) EnvFor(ctx context.Context, ws string) ([]string, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	vs, err := m.store.Current(ctx, ws)
	if err != nil {
		return nil, err
	}
	env := make([]string, 0, len(vs))
	if len(vs) == 0 {
		return env, nil
	}
	k, err := m.dataKey(ctx, ws)
	if err == nil {
		k, err = m.freshKey(ctx, ws, k, vs...)
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrDecrypt) {
		// No usable key: every secret is unreadable.
		names := make([]string, len(vs))
		for i, v := range vs {
			names[i] = v.Name
		}
		return nil, &DecryptError{Workspace: ws, Names: names}
	}
	if err != nil {
		return nil, err
	}
	var failed []string
	for _, v := range vs {
		p, err := open(k, v)
		if err != nil {
			failed = append(failed, v.Name)
			continue
		}
		var b strings.Builder
		b.Grow(len(v.Name) + 1 + len(p))
		b.WriteString(v.Name)
		b.WriteByte('=')
		b.Write(p)
		clear(p)
		env = append(env, b.String())
	}
	if failed != nil {
		return nil, &DecryptError{Workspace: ws, Names: failed}
	}
	slices.SortFunc(env, func(a, b string) int {
		return strings.Compare(a[:strings.IndexByte(a, '=')], b[:strings.IndexByte(b, '=')])
	})
	return env, nil
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
// within base, as in os/exec, only the last entry of a name is kept, in
// that entry's position. Entries of base without "=" are dropped. The
// result is base's kept entries, in their order, followed by secrets in
// their order; no name appears twice. A host protects a base variable from
// being overridden by reserving its name (Config.ReservedNames), which
// makes Set refuse it.
//
// base is used exactly as given: pass nil or [DefaultBase] for a minimal
// environment. Never pass os.Environ(): the backend's environment holds its
// own credentials.
func Environ(base, secrets []string) []string {
	set := make(map[string]bool, len(secrets))
	for _, kv := range secrets {
		if name, _, ok := strings.Cut(kv, "="); ok {
			set[name] = true
		}
	}
	last := make(map[string]int, len(base))
	for i, kv := range base {
		if name, _, ok := strings.Cut(kv, "="); ok {
			last[name] = i
		}
	}
	out := make([]string, 0, len(base)+len(secrets))
	for i, kv := range base {
		name, _, ok := strings.Cut(kv, "=")
		if ok && last[name] == i && !set[name] {
			out = append(out, kv)
		}
	}
	return append(out, secrets...)
}

// Command returns a command, not started, that runs name with args and
// the environment Environ(base, secrets of ws). A nil base means
// [DefaultBase]; the command never inherits the backend's environment (its
// Env is never nil). As with [os/exec.Command], name is looked up in the
// calling process's PATH, not in the child's. ctx kills the process if it
// is done before the command completes.
func (m *Manager) Command(ctx context.Context, ws string, base []string, name string, args ...string) (*exec.Cmd, error) {
	env, err := m.EnvFor(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("secrets: command for workspace %q: %w", ws, err)
	}
	if base == nil {
		base = DefaultBase()
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = Environ(base, env)
	return cmd, nil
}
