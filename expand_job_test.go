package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"

	"github.com/dataspace/secrets"
)

// setExpand sets an expanded secret.
func setExpand(t *testing.T, m *secrets.Manager, ws, name, value string) {
	t.Helper()
	if _, err := m.Set(context.Background(), ws, name, []byte(value), &secrets.SetOptions{Info: &secrets.Info{Expand: true}}); err != nil {
		t.Fatalf("Set %s: %v", name, err)
	}
}

// TestReferencesProvenance: a job that names only DATABASE_URL gets it
// expanded and nothing else; its one event (published and as stored)
// lists the secrets used only as ingredients, marked so, with their
// containers; its Redactor masks them; Config.Authorize sees them in a
// second request and may refuse a group's secret as an ingredient.
func TestReferencesProvenance(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var mu sync.Mutex
		var asked [][]secrets.EventSecret
		var published []secrets.Event
		refuse := false
		m := newManager(t, b.replica(t), newCipher(t), refConfig(&secrets.Config{
			Authorize: func(_ context.Context, r secrets.Request) error {
				mu.Lock()
				defer mu.Unlock()
				if r.Action != secrets.ActionInject {
					return nil
				}
				asked = append(asked, r.Ingredients)
				for _, s := range r.Ingredients {
					if refuse && s.Container != "" {
						return errors.New("no group secret as an ingredient")
					}
				}
				return nil
			},
			OnEvent: func(_ context.Context, e secrets.Event) {
				if e.Action == secrets.ActionInject {
					mu.Lock()
					published = append(published, e)
					mu.Unlock()
				}
			}}))
		ctx := context.Background()
		setExpand(t, m, "w1", "DATABASE_URL", "postgres://app:${DB_PASSWORD}@${HOST}/app")
		mustSet(t, m, "w1", "DB_PASSWORD", "pw-canary-41")
		mustSet(t, m, "g1", "HOST", "db-canary-42")
		mustSet(t, m, "w1", "OTHER", "other-canary-43")
		job, err := m.Prepare(ctx, "w1", &secrets.PrepareOptions{Names: []string{"database_url"}, Base: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		defer job.Close()
		if d := cmp.Diff([]string{"DATABASE_URL=postgres://app:pw-canary-41@db-canary-42/app"}, []string(job.Env)); d != "" {
			t.Fatalf("env (-want +got):\n%s", d)
		}
		out := job.Redactor().RedactString("pw-canary-41 db-canary-42 postgres://app:pw-canary-41@db-canary-42/app")
		if strings.Contains(out, "canary") {
			t.Fatalf("unmasked: %q", out)
		}
		want := []secrets.EventSecret{
			{Name: "DATABASE_URL", Version: 1},
			{Name: "DB_PASSWORD", Version: 1, Ingredient: true},
			{Name: "HOST", Version: 1, Container: "g1", Ingredient: true},
		}
		stored, err := m.Events(ctx, secrets.EventQuery{Workspace: "w1", Action: secrets.ActionInject})
		if err != nil || len(stored) != 1 || len(published) != 1 {
			t.Fatalf("events: %d stored, %d published, %v", len(stored), len(published), err)
		}
		for _, e := range []secrets.Event{published[0], stored[0]} {
			if d := cmp.Diff(want, e.Secrets); d != "" {
				t.Errorf("event secrets (-want +got):\n%s", d)
			}
		}
		wantAsked := [][]secrets.EventSecret{nil, {{Name: "DB_PASSWORD", Version: 1}, {Name: "HOST", Version: 1, Container: "g1"}}}
		if d := cmp.Diff(wantAsked, asked); d != "" {
			t.Errorf("Authorize saw (-want +got):\n%s", d)
		}
		// The host refuses a group's secret as an ingredient: the job
		// gets nothing, and its event says why without a value.
		mu.Lock()
		refuse = true
		mu.Unlock()
		if _, err := m.EnvFor(ctx, "w1"); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatalf("refused ingredient: %v", err)
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "w1", Action: secrets.ActionInject, Newest: true, Limit: 1})
		if err != nil || len(evs) != 1 || evs[0].Outcome != secrets.OutcomeDenied || !strings.Contains(evs[0].Detail, "HOST") ||
			strings.Contains(fmt.Sprintf("%+v", evs[0]), "canary") {
			t.Fatalf("denied event: %+v, %v", evs, err)
		}
	})
}

