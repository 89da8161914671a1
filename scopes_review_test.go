package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataspace/secrets"
)

// The findings of a review of scopes by someone trying to break them,
// each a test that failed before its fix.

// TestScopesRedactorPerValues: two jobs of one state that got different
// values (another environment, protection) never share a Redactor: each
// masks what it got, and never a value withheld from it (whose masking
// told a job what the value begins with: see TestWithheldNotMasked).
func TestScopesRedactorPerValues(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		c := newCipher(t)
		m := newManager(t, b.replica(t), c, &secrets.Config{
			Withhold: func(_ context.Context, r secrets.Request, o secrets.Offer) bool {
				return r.Environment == "production" && o.Variable == "HELD" || r.Environment == "qa" && o.Variable == "HELD2"
			}})
		ctx := context.Background()
		mustSet(t, m, "ws", "TOKEN", "dev-token-value")
		if _, err := m.Set(ctx, "ws", "TOKEN@production", []byte("PROD-PROTECTED-SECRET"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "ws", "HELD", "HELD-VALUE-XYZ")
		prepare := func(o secrets.PrepareOptions) *secrets.PreparedJob {
			t.Helper()
			o.Base = []string{}
			p, err := m.Prepare(ctx, "ws", &o)
			if err != nil {
				t.Fatal(err)
			}
			p.Close()
			return p
		}
		// A staging job of the same variables caches a Redactor first.
		prepare(secrets.PrepareOptions{Environment: "staging", Names: []string{"TOKEN"}})
		prod := prepare(secrets.PrepareOptions{Environment: "production", Protected: true})
		if d := cmp.Diff([]string{"TOKEN=PROD-PROTECTED-SECRET"}, []string(prod.Env)); d != "" {
			t.Fatalf("(-want +got):\n%s", d)
		}
		out := prod.Redactor().RedactString("log: PROD-PROTECTED-SECRET and HELD-VALUE-XYZ")
		if strings.Contains(out, "PROD-PROTECTED") || !strings.Contains(out, "HELD-VALUE-XYZ") {
			t.Errorf("the protected job's output: %q", out)
		}
		dev := prepare(secrets.PrepareOptions{Environment: "staging", Names: []string{"TOKEN"}})
		if out := dev.Redactor().RedactString("PROD-PROTECTED-SECRET"); out != "PROD-PROTECTED-SECRET" {
			t.Errorf("an unprotected job's Redactor masks the protected value (it can test guesses of it): %q", out)
		}
		// The same values delivered, one withheld: the production job that
		// names TOKEN and HELD gets what the staging job got (whose
		// Redactor is cached), and does not mask HELD either.
		// And one withheld value of the same length as another's.
		mustSet(t, m, "ws", "HELD2", "HELD-VALUE-QRS")
		prepare(secrets.PrepareOptions{Environment: "staging", Names: []string{"TOKEN"}})
		for _, j := range []struct{ env, name, value string }{{"production", "HELD", "HELD-VALUE-XYZ"}, {"qa", "HELD2", "HELD-VALUE-QRS"}} {
			env, v := j.env, j.value
			held := prepare(secrets.PrepareOptions{Environment: env, Names: []string{"TOKEN", j.name}})
			if d := cmp.Diff([]string{"TOKEN=dev-token-value"}, []string(held.Env)); d != "" {
				t.Fatalf("the %s job with a withheld value (-want +got):\n%s", env, d)
			}
			if out := held.Redactor().RedactString("log: " + v); !strings.Contains(out, v) {
				t.Errorf("the %s job, which had %s withheld, masks it: %q", env, v, out)
			}
		}
		// The same variables and no withheld value, other values: a
		// Manager without Withhold.
		plain := newManager(t, b.replica(t), c, nil)
		mustSet(t, plain, "ws2", "TOKEN", "dev-token-value")
		if _, err := plain.Set(ctx, "ws2", "TOKEN@production", []byte("PROD-PROTECTED-SECRET"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		for _, o := range []secrets.PrepareOptions{{Environment: "staging"}, {Environment: "production", Protected: true}} {
			o.Base = []string{}
			p, err := plain.Prepare(ctx, "ws2", &o)
			if err != nil {
				t.Fatal(err)
			}
			p.Close()
			value := strings.TrimPrefix(p.Env[0], "TOKEN=")
			if out := p.Redactor().RedactString(value); strings.Contains(out, value) {
				t.Errorf("a job in %s does not mask the value it got: %q", o.Environment, out)
			}
		}
	})
}

// TestScopesWithholdEveryJob: Withhold is asked for every job, the default
// one too, and told the variable apart from the scope, so a hook written
// for a variable keeps it out in every scope.
func TestScopesWithholdEveryJob(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var offers []secrets.Offer
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{
			Parents: chain(map[string][]string{"dev-ws": {"instance"}}),
			Withhold: func(_ context.Context, r secrets.Request, o secrets.Offer) bool {
				offers = append(offers, o)
				return o.Container == "instance" && o.Variable == "PROD_DB_PASSWORD"
			}})
		ctx := context.Background()
		mustSet(t, m, "instance", "PROD_DB_PASSWORD@production", "instance-prod-db")
		mustSet(t, m, "instance", "PROD_DB_PASSWORD", "instance-any-db")
		mustSet(t, m, "alone", "HELD", "held")
		for _, env := range []string{"production", ""} {
			p, err := m.Prepare(ctx, "dev-ws", &secrets.PrepareOptions{Environment: env, Base: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			p.Close()
			if len(p.Env) != 0 {
				t.Errorf("a job in %q got %q", env, []string(p.Env))
			}
		}
		want := []secrets.Offer{
			{Container: "instance", Name: "PROD_DB_PASSWORD@production", Variable: "PROD_DB_PASSWORD", Scope: "production"},
			{Container: "instance", Name: "PROD_DB_PASSWORD", Variable: "PROD_DB_PASSWORD", Scope: "*"},
		}
		if d := cmp.Diff(want, offers); d != "" {
			t.Errorf("offers (-want +got):\n%s", d)
		}
		// A workspace without parents, the default job: asked too.
		offers = nil
		if _, err := m.EnvFor(ctx, "alone"); err != nil {
			t.Fatal(err)
		}
		if len(offers) != 1 || offers[0].Variable != "HELD" {
			t.Errorf("EnvFor of a workspace without parents: Withhold asked about %+v", offers)
		}
	})
}

