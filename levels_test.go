package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// chain is a Config.Parents of fixed chains, by workspace.
func chain(chains map[string][]string) func(context.Context, string) ([]string, error) {
	return func(_ context.Context, ws string) ([]string, error) { return chains[ws], nil }
}

// The levels of these tests: a workspace, its group, the instance.
var wsLevels = map[string][]string{"ws": {"group:acme", "instance"}, "ws2": {"group:acme", "instance"}}

// TestLevelsResolve: for each name the nearest level that has it wins; a
// deleted secret and an expired one (with ExpiredOmit) count as absent;
// the one inject event lists every delivered secret with its container.
func TestLevelsResolve(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var events []secrets.Event
		var mu sync.Mutex
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Parents: chain(wsLevels),
			Expired: secrets.ExpiredOmit, Now: func() time.Time { return now },
			OnEvent: func(_ context.Context, e secrets.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
		ctx := secrets.WithActor(context.Background(), "user:1")
		set := func(ws, name, value string, info *secrets.Info) secrets.Meta {
			t.Helper()
			meta, err := m.Set(ctx, ws, name, []byte(value), &secrets.SetOptions{Info: info})
			if err != nil {
				t.Fatal(err)
			}
			return meta
		}
		set("instance", "A", "instance-a", nil)
		set("instance", "B", "instance-b", nil)
		set("instance", "C", "instance-c", nil)
		set("instance", "E", "instance-e", nil)
		set("group:acme", "B", "group-b", nil)
		set("group:acme", "C", "group-c", nil)
		set("group:acme", "D", "group-d", nil)
		set("group:acme", "E", "group-e-expired", &secrets.Info{Expires: now.Add(-time.Hour)})
		set("ws", "C", "ws-c", nil)
		gone := set("ws", "D", "ws-d-deleted", nil)
		if _, err := m.Delete(ctx, "ws", "D", &secrets.WriteOptions{IfRevision: gone.Revision}); err != nil {
			t.Fatal(err)
		}
		set("ws", "OWN", "ws-own", nil)
		set("ws2", "C", "ws2-c", nil) // a sibling: never seen by ws

		mu.Lock()
		events = nil
		mu.Unlock()
		env, err := m.EnvFor(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			got[k] = v
		}
		want := map[string]string{
			"A": "instance-a", "B": "group-b", "C": "ws-c",
			"D":   "group-d",    // the workspace's own is deleted
			"E":   "instance-e", // the group's is expired and left out
			"OWN": "ws-own",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("EnvFor (-want +got):\n%s", d)
		}
		// One event, with provenance, as OnEvent and Events give it.
		mu.Lock()
		if len(events) != 1 {
			t.Fatalf("%d events for one job: %+v", len(events), events)
		}
		published := events[0]
		mu.Unlock()
		stored, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Newest: true, Limit: 1})
		if err != nil || len(stored) != 1 {
			t.Fatalf("Events: %v, %v", stored, err)
		}
		wantSecrets := []secrets.EventSecret{
			{Name: "A", Version: 1, Container: "instance"},
			{Name: "B", Version: 1, Container: "group:acme"},
			{Name: "C", Version: 1},
			{Name: "D", Version: 1, Container: "group:acme"},
			{Name: "E", Version: 1, Container: "instance"},
			{Name: "OWN", Version: 1},
		}
		for _, e := range []secrets.Event{published, stored[0]} {
			if d := cmp.Diff(wantSecrets, e.Secrets); d != "" {
				t.Errorf("event %d's secrets (-want +got):\n%s", e.ID, d)
			}
			if d := cmp.Diff([]string{"group:acme", "instance"}, e.Parents); d != "" {
				t.Errorf("event %d's parents (-want +got):\n%s", e.ID, d)
			}
			if e.Outcome != secrets.OutcomeOK || e.Actor != "user:1" || e.ID == 0 {
				t.Errorf("event %+v", e)
			}
		}
		// Prepare: the same values, and the expired one named.
		job, err := m.Prepare(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer job.Close()
		if d := cmp.Diff([]string{"E"}, job.Expired); d != "" {
			t.Errorf("Expired (-want +got):\n%s", d)
		}
		// A subset by name, across levels.
		sub, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"a", "C"}, Base: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if d := cmp.Diff([]string{"A=instance-a", "C=ws-c"}, []string(sub.Env)); d != "" {
			t.Errorf("a subset (-want +got):\n%s", d)
		}
		if _, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"NOWHERE"}}); !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("a name no level has: %v", err)
		}
		// A parent's own jobs see only its own chain: none.
		if d := cmp.Diff(map[string]string{"B": "group-b", "C": "group-c", "D": "group-d"}, envMap(t, m, "group:acme")); d != "" {
			t.Errorf("the group's own environment (-want +got):\n%s", d)
		}
	})
}

