package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataspace/secrets"
)

// TestScopesExport: Export gives one scope's secrets, protected or not,
// under their variables' names; its event lists them with their scope.
func TestScopesExport(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "ws", "TOKEN", "any-token")
		mustSet(t, m, "ws", "TOKEN@production", "prod-token")
		if _, err := m.Set(ctx, "ws", "DEPLOY@production", []byte("prod-deploy"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "ws", "GUARD", []byte("guard"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "ws", "HIDDEN@production", []byte("write-only-canary"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
			t.Fatal(err)
		}
		text, err := m.Export(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff("# protected: GUARD\nGUARD='guard'\nTOKEN='any-token'\n", string(text)); d != "" {
			t.Errorf("the * scope (-want +got):\n%s", d)
		}
		text, err = m.Export(ctx, "ws", &secrets.ExportOptions{Scope: "production"})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff("# protected: DEPLOY\nDEPLOY='prod-deploy'\nTOKEN='prod-token'\n# HIDDEN is write-only: not exported\n", string(text)); d != "" {
			t.Errorf("the production scope (-want +got):\n%s", d)
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionExport, Newest: true, Limit: 1})
		if err != nil || len(evs) != 1 {
			t.Fatalf("Events: %v %v", evs, err)
		}
		want := []secrets.EventSecret{{Name: "DEPLOY@production", Version: 1}, {Name: "HIDDEN@production", Version: 1, Withheld: true},
			{Name: "TOKEN@production", Version: 1}}
		if d := cmp.Diff(want, evs[0].Secrets); d != "" {
			t.Errorf("the export's event (-want +got):\n%s", d)
		}
		if _, err := m.Export(ctx, "ws", &secrets.ExportOptions{Scope: "a*b"}); !errors.Is(err, secrets.ErrInvalidScope) {
			t.Errorf("a bad scope: %v", err)
		}
	})
}

// TestScopesFingerprintSearch: a leaked value found by its fingerprint
// names the jobs that received it from a parent's scoped, protected
// secret, and not the jobs that got another scope's value.
func TestScopesFingerprintSearch(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{AuditKey: newAuditKey(t),
			Parents: chain(map[string][]string{"a": {"group"}, "b": {"group"}})})
		ctx := context.Background()
		if _, err := m.Set(ctx, "group", "TOKEN@production", []byte("leaked-prod-token"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "group", "TOKEN", "any-token")
		for _, job := range []struct {
			ws, env   string
			protected bool
		}{{"a", "production", true}, {"b", "production", false}, {"b", "staging", true}, {"a", "", false}} {
			p, err := m.Prepare(ctx, job.ws, &secrets.PrepareOptions{Environment: job.env, Protected: job.protected})
			if err != nil {
				t.Fatal(err)
			}
			p.Close()
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Fingerprint: m.Fingerprint([]byte("leaked-prod-token")), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%s:%s:%s:%v", e.Action, e.Workspace, e.Environment, e.Protected))
		}
		if d := cmp.Diff([]string{"set:group::false", "inject:a:production:true"}, got); d != "" {
			t.Fatalf("events with the leaked value's fingerprint (-want +got):\n%s", d)
		}
		// The default job of a workspace without parents records its event
		// in its read's statement, resolved through the ledger: its
		// protected and scoped secrets are not in it.
		if _, err := m.Set(ctx, "c", "DEPLOY", []byte("leaked-own-deploy"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "c", "TOKEN@production", "leaked-own-prod")
		mustSet(t, m, "c", "PLAIN", "plain-value")
		if _, err := m.EnvFor(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"leaked-own-deploy", "leaked-own-prod"} {
			evs, err := m.Events(ctx, secrets.EventQuery{Fingerprint: m.Fingerprint([]byte(v)), Action: secrets.ActionInject, Limit: 100})
			if err != nil || len(evs) != 0 {
				t.Errorf("the default job is accused of receiving %s: %+v, %v", v, evs, err)
			}
		}
		evs, err = m.Events(ctx, secrets.EventQuery{Fingerprint: m.Fingerprint([]byte("plain-value")), Action: secrets.ActionInject, Limit: 100})
		if err != nil || len(evs) != 1 {
			t.Errorf("the default job's plain value: %+v, %v", evs, err)
		}
	})
}

// TestScopesBackupRestore: a backup holds every scope's secrets and the
// protected flag, and a restore brings them back as they were.
func TestScopesBackupRestore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "src", "TOKEN", "any-token")
		mustSet(t, m, "src", "TOKEN@review/*", "review-token")
		if _, err := m.Set(ctx, "src", "TOKEN@production", []byte("prod-token"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		doc, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := m.PreviewRestore(ctx, "dst", doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, "dst", doc, plan, nil); err != nil {
			t.Fatal(err)
		}
		metas := listAll(t, m, "dst")
		var got []string
		for _, meta := range metas {
			got = append(got, fmt.Sprintf("%s %s %v", meta.Variable, meta.Scope, meta.Protected))
		}
		if d := cmp.Diff([]string{"TOKEN * false", "TOKEN production true", "TOKEN review/* false"}, got); d != "" {
			t.Fatalf("restored (-want +got):\n%s", d)
		}
		for _, tc := range []struct {
			env       string
			protected bool
			want      string
		}{{"production", true, "prod-token"}, {"production", false, "any-token"}, {"review/x", false, "review-token"}} {
			job, err := m.Prepare(ctx, "dst", &secrets.PrepareOptions{Environment: tc.env, Protected: tc.protected, Base: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			job.Close()
			if d := cmp.Diff([]string{"TOKEN=" + tc.want}, []string(job.Env)); d != "" {
				t.Errorf("a job in %s, protected=%v, after the restore (-want +got):\n%s", tc.env, tc.protected, d)
			}
		}
	})
}
