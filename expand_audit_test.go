package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"
)

// TestReferencesFingerprintSearch: a leaked expanded value's fingerprints
// find every job that got it expanded (the README's "Unnoticed use"): the
// default job of one workspace (its event recorded with its read, the
// expanded fingerprints added by one more statement), a job that names
// its secrets and one with parents (their events list their own
// secrets). The raw template's and each ingredient's fingerprints find
// them still; a job without expansion is found as before and not by the
// expanded value; events list the same secrets and fingerprints as
// before.
func TestReferencesFingerprintSearch(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{AuditKey: newAuditKey(t),
			Parents: func(_ context.Context, ws string) ([]string, error) {
				if ws == "child" {
					return []string{"group"}, nil
				}
				return nil, nil
			}})
		const (
			pw       = "s3cretpassw0rd"
			template = "postgres://app:${PW}@db/app"
			url      = "postgres://app:s3cretpassw0rd@db/app"
		)
		mustSet(t, m, "ws9", "PW", pw)
		setExpand(t, m, "ws9", "URL", template)
		setExpand(t, m, "ws9", "PLAIN", "no references") // opts in, expands to itself
		mustSet(t, m, "group", "PW", pw)
		setExpand(t, m, "child", "URL", template)
		mustSet(t, m, "other", "TOKEN", "unrelated-token") // a job without expansion
		jobs := map[int64]string{}
		lastInject := func() int64 {
			evs, err := m.Events(ctx, secrets.EventQuery{Action: secrets.ActionInject, Newest: true, Limit: 1})
			if err != nil || len(evs) != 1 {
				t.Fatalf("last inject event: %v %v", evs, err)
			}
			return evs[0].ID
		}
		env, err := m.EnvFor(ctx, "ws9")
		if err != nil || !slices.Contains(env, "URL="+url) {
			t.Fatalf("EnvFor: %v", err)
		}
		jobs[lastInject()] = "default"
		job, err := m.Prepare(ctx, "ws9", &secrets.PrepareOptions{Names: []string{"URL"}, Base: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		job.Close()
		jobs[lastInject()] = "names"
		if env, err = m.EnvFor(ctx, "child"); err != nil || !slices.Contains(env, "URL="+url) {
			t.Fatalf("EnvFor child: %v %v", env, err)
		}
		jobs[lastInject()] = "parents"
		if _, err := m.EnvFor(ctx, "other"); err != nil {
			t.Fatal(err)
		}
		plain := lastInject()
		found := func(value string) []string {
			t.Helper()
			evs, err := m.Events(ctx, secrets.EventQuery{Fingerprints: m.Fingerprints([]byte(value)), Action: secrets.ActionInject})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range evs {
				out = append(out, jobs[e.ID]+fmt.Sprint(e.ID == plain))
			}
			slices.Sort(out)
			return out
		}
		all := []string{"defaultfalse", "namesfalse", "parentsfalse"}
		for _, v := range []string{url, template, pw} {
			if d := cmp.Diff(all, found(v)); d != "" {
				t.Errorf("jobs found by the fingerprints of %q (-want +got):\n%s", v, d)
			}
		}
		if d := cmp.Diff([]string{"true"}, found("unrelated-token")); d != "" {
			t.Errorf("the job without expansion (-want +got):\n%s", d)
		}
		// The events list what they listed before: each secret with its
		// stored value's fingerprint.
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws9", Action: secrets.ActionInject, Limit: 1})
		if err != nil || len(evs) != 1 {
			t.Fatalf("%v %v", evs, err)
		}
		want := []secrets.EventSecret{{Name: "PLAIN", Version: 1, Fingerprint: m.Fingerprint([]byte("no references"))},
			{Name: "PW", Version: 1, Fingerprint: m.Fingerprint([]byte(pw))},
			{Name: "URL", Version: 1, Fingerprint: m.Fingerprint([]byte(template))}}
		if d := cmp.Diff(want, evs[0].Secrets); d != "" {
			t.Errorf("the default job's event (-want +got):\n%s", d)
		}
		// Each job's event gives back the expanded value's fingerprint.
		injects, err := m.Events(ctx, secrets.EventQuery{Action: secrets.ActionInject})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range injects {
			var want [][]byte
			if _, ok := jobs[e.ID]; ok {
				want = [][]byte{m.Fingerprint([]byte(url))}
			}
			if d := cmp.Diff(want, e.Expanded); d != "" {
				t.Errorf("the %q job's event's Expanded (-want +got):\n%s", jobs[e.ID], d)
			}
		}
	})
}