// TestReferencesMasked: a real child prints its expanded DATABASE_URL,
// its base64 and its URL-escaped form, and the ingredient it did not get
// as an environment variable: Job.Stdout holds none of them.
func TestReferencesMasked(t *testing.T) {
	py := needProgram(t, "python3")
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		setExpand(t, m, "ws", "DATABASE_URL", "postgres://app:${DB_PASSWORD}@db.internal:5432/app?sslmode=require")
		mustSet(t, m, "ws", "DB_PASSWORD", "Kx9$pq-canary&7")
		script := `
import base64, os, urllib.parse
u = os.environ["DATABASE_URL"]
print("url", u)
print("b64", base64.b64encode(u.encode()).decode())
print("quoted", urllib.parse.quote(u, safe=""))
print("quoted-plus", urllib.parse.quote_plus(u))
print("pw", os.environ["DB_PASSWORD"])
print("done")
`
		var out bytes.Buffer
		if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: py, Args: []string{"-c", script}, Stdout: &out}); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		if !strings.Contains(text, "done") || strings.Count(text, "\n") != 6 {
			t.Fatalf("output: %q", text)
		}
		for _, leak := range []string{"canary", "db.internal", "sslmode", "cG9zdGdyZXM6Ly9hcHA6S3g5JHBxLWNhbmFyeSY3QGRiLmludGVybmFs", "postgres%3A%2F%2F", "Kx9"} {
			if strings.Contains(text, leak) {
				t.Errorf("the output holds %q: %q", leak, text)
			}
		}
	})
}

// TestReferencesRawText: no call that returns a value or compares with
// one sees an expansion: Get, GetVersion, Export, Backup and Diff give
// and take the raw text ${DB_PASSWORD}; Versions and List give metadata
// only.
func TestReferencesRawText(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		raw := "postgres://app:${DB_PASSWORD}@db/app"
		setExpand(t, m, "ws", "DATABASE_URL", raw)
		mustSet(t, m, "ws", "DB_PASSWORD", "pw-canary-77")
		expanded := "postgres://app:pw-canary-77@db/app"
		s, err := m.Get(ctx, "ws", "DATABASE_URL")
		if err != nil || string(s.Value.Reveal()) != raw || !s.Expand {
			t.Fatalf("Get: %v %v", s.Expand, err)
		}
		if s, err = m.GetVersion(ctx, "ws", "DATABASE_URL", 1); err != nil || string(s.Value.Reveal()) != raw {
			t.Fatalf("GetVersion: %v", err)
		}
		vs, err := m.Versions(ctx, "ws", "DATABASE_URL")
		if err != nil || strings.Contains(fmt.Sprintf("%+v", vs), "canary") {
			t.Fatalf("Versions: %+v %v", vs, err)
		}
		text, err := m.Export(ctx, "ws", nil)
		if err != nil || !strings.Contains(string(text), "${DB_PASSWORD}") || strings.Contains(string(text), expanded) {
			t.Fatalf("Export: %q %v", text, err)
		}
		doc, err := m.Backup(ctx, "ws", nil)
		if err != nil || strings.Contains(string(doc), "pw-canary-77@db") {
			t.Fatalf("Backup: %v", err)
		}
		d, err := m.Diff(ctx, "ws", text, nil)
		if err != nil || len(d.Changed)+len(d.Added) != 0 {
			t.Fatalf("Diff of the export: %+v %v", d, err)
		}
		d, err = m.Diff(ctx, "ws", []byte("DATABASE_URL="+expanded+"\nDB_PASSWORD=pw-canary-77\n"), nil)
		if err != nil || len(d.Changed) != 1 || d.Changed[0] != "DATABASE_URL" {
			t.Fatalf("Diff of the expansion: %+v %v", d, err)
		}
		// A job, though, gets the expansion.
		env, err := m.EnvFor(ctx, "ws")
		if err != nil || !slices.Contains(env, "DATABASE_URL="+expanded) {
			t.Fatalf("EnvFor: %v", err)
		}
	})
}

