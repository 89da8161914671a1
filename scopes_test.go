package secrets_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"

	"github.com/dataspace/secrets"
)

// scopeFixture is one secret of the scopes table's three levels.
type scopeFixture struct {
	label     string // what the table's rows name it by
	container string
	name      string // with its scope
	value     string
	info      secrets.Info
	deleted   bool
}

// scopeFixtures: a workspace "ws" under "group:acme" under "instance",
// with each variable spread across levels and scopes so that every part
// of the rule decides some row of the table.
func scopeFixtures(now time.Time) []scopeFixture {
	prot := secrets.Info{Protected: true}
	return []scopeFixture{
		{label: "i-token", container: "instance", name: "TOKEN", value: "i-any"},
		{label: "g-token-review", container: "group:acme", name: "TOKEN@review/*", value: "g-review"},
		{label: "g-token-prod", container: "group:acme", name: "TOKEN@production", value: "g-prod"},
		{label: "w-token-feature", container: "ws", name: "TOKEN@review/feature-*", value: "w-feature"},
		{label: "w-token-prod", container: "ws", name: "TOKEN@production", value: "w-prod", info: prot},
		// The GitLab example: review/foo over review/* over *.
		{label: "w-url", container: "ws", name: "URL", value: "w-url"},
		{label: "w-url-foo", container: "ws", name: "URL@review/foo", value: "w-url-foo"},
		{label: "w-url-review", container: "ws", name: "URL@review/*", value: "w-url-review"},
		{label: "i-key-prod", container: "instance", name: "KEY@production", value: "i-prod-key", info: prot},
		{label: "g-key", container: "group:acme", name: "KEY", value: "g-key"},
		{label: "w-old", container: "ws", name: "OLD", value: "w-old", info: secrets.Info{Expires: now.Add(-time.Hour)}},
		{label: "g-old", container: "group:acme", name: "OLD", value: "g-old"},
		{label: "w-gone-staging", container: "ws", name: "GONE@staging", value: "w-gone", deleted: true},
		{label: "i-gone-staging", container: "instance", name: "GONE@staging", value: "i-staging"},
		{label: "g-held", container: "group:acme", name: "HELD", value: "g-held"},
		{label: "i-held", container: "instance", name: "HELD", value: "i-held"},
		{label: "w-prot", container: "ws", name: "PROT", value: "w-prot", info: prot},
		{label: "g-prot", container: "group:acme", name: "PROT", value: "g-prot"},
		{label: "w-prot-review", container: "ws", name: "PROT@review/*", value: "w-prot-review", info: prot},
	}
}

// scopeRows: each row is a job (environment, protected) and, for every
// variable, the fixture it gets ("" for none). Withheld: the host keeps
// HELD from jobs in production.
var scopeRows = []struct {
	env       string
	protected bool
	want      map[string]string // variable -> fixture label
	withheld  []string          // fixture labels
}{
	// No environment: only "*" matches.
	{"", false, map[string]string{"TOKEN": "i-token", "URL": "w-url", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "g-prot"}, nil},
	// A protected job gets the workspace's protected PROT.
	{"", true, map[string]string{"TOKEN": "i-token", "URL": "w-url", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "w-prot"}, nil},
	// production, unprotected: the workspace's protected TOKEN is absent,
	// so the group's exact scope applies; HELD is withheld and nothing
	// stands in for it.
	{"production", false, map[string]string{"TOKEN": "g-token-prod", "URL": "w-url", "KEY": "g-key", "OLD": "g-old", "PROT": "g-prot"}, []string{"g-held"}},
	// production, protected: the workspace's exact scope wins; KEY stays
	// the group's (nearer than the instance's protected exact one).
	{"production", true, map[string]string{"TOKEN": "w-token-prod", "URL": "w-url", "KEY": "g-key", "OLD": "g-old", "PROT": "w-prot"}, []string{"g-held"}},
	// The GitLab example: the exact scope beats the pattern and "*".
	{"review/foo", false, map[string]string{"TOKEN": "g-token-review", "URL": "w-url-foo", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "g-prot"}, nil},
	// The longest pattern beats a shorter one, at the nearest level.
	{"review/feature-1", false, map[string]string{"TOKEN": "w-token-feature", "URL": "w-url-review", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "g-prot"}, nil},
	// A protected review job: the workspace's protected review/* PROT.
	{"review/feature-1", true, map[string]string{"TOKEN": "w-token-feature", "URL": "w-url-review", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "w-prot-review"}, nil},
	// A pattern matches an environment equal to its prefix.
	{"review/feature-", false, map[string]string{"TOKEN": "w-token-feature", "URL": "w-url-review", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "g-prot"}, nil},
	{"review/bar", false, map[string]string{"TOKEN": "g-token-review", "URL": "w-url-review", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "g-prot"}, nil},
	// "review" is not under "review/*".
	{"review", false, map[string]string{"TOKEN": "i-token", "URL": "w-url", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "g-prot"}, nil},
	// The workspace's staging GONE is deleted: the instance's applies.
	{"staging", false, map[string]string{"TOKEN": "i-token", "URL": "w-url", "KEY": "g-key", "OLD": "g-old", "GONE": "i-gone-staging", "HELD": "g-held", "PROT": "g-prot"}, nil},
	// Scopes compare byte for byte: Production is not production.
	{"Production", false, map[string]string{"TOKEN": "i-token", "URL": "w-url", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "g-prot"}, nil},
	{"Production", true, map[string]string{"TOKEN": "i-token", "URL": "w-url", "KEY": "g-key", "OLD": "g-old", "HELD": "g-held", "PROT": "w-prot"}, nil},
}