// TestLevelsWithhold: a secret the host withholds is not delivered (no
// farther level stands in for it), is masked in the job's output, and
// the event names it as withheld; the hook sees the chain.
func TestLevelsWithhold(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var asked []string
		var mu sync.Mutex
		cfg := &secrets.Config{Parents: chain(wsLevels),
			Withhold: func(_ context.Context, r secrets.Request, o secrets.Offer) bool {
				mu.Lock()
				defer mu.Unlock()
				asked = append(asked, r.Workspace+">"+strings.Join(r.Parents, ",")+":"+o.Container+"/"+o.Name)
				return o.Container == "group:acme" && o.Variable == "DB_PASSWORD"
			},
			Authorize: func(_ context.Context, r secrets.Request) error {
				if r.Action == secrets.ActionInject && len(r.Parents) != 2 {
					return fmt.Errorf("the authorizer did not see the chain: %v", r.Parents)
				}
				return nil
			}}
		m := newManager(t, b.replica(t), newCipher(t), cfg)
		ctx := context.Background()
		mustSet(t, m, "instance", "DB_PASSWORD", "instance-password")
		mustSet(t, m, "group:acme", "DB_PASSWORD", "group-password-2741")
		mustSet(t, m, "group:acme", "API_TOKEN", "group-token")
		job, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Base: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		defer job.Close()
		if d := cmp.Diff([]string{"API_TOKEN=group-token"}, []string(job.Env)); d != "" {
			t.Fatalf("a job with a withheld secret (-want +got):\n%s", d)
		}
		if got := job.Redactor().RedactString("it printed group-password-2741"); !strings.Contains(got, "group-password-2741") {
			t.Fatalf("a withheld value is masked (which tells the job what it begins with): %q", got)
		}
		mu.Lock()
		if d := cmp.Diff([]string{"ws>group:acme,instance:group:acme/API_TOKEN", "ws>group:acme,instance:group:acme/DB_PASSWORD"}, asked); d != "" {
			t.Errorf("Withhold was asked (-want +got):\n%s", d)
		}
		mu.Unlock()
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Newest: true, Limit: 1})
		if err != nil || len(evs) != 1 {
			t.Fatal(evs, err)
		}
		want := []secrets.EventSecret{{Name: "API_TOKEN", Version: 1, Container: "group:acme"},
			{Name: "DB_PASSWORD", Version: 1, Container: "group:acme", Withheld: true}}
		if d := cmp.Diff(want, evs[0].Secrets); d != "" {
			t.Errorf("the event (-want +got):\n%s", d)
		}
	})
}

// TestLevelsFingerprintSearch: a job that received an inherited value is
// found by the value's fingerprint; a job whose own value shadowed it, and
// one that had it withheld, are not.
func TestLevelsFingerprintSearch(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		key, err := secrets.GenerateAuditKey()
		if err != nil {
			t.Fatal(err)
		}
		ak, err := secrets.NewAuditKey(key)
		if err != nil {
			t.Fatal(err)
		}
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{AuditKey: ak,
			Parents: chain(map[string][]string{"a": {"group"}, "b": {"group"}, "c": {"group"}}),
			Withhold: func(_ context.Context, r secrets.Request, _ secrets.Offer) bool {
				return r.Workspace == "c"
			}})
		ctx := context.Background()
		mustSet(t, m, "group", "TOKEN", "leaked-group-token")
		mustSet(t, m, "b", "TOKEN", "b-own-token")
		for _, ws := range []string{"a", "b", "c"} {
			if _, err := m.EnvFor(ctx, ws); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Fingerprint: m.Fingerprint([]byte("leaked-group-token")), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, string(e.Action)+":"+e.Workspace)
		}
		if d := cmp.Diff([]string{"set:group", "inject:a"}, got); d != "" {
			t.Fatalf("events with the leaked value's fingerprint (-want +got):\n%s", d)
		}
	})
}