// TestPostgresReferencesTamper: the expand flag (bit 8 of flags) cleared
// or set in the database makes the value fail to decrypt, for a job and
// for Get: a raw value cannot be made to expand, nor an expanded one to
// reach a job as its raw text.
func TestPostgresReferencesTamper(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	c := newCipher(t)
	m := newManager(t, s, c, nil)
	ctx := context.Background()
	setExpand(t, m, "unexpand", "URL", "u:${PW}")
	mustSet(t, m, "unexpand", "PW", "pw-canary-1")
	mustSet(t, m, "expand", "URL", "u:${PW}")
	mustSet(t, m, "expand", "PW", "pw-canary-2")
	sch := pq.QuoteIdentifier(s.Schema())
	for _, q := range []string{
		`UPDATE S.secrets SET flags = flags & ~8 WHERE workspace = 'unexpand' AND name = 'URL'`,
		`UPDATE S.versions SET flags = flags & ~8 WHERE workspace = 'unexpand' AND name = 'URL'`,
		`UPDATE S.secrets SET flags = flags | 8 WHERE workspace = 'expand' AND name = 'URL'`,
		`UPDATE S.versions SET flags = flags | 8 WHERE workspace = 'expand' AND name = 'URL'`,
	} {
		if _, err := db.Exec(strings.ReplaceAll(q, "S.", sch+".")); err != nil {
			t.Fatal(err)
		}
	}
	for _, ws := range []string{"unexpand", "expand"} {
		env, err := newManager(t, s, c, nil).EnvFor(ctx, ws)
		var de *secrets.DecryptError
		if !errors.As(err, &de) || env != nil || strings.Contains(err.Error(), "canary") {
			t.Errorf("%s: a job got %v, %v; want a DecryptError", ws, env, err)
		}
		if _, err := newManager(t, s, c, nil).Get(ctx, ws, "URL"); !errors.Is(err, secrets.ErrDecrypt) {
			t.Errorf("%s: Get: %v", ws, err)
		}
	}
}

// TestReferencesBackupRestore: a backup keeps the raw text and the flag,
// and a restore brings both back: the restored workspace's job expands
// as the source's does.
func TestReferencesBackupRestore(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		setExpand(t, m, "src", "URL", "u:${PW}")
		mustSet(t, m, "src", "PW", "pw-canary-9")
		doc, err := m.Backup(ctx, "src", nil)
		if err != nil || !strings.Contains(string(doc), `"expand": true`) {
			t.Fatalf("Backup: %s, %v", doc, err)
		}
		plan, err := m.PreviewRestore(ctx, "dst", doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, "dst", doc, plan, nil); err != nil {
			t.Fatal(err)
		}
		got, err := m.Get(ctx, "dst", "URL")
		if err != nil || !got.Expand || string(got.Value.Reveal()) != "u:${PW}" {
			t.Fatalf("restored URL: expand %v, %v", got.Expand, err)
		}
		env, err := m.EnvFor(ctx, "dst")
		if err != nil || !slices.Contains(env, "URL=u:pw-canary-9") {
			t.Fatalf("the restored job: %v", err)
		}
	})
}