// TestReferencesFingerprintAuditFails: when the statement that records a
// default job's expanded values' fingerprints fails (a trigger refuses
// updates of the audit table), a fail-closed job gets nothing (ErrAudit),
// and a failed inject event names the read's event, which stays; a job
// without expansion makes no such statement and goes on; a best-effort
// job goes on and OnAuditError hears of it.
func TestReferencesFingerprintAuditFails(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			db := p.db(t)
			s := newPGStore(t, db)
			c, key := newCipher(t), newAuditKey(t)
			var mu sync.Mutex
			var lost []secrets.Event
			onErr := func(_ context.Context, es []secrets.Event, err error) {
				mu.Lock()
				lost = append(lost, es...)
				mu.Unlock()
			}
			closed := newManager(t, s, c, &secrets.Config{AuditKey: key, OnAuditError: onErr})
			best := newManager(t, s, c, &secrets.Config{AuditKey: key, AuditReads: secrets.AuditBestEffort, OnAuditError: onErr})
			ctx := context.Background()
			mustSet(t, closed, "ws", "PW", "s3cretpassw0rd")
			setExpand(t, closed, "ws", "URL", "postgres://app:${PW}@db/app")
			mustSet(t, closed, "plain", "TOKEN", "t0ken")
			sch := pq.QuoteIdentifier(s.Schema())
			for _, q := range []string{
				"CREATE FUNCTION " + sch + ".no_update() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'audit rows are not updated'; END$$",
				"CREATE TRIGGER no_update BEFORE UPDATE ON " + sch + ".audit FOR EACH ROW EXECUTE FUNCTION " + sch + ".no_update()",
			} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			env, err := closed.EnvFor(ctx, "ws")
			if !errors.Is(err, secrets.ErrAudit) || env != nil {
				t.Fatalf("fail-closed EnvFor: %v, %d values", err, len(env))
			}
			if strings.Contains(err.Error(), "s3cretpassw0rd") {
				t.Fatalf("the error shows a value: %v", err)
			}
			evs, err := closed.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject})
			if err != nil || len(evs) != 2 || evs[0].Outcome != secrets.OutcomeOK || evs[1].Outcome != secrets.OutcomeFailed ||
				!strings.Contains(evs[1].Detail, fmt.Sprintf("inject event %d,", evs[0].ID)) || !strings.Contains(evs[1].Detail, "got nothing") {
				t.Fatalf("events of the refused job: %+v %v", evs, err)
			}
			if len(lost) != 1 || lost[0].ID != evs[0].ID {
				t.Fatalf("OnAuditError got %+v", lost)
			}
			if env, err := closed.EnvFor(ctx, "plain"); err != nil || len(env) != 1 {
				t.Fatalf("a job without expansion: %v %v", env, err)
			}
			lost = nil
			if env, err := best.EnvFor(ctx, "ws"); err != nil || !slices.Contains(env, "URL=postgres://app:s3cretpassw0rd@db/app") {
				t.Fatalf("best-effort EnvFor: %v", err)
			}
			if len(lost) != 1 || lost[0].Action != secrets.ActionInject {
				t.Fatalf("best-effort: OnAuditError got %+v", lost)
			}
		})
	}
}