// setScopeFixtures writes fs through m.
func setScopeFixtures(t *testing.T, m *secrets.Manager, fs []scopeFixture) {
	t.Helper()
	ctx := context.Background()
	for _, f := range fs {
		info := f.info
		meta, err := m.Set(ctx, f.container, f.name, []byte(f.value), &secrets.SetOptions{Info: &info})
		if err != nil {
			t.Fatalf("Set %s %s: %v", f.container, f.name, err)
		}
		if f.deleted {
			if _, err := m.Delete(ctx, f.container, f.name, nil); err != nil {
				t.Fatal(err)
			}
		}
		v, s := secrets.SplitName(f.name)
		if meta.Variable != v || meta.Scope != s || meta.Protected != f.info.Protected {
			t.Fatalf("Set %s: Meta %+v", f.name, meta)
		}
	}
}

// TestScopesResolve is the resolution table of environment scopes,
// protection and levels: for each job, every variable's value through
// Prepare, the event's provenance (container, scope, version) and
// Resolve's preview agree with the table.
func TestScopesResolve(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		var published []secrets.Event
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Parents: chain(wsLevels),
			Expired: secrets.ExpiredOmit, Now: func() time.Time { return now },
			Withhold: func(_ context.Context, r secrets.Request, o secrets.Offer) bool {
				return r.Environment == "production" && o.Variable == "HELD"
			},
			OnEvent: func(_ context.Context, e secrets.Event) {
				if e.Action == secrets.ActionInject {
					mu.Lock()
					published = append(published, e)
					mu.Unlock()
				}
			}})
		fs := scopeFixtures(now)
		setScopeFixtures(t, m, fs)
		byLabel := map[string]scopeFixture{}
		for _, f := range fs {
			byLabel[f.label] = f
		}
		ctx := context.Background()
		cases := 0
		for _, row := range scopeRows {
			mu.Lock()
			published = nil
			mu.Unlock()
			job, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: row.env, Protected: row.protected, Base: []string{}})
			if err != nil {
				t.Fatalf("%q protected=%v: %v", row.env, row.protected, err)
			}
			got := map[string]string{}
			for _, kv := range job.Env {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			job.Close()
			want := map[string]string{}
			var wantSecrets []secrets.EventSecret
			for variable, label := range row.want {
				f := byLabel[label]
				want[variable] = f.value
				wantSecrets = append(wantSecrets, secrets.EventSecret{Name: f.name, Version: 1, Container: containerOf(f)})
				cases++
			}
			for _, label := range row.withheld {
				f := byLabel[label]
				wantSecrets = append(wantSecrets, secrets.EventSecret{Name: f.name, Version: 1, Container: containerOf(f), Withheld: true})
				cases++
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("job in %q, protected=%v (-want +got):\n%s", row.env, row.protected, d)
			}
			sort.Slice(wantSecrets, func(i, j int) bool { return wantSecrets[i].Name < wantSecrets[j].Name })
			// One event per job, naming the environment and, for each
			// secret, where it came from.
			mu.Lock()
			events := published
			mu.Unlock()
			stored, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Newest: true, Limit: 1})
			if err != nil || len(events) != 1 || len(stored) != 1 || stored[0].ID != events[0].ID {
				t.Fatalf("events of one job: published %+v, stored %+v, %v", events, stored, err)
			}
			for _, e := range []secrets.Event{events[0], stored[0]} {
				if e.Environment != row.env || e.Protected != row.protected {
					t.Errorf("event of a job in %q, protected=%v: environment %q, protected %v", row.env, row.protected, e.Environment, e.Protected)
				}
				if d := cmp.Diff(wantSecrets, e.Secrets); d != "" {
					t.Errorf("event of a job in %q, protected=%v (-want +got):\n%s", row.env, row.protected, d)
				}
			}
			// The preview says the same, with no value.
			rs, err := m.Resolve(ctx, "ws", &secrets.ResolveOptions{Environment: row.env, Protected: row.protected})
			if err != nil {
				t.Fatal(err)
			}
			var delivered, withheld []secrets.EventSecret
			for _, r := range rs {
				es := secrets.EventSecret{Name: r.Name, Version: r.Version, Container: r.Container}
				if es.Container == "ws" {
					es.Container = ""
				}
				switch r.Status {
				case secrets.ResolvedDelivered:
					delivered = append(delivered, es)
				case secrets.ResolvedWithheld:
					es.Withheld = true
					withheld = append(withheld, es)
				}
			}
			all := append(delivered, withheld...)
			sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
			if d := cmp.Diff(wantSecrets, all); d != "" {
				t.Errorf("Resolve in %q, protected=%v (-want +got):\n%s", row.env, row.protected, d)
			}
		}
		if cases < 25 {
			t.Fatalf("the table decides %d cases, want at least 25", cases)
		}
	})
}