// TestLevelsKillSwitch: a parent's kill switch, thrown on one replica,
// takes effect at the next job of a child on another replica, which had
// the parent's key cached; deleting the parent stops its secrets reaching
// jobs, without an error.
func TestLevelsKillSwitch(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		c := newCipher(t)
		cfg := &secrets.Config{KeyCacheTTL: time.Hour, Parents: chain(wsLevels)}
		a, other := newManager(t, b.replica(t), c, cfg), newManager(t, b.replica(t), c, cfg)
		ctx := context.Background()
		mustSet(t, a, "group:acme", "TOKEN", "under-the-first-key")
		mustSet(t, a, "ws", "OWN", "own")
		if d := cmp.Diff(map[string]string{"TOKEN": "under-the-first-key", "OWN": "own"}, envMap(t, other, "ws")); d != "" {
			t.Fatalf("(-want +got):\n%s", d) // other caches the group's key
		}
		keys, err := a.Keys(ctx, "group:acme")
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		a.RotateKey(cctx, "group:acme", func(int, int) { cancel() }) // a new primary key; the value stays under the first
		cancel()
		if err := a.SetKeyEnabled(ctx, "group:acme", keys[0].ID, false); err != nil {
			t.Fatal(err)
		}
		env, err := other.EnvFor(ctx, "ws")
		var de *secrets.DecryptError
		if !errors.As(err, &de) || env != nil || de.Workspace != "group:acme" {
			t.Fatalf("the child's next job on another replica after the parent's kill switch: %v, %d variables", err, len(env))
		}
		if strings.Contains(err.Error(), "under-the-first-key") {
			t.Fatal("the error holds the value")
		}
		if err := a.SetKeyEnabled(ctx, "group:acme", keys[0].ID, true); err != nil {
			t.Fatal(err)
		}
		if got := envMap(t, other, "ws"); got["TOKEN"] != "under-the-first-key" {
			t.Fatalf("after the key is enabled again: %v", got)
		}
		if err := a.DeleteWorkspace(ctx, "group:acme"); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]string{"OWN": "own"}, envMap(t, other, "ws")); d != "" {
			t.Fatalf("after the parent is deleted (-want +got):\n%s", d)
		}
	})
}

// TestLevelsInvalidParents: a chain with too many levels, a repeat, the
// workspace itself or a bad identifier fails the job with
// ErrInvalidParents and delivers nothing; so does the hook's own error
// (with its class), and an empty chain is a workspace without parents.
func TestLevelsInvalidParents(t *testing.T) {
	many := make([]string, secrets.MaxParents+1)
	for i := range many {
		many[i] = "g" + strconv.Itoa(i)
	}
	hookErr := errors.New("directory unavailable")
	chains := map[string][]string{
		"too-many": many, "repeat": {"g1", "g2", "g1"}, "self": {"g1", "self"},
		"empty-id": {"g1", ""}, "bad-utf8": {"\xff"}, "nul": {"g\x00"},
	}
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m := newManager(t, s, newCipher(t), &secrets.Config{Parents: func(_ context.Context, ws string) ([]string, error) {
			switch ws {
			case "failing":
				return nil, hookErr
			case "eight":
				return many[:secrets.MaxParents], nil
			}
			return chains[ws], nil
		}})
		ctx := context.Background()
		mustSet(t, m, "g1", "TOKEN", "group-value")
		for ws := range chains {
			mustSet(t, m, ws, "OWN", "own-value")
			env, err := m.EnvFor(ctx, ws)
			if ws == "self" && (err == nil || !strings.Contains(err.Error(), `name the workspace itself`)) {
				t.Errorf("self: %v, want the chain's naming the workspace itself said", err)
			}
			if !errors.Is(err, secrets.ErrInvalidParents) || env != nil {
				t.Errorf("%s: EnvFor gave %d variables, %v; want ErrInvalidParents", ws, len(env), err)
			}
			if job, err := m.Prepare(ctx, ws, nil); !errors.Is(err, secrets.ErrInvalidParents) || job != nil {
				t.Errorf("%s: Prepare: %v", ws, err)
			}
		}
		if _, err := m.EnvFor(ctx, "failing"); !errors.Is(err, hookErr) || errors.Is(err, secrets.ErrInvalidParents) {
			t.Errorf("the hook's error: %v", err)
		}
		// Exactly MaxParents is fine.
		mustSet(t, m, "g7", "DEEP", "from-the-eighth")
		if got := envMap(t, m, "eight"); got["DEEP"] != "from-the-eighth" {
			t.Errorf("the eighth level: %v", got)
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Action: secrets.ActionInject, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Outcome == secrets.OutcomeOK && e.Workspace != "eight" {
				t.Errorf("a successful inject event for a refused job: %+v", e)
			}
		}
	})
}