// TestReferencesExpiredIngredient: an ingredient past its expiry counts
// as one the job got: PreparedJob.Expired names it, and with
// ExpiredRefuse the job fails; with ExpiredOmit it is absent, so the
// reference is unknown.
func TestReferencesExpiredIngredient(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.replica(t)
		c := newCipher(t)
		m := newManager(t, s, c, nil)
		setExpand(t, m, "ws", "URL", "u:${PW}")
		past := time.Now().Add(-time.Hour).UTC()
		if _, err := m.Set(ctx, "ws", "PW", []byte("pw-canary-5"), &secrets.SetOptions{Info: &secrets.Info{Expires: past}}); err != nil {
			t.Fatal(err)
		}
		names := &secrets.PrepareOptions{Names: []string{"URL"}, Base: []string{}}
		job, err := m.Prepare(ctx, "ws", names)
		if err != nil || len(job.Expired) != 1 || job.Expired[0] != "PW" || !slices.Contains(job.Env, "URL=u:pw-canary-5") {
			t.Fatalf("deliver: %v, %v", job, err)
		}
		job.Close()
		refuse := newManager(t, s, c, &secrets.Config{Expired: secrets.ExpiredRefuse})
		if _, err := refuse.Prepare(ctx, "ws", names); !errors.Is(err, secrets.ErrExpired) || strings.Contains(err.Error(), "canary") {
			t.Fatalf("refuse: %v", err)
		}
		omit := newManager(t, s, c, &secrets.Config{Expired: secrets.ExpiredOmit})
		if _, err := omit.Prepare(ctx, "ws", names); !errors.Is(err, secrets.ErrReference) {
			t.Fatalf("omit: %v", err)
		}
	})
}

// TestReferencesEnvBudget: a job whose environment expansion takes over
// Config.MaxEnvBytes fails with a size ReferenceError, though every value
// was saved within the budget.
func TestReferencesEnvBudget(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m := newManager(t, s, newCipher(t), &secrets.Config{MaxEnvBytes: 4096})
		mustSet(t, m, "ws", "A", strings.Repeat("a", 1500))
		setExpand(t, m, "ws", "X", "${A}${A}${A}")
		_, err := m.EnvFor(context.Background(), "ws")
		var re *secrets.ReferenceError
		if !errors.As(err, &re) || re.Kind != secrets.ReferenceSize || strings.Contains(err.Error(), "aaaa") {
			t.Fatalf("EnvFor: %v", err)
		}
	})
}

// TestReferencesExpansionBounded: an editor who saves one large secret
// and imports many tiny ones that each reference it (within the
// workspace's budget: each counts its raw bytes) makes every job of the
// workspace fail with a size ReferenceError, having built no more than
// about Config.MaxEnvBytes of expansions, or 64 MiB without a limit: it
// expanded every one of them before checking the total (N × 128 KiB;
// 16,000 of them took 2 GiB).
func TestReferencesExpansionBounded(t *testing.T) {
	const n = 1000 // without the bound: n × 127 KiB = 124 MiB
	for _, c := range []struct {
		maxEnv int64  // Config.MaxEnvBytes
		bound  uint64 // the most a job may allocate
	}{
		// The read (B and n small values, decrypted) and at most the
		// budget of expansions.
		{0, 4 << 20}, // the default, 1 MiB
		{-1, 68 << 20},
	} {
		t.Run(fmt.Sprint(c.maxEnv), func(t *testing.T) {
			ctx := context.Background()
			m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{MaxEnvBytes: c.maxEnv})
			mustSet(t, m, "ws", "B", strings.Repeat("b", 127<<10))
			var text, flags strings.Builder
			flags.WriteString("# expand:")
			for i := range n {
				fmt.Fprintf(&text, "Q%d=${B}\n", i)
				fmt.Fprintf(&flags, " Q%d", i)
			}
			if _, err := m.Import(ctx, "ws", []byte(flags.String()+"\n"+text.String()), nil); err != nil {
				t.Fatalf("Import: %v", err)
			}
			for _, job := range []string{"EnvFor", "Prepare"} {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				var err error
				if job == "EnvFor" {
					_, err = m.EnvFor(ctx, "ws")
				} else {
					_, err = m.Prepare(ctx, "ws", nil)
				}
				runtime.ReadMemStats(&after)
				var re *secrets.ReferenceError
				if !errors.As(err, &re) || re.Kind != secrets.ReferenceSize || strings.Contains(err.Error(), "bbbb") {
					t.Fatalf("%s: %v; want a size ReferenceError", job, err)
				}
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > c.bound {
					t.Fatalf("%s allocated %d bytes; want at most %d", job, alloc, c.bound)
				}
			}
		})
	}
}