// containerOf is the EventSecret.Container of a fixture.
func containerOf(f scopeFixture) string {
	if f.container == "ws" {
		return ""
	}
	return f.container
}

// TestScopesResolveStatuses: Resolve says why each secret a job does not
// get is left out.
func TestScopesResolveStatuses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Parents: chain(wsLevels),
			Expired: secrets.ExpiredOmit, Now: func() time.Time { return now }})
		setScopeFixtures(t, m, scopeFixtures(now))
		rs, err := m.Resolve(context.Background(), "ws", &secrets.ResolveOptions{Environment: "production"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rs {
			got[r.Container+" "+r.Name] = r.Status
		}
		want := map[string]string{
			"instance TOKEN":              "overridden",
			"group:acme TOKEN@review/*":   "other-environment",
			"group:acme TOKEN@production": "delivered",
			"ws TOKEN@review/feature-*":   "other-environment",
			"ws TOKEN@production":         "protected",
			"ws URL":                      "delivered",
			"ws URL@review/foo":           "other-environment",
			"ws URL@review/*":             "other-environment",
			"instance KEY@production":     "protected",
			"group:acme KEY":              "delivered",
			"ws OLD":                      "expired",
			"group:acme OLD":              "delivered",
			"instance GONE@staging":       "other-environment",
			"group:acme HELD":             "delivered",
			"instance HELD":               "overridden",
			"ws PROT":                     "protected",
			"group:acme PROT":             "delivered",
			"ws PROT@review/*":            "other-environment",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("statuses (-want +got):\n%s", d)
		}
		// Sorted by variable, nearest level first, most specific first.
		var order []string
		for _, r := range rs {
			if r.Variable == "TOKEN" {
				order = append(order, r.Container+" "+r.Scope)
			}
		}
		if d := cmp.Diff([]string{"ws production", "ws review/feature-*", "group:acme production", "group:acme review/*", "instance *"}, order); d != "" {
			t.Errorf("order (-want +got):\n%s", d)
		}
	})
}