// noUnscoped is a Store written before EnvQuery.Unscoped: it reads every
// secret whatever the read asks.
type noUnscoped struct{ secrets.Store }

func (s noUnscoped) Env(ctx context.Context, ws string, q secrets.EnvQuery) (secrets.Snapshot, error) {
	q.Unscoped, q.Audit = false, nil
	return s.Store.Env(ctx, ws, q)
}

// TestScopesStoreWithoutUnscoped: a Store that ignores EnvQuery.Unscoped
// fails the default job instead of handing it scoped and protected
// secrets.
func TestScopesStoreWithoutUnscoped(t *testing.T) {
	eachStore(t, func(t *testing.T, st secrets.Store) {
		m := newManager(t, noUnscoped{st}, newCipher(t), &secrets.Config{AuditReads: secrets.AuditWritesOnly})
		ctx := context.Background()
		mustSet(t, m, "ws", "PLAIN", "plain-value")
		if d := cmp.Diff(map[string]string{"PLAIN": "plain-value"}, envMap(t, m, "ws")); d != "" {
			t.Fatalf("a workspace of plain secrets over that Store (-want +got):\n%s", d)
		}
		if _, err := m.Set(ctx, "ws", "DEPLOY", []byte("protected-deploy-key"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		env, err := m.EnvFor(ctx, "ws")
		if err == nil || env != nil || !strings.Contains(err.Error(), "EnvQuery.Unscoped") || strings.Contains(err.Error(), "protected-deploy-key") {
			t.Fatalf("EnvFor over a Store that ignores Unscoped: %v, %v", env, err)
		}
	})
}

// TestScopesExpiredOmitEvent: with ExpiredOmit, the event of a job names
// only what it got, not the expired secret left out.
func TestScopesExpiredOmitEvent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Expired: secrets.ExpiredOmit})
		ctx := context.Background()
		if _, err := m.Set(ctx, "ws", "OLD", []byte("old-value"), &secrets.SetOptions{Info: &secrets.Info{Expires: time.Now().Add(-time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "ws", "NEW", "new-value")
		env, err := m.EnvFor(ctx, "ws")
		if err != nil || len(env) != 1 {
			t.Fatalf("EnvFor: %v, %v", env, err)
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Newest: true, Limit: 1})
		if err != nil || len(evs) != 1 {
			t.Fatal(evs, err)
		}
		if d := cmp.Diff([]secrets.EventSecret{{Name: "NEW", Version: 1}}, evs[0].Secrets); d != "" {
			t.Errorf("the event (-want +got):\n%s", d)
		}
	})
}

