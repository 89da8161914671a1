package secrets_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestExpiredRefuseLevels: ExpiredRefuse makes EnvFor and Prepare fail
// with ErrExpired, delivering nothing, also when they read levels: a job
// that names its secrets, and a workspace with parents whose expired
// secret is its own or a parent's.
func TestExpiredRefuseLevels(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		s := b.replica(t)
		c := newCipher(t)
		cfg := func(parents bool) *secrets.Config {
			cfg := &secrets.Config{Expired: secrets.ExpiredRefuse, Now: func() time.Time { return now }}
			if parents {
				cfg.Parents = chain(map[string][]string{"ws": {"group:acme"}, "own": {"group:acme"}})
			}
			return cfg
		}
		m := newManager(t, s, c, cfg(false))
		set := func(ws, name string, expires time.Time) {
			t.Helper()
			if _, err := m.Set(ctx, ws, name, []byte("value-"+name), &secrets.SetOptions{Info: &secrets.Info{Expires: expires}}); err != nil {
				t.Fatal(err)
			}
		}
		set("ws", "STALE", now.Add(-time.Minute))
		set("ws", "FRESH", now.Add(time.Minute))
		set("group:acme", "INHERITED", now.Add(-time.Minute))
		set("own", "OWN_STALE", now.Add(-time.Minute))

		refused := func(what string, env []string, job *secrets.PreparedJob, err error, name string) {
			t.Helper()
			if job != nil {
				job.Close()
			}
			if !errors.Is(err, secrets.ErrExpired) || env != nil || job != nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s: env %d, job %v, %v: want ErrExpired naming %s and nothing delivered", what, len(env), job != nil, err, name)
			}
		}
		// One level, a job naming its secrets.
		job, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"STALE"}})
		refused("Prepare naming STALE", nil, job, err, "STALE")
		// Naming only the fresh one is no refusal.
		job, err = m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"FRESH"}})
		if err != nil {
			t.Fatalf("Prepare naming FRESH: %v", err)
		}
		job.Close()

		// With parents: the parent's expired secret, and the workspace's.
		lm := newManager(t, s, c, cfg(true))
		env, err := lm.EnvFor(ctx, "ws")
		refused("EnvFor with parents (own and inherited expired)", env, nil, err, "INHERITED")
		env, err = lm.EnvFor(ctx, "own")
		refused("EnvFor with parents (own expired)", env, nil, err, "OWN_STALE")
		job, err = lm.Prepare(ctx, "ws", nil)
		refused("Prepare with parents", nil, job, err, "INHERITED")
		job, err = lm.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"INHERITED"}})
		refused("Prepare with parents naming INHERITED", nil, job, err, "INHERITED")
		job, err = lm.Prepare(ctx, "own", &secrets.PrepareOptions{Names: []string{"OWN_STALE"}})
		refused("Prepare with parents naming OWN_STALE", nil, job, err, "OWN_STALE")
	})
}

// TestExpiredAtTheInstant: a secret is expired from the instant its
// Expires is reached: with ExpiredOmit, a job at exactly that time does
// not get it, with or without parents.
func TestExpiredAtTheInstant(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		s := b.replica(t)
		c := newCipher(t)
		for _, parents := range []bool{false, true} {
			cfg := &secrets.Config{Expired: secrets.ExpiredOmit, Now: func() time.Time { return at }}
			ws := "single"
			if parents {
				ws = "child"
				cfg.Parents = chain(map[string][]string{"child": {"group:parent"}})
			}
			m := newManager(t, s, c, cfg)
			for _, n := range []string{"EDGE", "LATER"} {
				expires := at
				if n == "LATER" {
					expires = at.Add(time.Microsecond)
				}
				if _, err := m.Set(ctx, ws, n, []byte("v-"+n), &secrets.SetOptions{Info: &secrets.Info{Expires: expires}}); err != nil {
					t.Fatal(err)
				}
			}
			if parents {
				// The parent's EDGE, also expired at the instant, is no
				// fallback: the name is absent.
				if _, err := m.Set(ctx, "group:parent", "EDGE", []byte("v-parent"), &secrets.SetOptions{Info: &secrets.Info{Expires: at}}); err != nil {
					t.Fatal(err)
				}
			}
			got := envMap(t, m, ws)
			if _, ok := got["EDGE"]; ok || got["LATER"] != "v-LATER" {
				t.Fatalf("parents %t: at the instant of expiry the job got %v, want LATER only", parents, got)
			}
			job, err := m.Prepare(ctx, ws, nil)
			if err != nil {
				t.Fatal(err)
			}
			expired := job.Expired
			job.Close()
			if len(expired) == 0 || !strings.HasPrefix(expired[0], "EDGE") {
				t.Fatalf("parents %t: PreparedJob.Expired %v, want EDGE", parents, expired)
			}
		}
	})
}

// TestPurgeAuditsEachDestroy: Purge's destroys are audited as any other:
// OnEvent gets an ActionDestroy event for the secret, and Events has it.
func TestPurgeAuditsEachDestroy(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		var events []secrets.Event
		m := newManager(t, s, newCipher(t), &secrets.Config{
			DeleteRetention: time.Hour,
			Now:             func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
			OnEvent: func(_ context.Context, e secrets.Event) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
			},
		})
		mustSet(t, m, "ws", "GONE", "gone-value")
		mustSet(t, m, "ws", "KEEP", "kept")
		if _, err := m.Delete(ctx, "ws", "GONE", nil); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		now = now.Add(2 * time.Hour)
		events = nil
		mu.Unlock()
		if r, err := m.Purge(ctx); err != nil || r.Destroyed != 1 {
			t.Fatalf("Purge: %+v %v", r, err)
		}
		mu.Lock()
		var published []secrets.Event
		for _, e := range events {
			if e.Action == secrets.ActionDestroy {
				published = append(published, e)
			}
		}
		mu.Unlock()
		if len(published) != 1 || published[0].Workspace != "ws" || len(published[0].Secrets) != 1 ||
			published[0].Secrets[0].Name != "GONE" || published[0].Outcome != secrets.OutcomeOK || published[0].ID == 0 {
			t.Fatalf("OnEvent's destroy events: %+v", published)
		}
		stored, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionDestroy})
		if err != nil || len(stored) != 1 || stored[0].ID != published[0].ID || stored[0].Secrets[0].Name != "GONE" {
			t.Fatalf("Events' destroy events: %+v %v", stored, err)
		}
	})
}