// TestScopesDefaultJob: EnvFor and a job without options get only the
// "*" scope's unprotected secrets, and the event, resolved through the
// Store (the read's own statement on Postgres), names exactly those.
func TestScopesDefaultJob(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "ws", "PLAIN", "plain-value")
		mustSet(t, m, "ws", "PLAIN@production", "prod-value")
		if _, err := m.Set(ctx, "ws", "HIDDEN", []byte("hidden-value"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		env, err := m.EnvFor(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"PLAIN=plain-value"}, env); d != "" {
			t.Fatalf("EnvFor (-want +got):\n%s", d)
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Newest: true, Limit: 1})
		if err != nil || len(evs) != 1 {
			t.Fatalf("Events: %v %v", evs, err)
		}
		if d := cmp.Diff([]secrets.EventSecret{{Name: "PLAIN", Version: 1}}, evs[0].Secrets); d != "" {
			t.Errorf("the default job's event (-want +got):\n%s", d)
		}
		// A subset by name: the protected one is not there for it.
		if _, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"HIDDEN"}}); !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("an unprotected job naming a protected secret: %v", err)
		}
		// A job may not name a scope: it names variables.
		if _, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"PLAIN@production"}}); !errors.Is(err, secrets.ErrInvalidName) {
			t.Errorf("a job naming a scoped secret: %v", err)
		}
		job, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"plain"}, Environment: "production", Protected: true, Base: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		defer job.Close()
		if d := cmp.Diff([]string{"PLAIN=prod-value"}, []string(job.Env)); d != "" {
			t.Errorf("a subset in production (-want +got):\n%s", d)
		}
	})
}

// TestScopesBadInput: a bad scope or environment is ErrInvalidScope and
// changes nothing; names are unique ignoring case within a scope, not
// across scopes.
func TestScopesBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "ws", "A", "a")
		for _, name := range []string{"A@", "A@x@y", "A@@", "A@**", "A@a*b", "A@*", "A@*x", "A@ prod", "A@prod\x01", "A@prod\u200b",
			"A@" + strings.Repeat("p", 256), "A@prod\tx", "A@\xff"} {
			if _, err := m.Set(ctx, "ws", name, []byte("v"), nil); !errors.Is(err, secrets.ErrInvalidScope) {
				t.Errorf("Set %q: %v, want ErrInvalidScope", name, err)
			}
		}
		if _, err := m.Set(ctx, "ws", "1A@prod", []byte("v"), nil); !errors.Is(err, secrets.ErrInvalidName) {
			t.Errorf("a bad variable with a good scope: %v", err)
		}
		if _, err := m.Set(ctx, "ws", "PATH@prod", []byte("v"), nil); !errors.Is(err, secrets.ErrReservedName) {
			t.Errorf("a denied variable in a scope: %v", err)
		}
		if got := listAll(t, m, "ws"); len(got) != 1 {
			t.Fatalf("bad input wrote: %+v", got)
		}
		for _, env := range []string{"*", "review/*", " x", "a\nb", strings.Repeat("e", 256)} {
			_, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: env})
			if !errors.Is(err, secrets.ErrInvalidScope) {
				t.Errorf("a job in %q: %v, want ErrInvalidScope", env, err)
			}
			if _, err := m.Resolve(ctx, "ws", &secrets.ResolveOptions{Environment: env}); !errors.Is(err, secrets.ErrInvalidScope) {
				t.Errorf("Resolve in %q: %v, want ErrInvalidScope", env, err)
			}
		}
		// One name per scope, ignoring case; any number of scopes.
		mustSet(t, m, "ws", "A@production", "p")
		mustSet(t, m, "ws", "A@review/*", "r")
		var exists *secrets.ExistsError
		if _, err := m.Set(ctx, "ws", "a@production", []byte("x"), nil); !errors.As(err, &exists) || exists.Name != "A@production" {
			t.Errorf("another spelling in the same scope: %v", err)
		}
		// Scopes of one name that differ only in case are refused too.
		if _, err := m.Set(ctx, "ws", "A@Production", []byte("x"), nil); !errors.As(err, &exists) {
			t.Errorf("a scope differing in case only: %v", err)
		}
		if v := mustGet(t, m, "ws", "A@production"); v != "p" {
			t.Errorf("Get A@production = %q", v)
		}
		// Moving a secret to another scope is a rename.
		if _, err := m.Rename(ctx, "ws", "A@review/*", "A@staging", nil); err != nil {
			t.Fatal(err)
		}
		if v := mustGet(t, m, "ws", "A@staging"); v != "r" {
			t.Errorf("after the move: %q", v)
		}
		if _, err := m.Rename(ctx, "ws", "A@staging", "A@", nil); !errors.Is(err, secrets.ErrInvalidScope) {
			t.Errorf("a move to a bad scope: %v", err)
		}
	})
}