// TestScopesUnprotectAuthorized: a write that would make a protected
// secret unprotected asks the hook for ActionUnprotect as well; refused,
// it changes nothing and no unprotected job gets the value.
func TestScopesUnprotectAuthorized(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Authorize: func(ctx context.Context, r secrets.Request) error {
			if r.Action == secrets.ActionUnprotect && secrets.ActorFrom(ctx) != "maintainer" {
				return &secrets.Refusal{Reason: "only maintainers unprotect"}
			}
			return nil
		}})
		editor := secrets.WithActor(context.Background(), "editor")
		if _, err := m.Set(editor, "ws", "DEPLOY", []byte("wo-protected-key"), &secrets.SetOptions{Info: &secrets.Info{Protected: true, WriteOnly: true}}); err != nil {
			t.Fatal(err)
		}
		// Other changes of a protected secret stay the editor's.
		if _, err := m.SetInfo(editor, "ws", "DEPLOY", secrets.Info{Protected: true, WriteOnly: true, Description: "deploys"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.SetInfo(editor, "ws", "DEPLOY", secrets.Info{WriteOnly: true}, nil); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatalf("SetInfo that unprotects, by an editor: %v", err)
		}
		if _, err := m.Set(editor, "ws", "DEPLOY", []byte("other"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatalf("Set that unprotects, by an editor: %v", err)
		}
		if env := envMap(t, m, "ws"); len(env) != 0 {
			t.Fatalf("an unprotected job got %v", env)
		}
		// Each refusal is one event: the unprotect denied, no failed set.
		evs, err := m.Events(context.Background(), secrets.EventQuery{Actor: "editor"})
		if err != nil {
			t.Fatal(err)
		}
		var outcomes []string
		for _, e := range evs {
			outcomes = append(outcomes, string(e.Action)+":"+string(e.Outcome))
		}
		if want := []string{"set:ok", "set:ok", "unprotect:denied", "unprotect:denied"}; !slices.Equal(outcomes, want) {
			t.Fatalf("the editor's events %q, want %q", outcomes, want)
		}
		meta, err := m.Meta(editor, "ws", "DEPLOY")
		if err != nil || !meta.Protected || meta.Version != 1 {
			t.Fatalf("after the refusals: %+v, %v", meta, err)
		}
		if _, err := m.SetInfo(secrets.WithActor(context.Background(), "maintainer"), "ws", "DEPLOY", secrets.Info{WriteOnly: true}, nil); err != nil {
			t.Fatalf("a maintainer unprotects: %v", err)
		}
		if env := envMap(t, m, "ws"); env["DEPLOY"] != "wo-protected-key" {
			t.Fatalf("after the maintainer's change: %v", env)
		}
	})
}

// TestScopesDotenvNamesVariables: a .env text names variables; a name
// with a scope in it does not parse, whatever the import's scope.
func TestScopesDotenvNamesVariables(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m := newManager(t, s, newCipher(t), nil)
		ctx := context.Background()
		for _, opts := range []*secrets.ImportOptions{nil, {Scope: "production"}} {
			_, err := m.Import(ctx, "ws", []byte("A=1\nB@staging=2\n"), opts)
			var de *secrets.DotenvError
			if !errors.As(err, &de) || de.Line != 2 || !errors.Is(err, secrets.ErrInvalidDotenv) {
				t.Errorf("Import %+v of a scoped name: %v", opts, err)
			}
		}
		if got := listAll(t, m, "ws"); len(got) != 0 {
			t.Fatalf("the refused imports wrote %+v", got)
		}
	})
}