// TestLevelsOneSnapshot: a writer sets X in the workspace and then Y in
// the group to the same counter, again and again; jobs read both levels
// meanwhile. Were the levels read apart, a job could see the group ahead
// of the workspace. With one snapshot, never.
func TestLevelsOneSnapshot(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := &secrets.Config{Parents: chain(wsLevels)}
		c := newCipher(t)
		w, r := newManager(t, b.replica(t), c, cfg), newManager(t, b.replica(t), c, cfg)
		ctx := context.Background()
		mustSet(t, w, "ws", "X", "0")
		mustSet(t, w, "group:acme", "Y", "0")
		var done atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done.Store(true)
			for i := 1; i <= 60; i++ {
				for _, c := range []struct{ ws, name string }{{"ws", "X"}, {"group:acme", "Y"}} {
					if _, err := w.Set(ctx, c.ws, c.name, []byte(strconv.Itoa(i)), nil); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
		jobs := 0
		for !done.Load() || jobs < 5 {
			env := envMap(t, r, "ws")
			x, _ := strconv.Atoi(env["X"])
			y, _ := strconv.Atoi(env["Y"])
			if y > x || x > y+1 {
				t.Fatalf("a job saw X=%d and Y=%d: not one snapshot", x, y)
			}
			jobs++
		}
		wg.Wait()
		if !bytes.Equal([]byte(envMap(t, r, "ws")["Y"]), []byte("60")) {
			t.Fatal("the writer did not finish")
		}
	})
}

// noRecord is a Store whose Record fails: an audit trail that is down.
type noRecord struct{ secrets.Store }

func (noRecord) Record(context.Context, []secrets.Event) error {
	return errors.New("audit table unavailable")
}