// TestScopesProtectedFlag: Protected can be set and cleared with SetInfo,
// and the jobs follow; the Meta says so.
func TestScopesProtectedFlag(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "ws", "DEPLOY_KEY", "k1")
		if _, err := m.Set(ctx, "ws", "DEPLOY_KEY", []byte("k2"), nil); err != nil { // two versions, both resealed below
			t.Fatal(err)
		}
		meta, err := m.SetInfo(ctx, "ws", "DEPLOY_KEY", secrets.Info{Protected: true}, nil)
		if err != nil || !meta.Protected {
			t.Fatalf("SetInfo: %+v, %v", meta, err)
		}
		if env := envMap(t, m, "ws"); len(env) != 0 {
			t.Fatalf("an unprotected job got %v", env)
		}
		job, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Protected: true, Base: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		job.Close()
		if d := cmp.Diff([]string{"DEPLOY_KEY=k2"}, []string(job.Env)); d != "" {
			t.Fatalf("a protected job (-want +got):\n%s", d)
		}
		if got, err := m.GetVersion(ctx, "ws", "DEPLOY_KEY", 1); err != nil || string(got.Value.Reveal()) != "k1" {
			t.Fatalf("the resealed version 1: %v", err)
		}
		if _, err := m.SetInfo(ctx, "ws", "DEPLOY_KEY", secrets.Info{}, nil); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]string{"DEPLOY_KEY": "k2"}, envMap(t, m, "ws")); d != "" {
			t.Fatalf("after clearing Protected (-want +got):\n%s", d)
		}
	})
}

// TestPostgresScopesTamper changes, with SQL, what decides who gets a
// scoped or protected secret, as someone with write access to the
// database would: each change makes the value fail to decrypt rather than
// reach a job it was kept from.
func TestPostgresScopesTamper(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	c := newCipher(t)
	m := newManager(t, s, c, nil)
	ctx := context.Background()
	for _, ws := range []string{"unprotect", "rescope", "unscope"} {
		if _, err := m.Set(ctx, ws, "DEPLOY", []byte(ws+"-protected-canary"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, ws, "TOKEN@production", ws+"-prod-canary")
		mustSet(t, m, ws, "PLAIN", "plain")
	}
	sch := pq.QuoteIdentifier(s.Schema())
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(strings.ReplaceAll(q, "S.", sch+".")); err != nil {
			t.Fatal(err)
		}
	}
	jobEnv := func(ws, env string) ([]string, error) {
		t.Helper()
		job, err := newManager(t, s, c, nil).Prepare(ctx, ws, &secrets.PrepareOptions{Environment: env, Base: []string{}})
		if err != nil {
			return nil, err
		}
		job.Close()
		return job.Env, nil
	}
	// The protected flag cleared: an unprotected job would get DEPLOY.
	exec(`UPDATE S.secrets SET flags = flags & ~4 WHERE workspace = 'unprotect' AND name = 'DEPLOY'`)
	exec(`UPDATE S.versions SET flags = flags & ~4 WHERE workspace = 'unprotect' AND name = 'DEPLOY'`)
	// The scope moved: a staging job would get production's token.
	exec(`UPDATE S.secrets SET name = 'TOKEN@staging', name_key = 'token@staging' WHERE workspace = 'rescope' AND name = 'TOKEN@production'`)
	exec(`UPDATE S.versions SET name = 'TOKEN@staging' WHERE workspace = 'rescope' AND name = 'TOKEN@production'`)
	// The scope removed: every job would get production's token.
	exec(`UPDATE S.secrets SET name = 'TOKEN', name_key = 'token' WHERE workspace = 'unscope' AND name = 'TOKEN@production'`)
	exec(`UPDATE S.versions SET name = 'TOKEN' WHERE workspace = 'unscope' AND name = 'TOKEN@production'`)
	for _, tc := range []struct{ ws, env, name string }{
		{"unprotect", "", "DEPLOY"}, {"rescope", "staging", "TOKEN@staging"}, {"unscope", "", "TOKEN"},
	} {
		env, err := jobEnv(tc.ws, tc.env)
		var de *secrets.DecryptError
		if !errors.As(err, &de) || env != nil || strings.Contains(err.Error(), "canary") {
			t.Errorf("%s: a job in %q got %v, %v; want a DecryptError", tc.ws, tc.env, env, err)
		}
		if _, err := newManager(t, s, c, nil).Get(ctx, tc.ws, tc.name); !errors.Is(err, secrets.ErrDecrypt) {
			t.Errorf("%s: Get %s: %v", tc.ws, tc.name, err)
		}
	}
}