// TestScopesDotenvKeepsFlags: Export writes which secrets are protected
// and which expand as comments, and Import gives the secrets it creates
// those flags, so that a round trip through a file does not hand a
// protected secret to every job; secrets that exist keep their own.
func TestScopesDotenvKeepsFlags(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		if _, err := m.Set(ctx, "src", "API_TOKEN@production", []byte("prod-token"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "src", "DB_PASSWORD@production", "pw")
		if _, err := m.Set(ctx, "src", "DATABASE_URL@production", []byte("postgres://app:${DB_PASSWORD}@db/app"), &secrets.SetOptions{Info: &secrets.Info{Expand: true}}); err != nil {
			t.Fatal(err)
		}
		// A file secret: its line holds the content (an SRE trial: it came
		// back as a variable holding the content).
		if _, err := m.Set(ctx, "src", "TLS_KEY@production", []byte("-----BEGIN KEY-----"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
			t.Fatal(err)
		}
		text, err := m.Export(ctx, "src", &secrets.ExportOptions{Scope: "production"})
		if err != nil {
			t.Fatal(err)
		}
		want := "# protected: API_TOKEN\n# expand: DATABASE_URL\n# file: TLS_KEY\n" +
			"API_TOKEN='prod-token'\nDATABASE_URL='postgres://app:${DB_PASSWORD}@db/app'\nDB_PASSWORD='pw'\nTLS_KEY='-----BEGIN KEY-----'\n"
		if d := cmp.Diff(want, string(text)); d != "" {
			t.Fatalf("the export (-want +got):\n%s", d)
		}
		// Existing secrets of the target keep their flags: an unprotected
		// one stays so, and a protected one the text does not mark stays
		// protected.
		mustSet(t, m, "dst", "DB_PASSWORD@production", "old")
		if _, err := m.Set(ctx, "dst", "OTHER@production", []byte("guarded"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Import(ctx, "dst", append(text, "OTHER='x'\n"...), &secrets.ImportOptions{Scope: "production"}); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, meta := range listAll(t, m, "dst") {
			got[meta.Name] = fmt.Sprintf("protected=%v expand=%v file=%v", meta.Protected, meta.Expand, meta.File)
		}
		if d := cmp.Diff(map[string]string{
			"API_TOKEN@production":    "protected=true expand=false file=false",
			"DATABASE_URL@production": "protected=false expand=true file=false",
			"DB_PASSWORD@production":  "protected=false expand=false file=false",
			"OTHER@production":        "protected=true expand=false file=false",
			"TLS_KEY@production":      "protected=false expand=false file=true",
		}, got); d != "" {
			t.Fatalf("after the import (-want +got):\n%s", d)
		}
		job, err := m.Prepare(ctx, "dst", &secrets.PrepareOptions{Environment: "production", Base: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		job.Close()
		if len(job.Env) != 3 || !strings.HasPrefix(job.Env[2], "TLS_KEY=/") {
			t.Fatalf("an unprotected production job after the round trip: %q, want TLS_KEY a path", job.Env)
		}
		if d := cmp.Diff([]string{"DATABASE_URL=postgres://app:pw@db/app", "DB_PASSWORD=pw"}, []string(job.Env[:2])); d != "" {
			t.Errorf("an unprotected production job after the round trip (-want +got):\n%s", d)
		}
	})
}

// TestScopesDotenvFlagsAreComments: only comments flag secrets; a line
// "# expand: X" or "# protected: X" inside a quoted value, which an
// editor controls, is part of that value and flags nothing.
func TestScopesDotenvFlagsAreComments(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		text := "NOTE='first line\n# expand: LINK\n# protected: NOTE\r# protected: LINK'\nLINK='${NOTE}'\n"
		if _, err := m.Import(ctx, "ws", []byte(text), nil); err != nil {
			t.Fatal(err)
		}
		for _, meta := range listAll(t, m, "ws") {
			if meta.Protected || meta.Expand {
				t.Errorf("%s: protected=%v expand=%v, from a line inside a value", meta.Name, meta.Protected, meta.Expand)
			}
		}
		if env := envMap(t, m, "ws"); env["LINK"] != "${NOTE}" {
			t.Errorf("LINK reaches a job as %q, want its text", env["LINK"])
		}
	})
}

// TestScopesUnprotectByRestore: a restore that would make a protected
// secret unprotected asks for ActionUnprotect too.
func TestScopesUnprotectByRestore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var asked []secrets.Action
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Authorize: func(ctx context.Context, r secrets.Request) error {
			asked = append(asked, r.Action)
			if r.Action == secrets.ActionUnprotect {
				return &secrets.Refusal{Reason: "only maintainers unprotect"}
			}
			return nil
		}})
		ctx := context.Background()
		mustSet(t, m, "src", "DEPLOY", "deploy-key")
		doc, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "dst", "DEPLOY", []byte("deploy-key"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		plan, err := m.PreviewRestore(ctx, "dst", doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		asked = nil
		if _, err := m.Restore(ctx, "dst", doc, plan, nil); !errors.Is(err, secrets.ErrForbidden) || !slices.Contains(asked, secrets.ActionUnprotect) {
			t.Fatalf("a restore that unprotects: %v (asked %v)", err, asked)
		}
		if meta, err := m.Meta(ctx, "dst", "DEPLOY"); err != nil || !meta.Protected {
			t.Fatalf("after the refused restore: %+v, %v", meta, err)
		}
		if env := envMap(t, m, "dst"); len(env) != 0 {
			t.Fatalf("an unprotected job got %v", env)
		}
	})
}

// TestReferencesEmptyValueIsAValue: Set of an empty value on a secret
// that expands checks the empty value's references (none), not those of
// the value it replaces.
func TestReferencesEmptyValueIsAValue(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m := newManager(t, s, newCipher(t), nil)
		ctx := context.Background()
		if _, err := m.Set(ctx, "ws", "URL", []byte("x${NOT_YET}"), &secrets.SetOptions{Info: &secrets.Info{Expand: true}}); err != nil {
			t.Fatal(err)
		}
		meta, err := m.Set(ctx, "ws", "URL", nil, nil)
		if err != nil || len(meta.Undefined) != 0 {
			t.Fatalf("Set of an empty value: Undefined %v, %v", meta.Undefined, err)
		}
	})
}