// TestLevelsEventBeforeValues: a job with parents returns no value unless
// its event is recorded, with AuditFailClosed; with AuditBestEffort it
// goes ahead and OnAuditError gets the event, which lists what the job
// got and never a value.
func TestLevelsEventBeforeValues(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		c := newCipher(t)
		writer := newManager(t, s, c, nil)
		mustSet(t, writer, "group:acme", "TOKEN", "group-token-value")
		var lost []secrets.Event
		var mu sync.Mutex
		for _, mode := range []secrets.AuditReads{secrets.AuditFailClosed, secrets.AuditBestEffort} {
			m := newManager(t, noRecord{s}, c, &secrets.Config{Parents: chain(wsLevels), AuditReads: mode,
				OnAuditError: func(_ context.Context, es []secrets.Event, _ error) {
					mu.Lock()
					lost = append(lost, es...)
					mu.Unlock()
				}})
			env, err := m.EnvFor(context.Background(), "ws")
			switch mode {
			case secrets.AuditFailClosed:
				if !errors.Is(err, secrets.ErrAudit) || env != nil {
					t.Fatalf("fail-closed without an audit trail: %d variables, %v", len(env), err)
				}
			default:
				if err != nil || len(env) != 1 {
					t.Fatalf("best-effort without an audit trail: %v, %v", env, err)
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(lost) < 2 {
			t.Fatalf("OnAuditError got %d events", len(lost))
		}
		for _, e := range lost {
			if e.Action == secrets.ActionInject && e.Outcome == secrets.OutcomeOK {
				if d := cmp.Diff([]secrets.EventSecret{{Name: "TOKEN", Version: 1, Container: "group:acme"}}, e.Secrets); d != "" {
					t.Errorf("the lost event (-want +got):\n%s", d)
				}
			}
			if strings.Contains(fmt.Sprintf("%+v", e), "group-token-value") {
				t.Fatal("an event holds the value")
			}
		}
	})
}

// TestResolvePreview: Resolve says what a job gets and from where, by the
// job's own rule, without a value and without an inject event.
func TestResolvePreview(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Parents: chain(wsLevels),
			Expired: secrets.ExpiredOmit, Now: func() time.Time { return now },
			Withhold: func(_ context.Context, r secrets.Request, o secrets.Offer) bool {
				return r.Action == secrets.ActionInject && o.Variable == "HELD"
			}})
		ctx := context.Background()
		mustSet(t, m, "instance", "A", "instance-a")
		mustSet(t, m, "group:acme", "A", "group-a")
		mustSet(t, m, "group:acme", "HELD", "group-held")
		if _, err := m.Set(ctx, "ws", "OLD", []byte("expired-value"), &secrets.SetOptions{Info: &secrets.Info{Expires: now.Add(-time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "instance", "OLD", "instance-old")
		mustSet(t, m, "ws", "OWN", "own-value")
		before, _ := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Limit: 100})
		got, err := m.Resolve(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []secrets.Resolved{
			{Name: "A", Variable: "A", Scope: "*", Container: "group:acme", Level: 1, Version: 1, Status: secrets.ResolvedDelivered},
			{Name: "A", Variable: "A", Scope: "*", Container: "instance", Level: 2, Version: 1, Status: secrets.ResolvedOverridden},
			{Name: "HELD", Variable: "HELD", Scope: "*", Container: "group:acme", Level: 1, Version: 1, Status: secrets.ResolvedWithheld},
			{Name: "OLD", Variable: "OLD", Scope: "*", Container: "ws", Level: 0, Version: 1, Status: secrets.ResolvedExpired},
			{Name: "OLD", Variable: "OLD", Scope: "*", Container: "instance", Level: 2, Version: 1, Status: secrets.ResolvedDelivered},
			{Name: "OWN", Variable: "OWN", Scope: "*", Container: "ws", Level: 0, Version: 1, Status: secrets.ResolvedDelivered},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("Resolve (-want +got):\n%s", d)
		}
		// It agrees with what a job gets.
		env := envMap(t, m, "ws")
		if d := cmp.Diff(map[string]string{"A": "group-a", "OLD": "instance-old", "OWN": "own-value"}, env); d != "" {
			t.Fatalf("the job (-want +got):\n%s", d)
		}
		after, _ := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Limit: 100})
		if len(after) != len(before)+1 { // the job's, not the preview's
			t.Fatalf("%d inject events after a preview and a job, %d before", len(after), len(before))
		}
	})
}

// Resolve reads no value: a secret that composes others is marked
// (Expands), since a reference the job does not get fails the job that
// the preview shows it delivered to (an HTTP trial: "delivered", and the
// job failed).
func TestResolveMarksExpanding(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Parents: chain(wsLevels)})
		ctx := context.Background()
		set := func(ws, name, value string, info secrets.Info) {
			t.Helper()
			if _, err := m.Set(ctx, ws, name, []byte(value), &secrets.SetOptions{Info: &info}); err != nil {
				t.Fatal(err)
			}
		}
		set("group:acme", "PROT", "protected-ingredient", secrets.Info{Protected: true})
		set("ws", "LEAKY", "x=${PROT}", secrets.Info{Expand: true})
		set("ws", "PLAIN", "plain-value", secrets.Info{})
		got, err := m.Resolve(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		marks := map[string]string{}
		for _, r := range got {
			marks[r.Name] = fmt.Sprintf("%s expands=%v", r.Status, r.Expands)
		}
		want := map[string]string{"LEAKY": "delivered expands=true", "PLAIN": "delivered expands=false", "PROT": "protected expands=false"}
		if d := cmp.Diff(want, marks); d != "" {
			t.Fatalf("Resolve (-want +got):\n%s", d)
		}
		if _, err := m.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrReference) {
			t.Fatalf("the unprotected job: %v, want ErrReference", err)
		}
	})
}