// A job of one workspace records its inject event in its read's own
// statement; when the host then refuses an ingredient, that event stays,
// and the denial that follows names it and says the job got nothing.
func TestReferencesRefusedAfterRead(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{
			Authorize: func(_ context.Context, r secrets.Request) error {
				if len(r.Ingredients) > 0 {
					return errors.New("no ingredients")
				}
				return nil
			}})
		ctx := context.Background()
		setExpand(t, m, "solo", "DATABASE_URL", "postgres://app:${DB_PASSWORD}@db/app")
		mustSet(t, m, "solo", "DB_PASSWORD", "pw-canary-51")
		if env, err := m.EnvFor(ctx, "solo"); !errors.Is(err, secrets.ErrForbidden) || env != nil {
			t.Fatalf("a refused ingredient: %v, %d variables", err, len(env))
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "solo", Action: secrets.ActionInject})
		if err != nil {
			t.Fatal(err)
		}
		var read, denial *secrets.Event
		for i := range evs {
			switch evs[i].Outcome {
			case secrets.OutcomeOK:
				read = &evs[i]
			case secrets.OutcomeDenied:
				denial = &evs[i]
			}
		}
		if denial == nil {
			t.Fatalf("no denial among %+v", evs)
		}
		if read != nil && !strings.Contains(denial.Detail, fmt.Sprintf("inject event %d", read.ID)) {
			t.Fatalf("the denial does not name the read's event %d: %q", read.ID, denial.Detail)
		}
		if strings.Contains(fmt.Sprintf("%+v", evs), "canary") {
			t.Fatal("an event holds a value")
		}
	})
}

// TestReferencesParentFillsOpenName pins what the README says a parent
// may do (an attacker trial): where the workspace's own secret of a
// referenced name does not apply to the job (protected, in an unprotected
// job), the parent's value fills the reference; a job the workspace's
// secret applies to gets that one; a host that refuses parents'
// ingredients (Request.Ingredients) stops the first job.
func TestReferencesParentFillsOpenName(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, c := b.replica(t), newCipher(t)
		m := newManager(t, s, c, &secrets.Config{Parents: chain(wsLevels)})
		setExpand(t, m, "ws", "DATABASE_URL", "postgres://app:${DB_PASSWORD}@${DB_HOST}/app")
		mustSet(t, m, "ws", "DB_PASSWORD", "ws-password")
		if _, err := m.Set(ctx, "ws", "DB_HOST@production", []byte("db.internal"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "group:acme", "DB_HOST", "evil.example")
		url := func(m *secrets.Manager, protected bool) (string, error) {
			p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: "production", Protected: protected, Base: []string{}, Names: []string{"DATABASE_URL"}})
			if err != nil {
				return "", err
			}
			defer p.Close()
			return strings.TrimPrefix(p.Env[0], "DATABASE_URL="), nil
		}
		if got, err := url(m, true); err != nil || got != "postgres://app:ws-password@db.internal/app" {
			t.Errorf("a protected job: %q, %v", got, err)
		}
		if got, err := url(m, false); err != nil || got != "postgres://app:ws-password@evil.example/app" {
			t.Errorf("an unprotected job: %q, %v; want the group's host, as the README says", got, err)
		}
		strict := newManager(t, s, c, &secrets.Config{Parents: chain(wsLevels),
			Authorize: func(_ context.Context, r secrets.Request) error {
				for _, in := range r.Ingredients {
					if in.Container != "" {
						return fmt.Errorf("%s of %s is not the workspace's", in.Name, in.Container)
					}
				}
				return nil
			}})
		if got, err := url(strict, false); !errors.Is(err, secrets.ErrForbidden) {
			t.Errorf("an unprotected job of a host that refuses parents' ingredients: %q, %v", got, err)
		}
		if got, err := url(strict, true); err != nil || got != "postgres://app:ws-password@db.internal/app" {
			t.Errorf("a protected job of that host: %q, %v", got, err)
		}
	})
}
