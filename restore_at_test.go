package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// pitrClock is a fake clock that a test moves forward.
type pitrClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *pitrClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// step moves the clock an hour on and returns the time before the move:
// everything written so far is at or before it.
func (c *pitrClock) step() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := c.now
	c.now = c.now.Add(time.Hour)
	return at
}

// pitrHistory edits a workspace through several times and returns the
// Manager, its events (through OnEvent) and the times T1, T2 and T3
// after the first three rounds of edits. Every value starts with "val-".
func pitrHistory(t *testing.T, s secrets.Store, cfg *secrets.Config) (*secrets.Manager, *[]secrets.Event, [3]time.Time) {
	t.Helper()
	ctx := context.Background()
	clock := &pitrClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	var events []secrets.Event
	var mu sync.Mutex
	if cfg == nil {
		cfg = &secrets.Config{}
	}
	cfg.Now, cfg.KeepVersions = clock.Now, 3
	cfg.OnEvent = func(_ context.Context, e secrets.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }
	m := newManager(t, s, newCipher(t), cfg)
	var ts [3]time.Time
	for _, n := range []string{"A", "B", "C", "D", "W"} {
		mustSet(t, m, "ws", n, "val-"+n+"-1")
	}
	ts[0] = clock.step()
	mustSet(t, m, "ws", "A", "val-A-2")
	mustSet(t, m, "ws", "B", "val-B-2")
	must(t)(m.Delete(ctx, "ws", "C", nil))
	ts[1] = clock.step()
	mustSet(t, m, "ws", "A", "val-A-3")
	must(t)(m.Undelete(ctx, "ws", "C", nil))
	mustSet(t, m, "ws", "C", "val-C-2")
	mustSet(t, m, "ws", "E", "val-E-1")
	ts[2] = clock.step()
	mustSet(t, m, "ws", "A", "val-A-4")
	mustSet(t, m, "ws", "A", "val-A-5") // A keeps versions 3, 4 and 5
	if err := m.Destroy(ctx, "ws", "W", nil); err != nil {
		t.Fatal(err)
	}
	must(t)(m.Delete(ctx, "ws", "D", nil))
	must(t)(m.Rename(ctx, "ws", "B", "BB", nil))
	clock.step()
	return m, &events, ts
}

// must fails t on the error of a write that returns a Meta.
func must(t *testing.T) func(secrets.Meta, error) {
	return func(_ secrets.Meta, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRestoreAtPlans previews restores to three times of a workspace's
// history and checks each plan: new versions, undeletes, deletes, what
// is unchanged, and what cannot come back (pruned versions, a destroyed
// secret), with renames listed and not undone.
func TestRestoreAtPlans(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m, _, ts := pitrHistory(t, s, nil)
		ctx := context.Background()
		renamed := []secrets.RestoreAtRename{{Name: "BB", Was: "B"}}
		revs := map[string]int64{"A": 5, "BB": 3, "C": 4, "D": 2, "E": 1}
		for i, want := range []secrets.RestoreAtPlan{{
			Workspace: "ws", At: ts[0],
			Versions:  []secrets.RestoreAtChange{{Name: "BB", From: 2, To: 1}, {Name: "C", From: 2, To: 1}},
			Undeleted: []secrets.RestoreAtChange{{Name: "D", From: 1, To: 1}},
			Deleted:   []string{"E"}, Unchanged: []string{},
			Unrestorable: []secrets.Unrestorable{{Name: "A", Version: 1, Reason: secrets.UnrestorablePruned},
				{Name: "W", Version: 1, Reason: secrets.UnrestorableDestroyed}},
			Renamed: renamed, Revisions: revs,
		}, {
			Workspace: "ws", At: ts[1],
			Versions: []secrets.RestoreAtChange{}, Undeleted: []secrets.RestoreAtChange{{Name: "D", From: 1, To: 1}},
			Deleted: []string{"C", "E"}, Unchanged: []string{"BB"},
			Unrestorable: []secrets.Unrestorable{{Name: "A", Version: 2, Reason: secrets.UnrestorablePruned},
				{Name: "W", Version: 1, Reason: secrets.UnrestorableDestroyed}},
			Renamed: renamed, Revisions: revs,
		}, {
			Workspace: "ws", At: ts[2],
			Versions:  []secrets.RestoreAtChange{{Name: "A", From: 5, To: 3}},
			Undeleted: []secrets.RestoreAtChange{{Name: "D", From: 1, To: 1}},
			Deleted:   []string{}, Unchanged: []string{"BB", "C", "E"},
			Unrestorable: []secrets.Unrestorable{{Name: "W", Version: 1, Reason: secrets.UnrestorableDestroyed}},
			Renamed:      renamed, Revisions: revs,
		}} {
			got, err := m.PreviewRestoreAt(ctx, "ws", want.At)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("plan at T%d (-want +got):\n%s", i+1, d)
			}
		}
		before, err := m.PreviewRestoreAt(ctx, "ws", ts[0].Add(-time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"A", "BB", "C", "E"}; !cmp.Equal(before.Deleted, want) {
			t.Errorf("before anything was written: deleted %v, want %v", before.Deleted, want)
		}
		if _, err := m.PreviewRestoreAt(ctx, "ws", time.Time{}); !errors.Is(err, secrets.ErrInvalidTime) {
			t.Errorf("zero time: %v, want ErrInvalidTime", err)
		}
	})
}

// TestRestoreAtApplies applies the restore to T1 and checks the values
// that result, that they are new versions (history kept), that a second
// preview finds nothing left to do, and that no value appears in a plan
// or an event; then restores to T3, which undoes most of it.
func TestRestoreAtApplies(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m, events, ts := pitrHistory(t, s, nil)
		ctx := context.Background()
		var plans []byte
		plan, err := m.PreviewRestoreAt(ctx, "ws", ts[0])
		if err != nil {
			t.Fatal(err)
		}
		// Through JSON, as the CLI's --plan file carries it.
		raw, _ := json.Marshal(plan)
		plans = append(plans, raw...)
		var decoded secrets.RestoreAtPlan
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Fatal(err)
		}
		n := len(*events)
		metas, err := m.RestoreAt(ctx, "ws", decoded)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, meta := range metas {
			got = append(got, meta.Name)
		}
		if want := []string{"BB", "C", "D"}; !cmp.Equal(got, want) {
			t.Errorf("restored %v, want %v", got, want)
		}
		want := map[string]string{"A": "val-A-5", "BB": "val-B-1", "C": "val-C-1", "D": "val-D-1"}
		if d := cmp.Diff(want, envMap(t, m, "ws")); d != "" {
			t.Errorf("after the restore to T1 (-want +got):\n%s", d)
		}
		vs, err := m.Versions(ctx, "ws", "BB")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 3 || vs[0].Version != 3 {
			t.Errorf("BB's versions %+v: want a new version 3 over 2 and 1", vs)
		}
		restores := 0
		for _, e := range (*events)[n:] {
			if strings.HasPrefix(e.Detail, "restore to") {
				restores++
				if e.Action != secrets.ActionSet || len(e.Secrets) != 4 {
					t.Errorf("restore event %+v: want one set event naming the 4 secrets", e)
				}
			}
		}
		if restores != 1 {
			t.Errorf("%d restore events, want 1", restores)
		}
		again, err := m.PreviewRestoreAt(ctx, "ws", ts[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Versions)+len(again.Undeleted)+len(again.Deleted) != 0 || len(again.Unrestorable) != 2 {
			t.Errorf("after the restore, the same preview: %+v", again)
		}
		raw, _ = json.Marshal(again)
		plans = append(plans, raw...)

		plan, err = m.PreviewRestoreAt(ctx, "ws", ts[2])
		if err != nil {
			t.Fatal(err)
		}
		raw, _ = json.Marshal(plan)
		plans = append(plans, raw...)
		if _, err := m.RestoreAt(ctx, "ws", plan); err != nil {
			t.Fatal(err)
		}
		want = map[string]string{"A": "val-A-3", "BB": "val-B-2", "C": "val-C-2", "D": "val-D-1", "E": "val-E-1"}
		if d := cmp.Diff(want, envMap(t, m, "ws")); d != "" {
			t.Errorf("after the restore to T3 (-want +got):\n%s", d)
		}
		evs, _ := json.Marshal(*events)
		for what, b := range map[string][]byte{"plans": plans, "events": evs} {
			if strings.Contains(string(b), "val-") {
				t.Errorf("a value in the %s: %s", what, b)
			}
		}
	})
}

// TestRestoreAtConflict changes the workspace between the preview and
// RestoreAt, in several ways: each is ErrConflict, and nothing changes.
func TestRestoreAtConflict(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m, _, ts := pitrHistory(t, s, nil)
		ctx := context.Background()
		for _, edit := range []struct {
			name string
			fn   func() error
		}{
			{"a value set", func() error { _, err := m.Set(ctx, "ws", "C", []byte("val-C-late"), nil); return err }},
			{"a secret added", func() error { _, err := m.Set(ctx, "ws", "F", []byte("val-F-1"), nil); return err }},
			{"an undelete", func() error { _, err := m.Undelete(ctx, "ws", "D", nil); return err }},
			{"a delete", func() error { _, err := m.Delete(ctx, "ws", "E", nil); return err }},
		} {
			plan, err := m.PreviewRestoreAt(ctx, "ws", ts[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := edit.fn(); err != nil {
				t.Fatal(err)
			}
			before := envMap(t, m, "ws")
			_, err = m.RestoreAt(ctx, "ws", plan)
			if !errors.Is(err, secrets.ErrConflict) {
				t.Fatalf("%s: %v, want ErrConflict", edit.name, err)
			}
			if strings.Contains(err.Error(), "val-") {
				t.Errorf("%s: a value in the error: %v", edit.name, err)
			}
			if d := cmp.Diff(before, envMap(t, m, "ws")); d != "" {
				t.Errorf("%s: the refused restore changed the workspace (-before +after):\n%s", edit.name, d)
			}
		}
		// An edited plan is not applied either.
		plan, err := m.PreviewRestoreAt(ctx, "ws", ts[0])
		if err != nil {
			t.Fatal(err)
		}
		plan.Deleted = nil
		if _, err := m.RestoreAt(ctx, "ws", plan); !errors.Is(err, secrets.ErrConflict) {
			t.Errorf("an edited plan: %v, want ErrConflict", err)
		}
	})
}

// TestRestoreAtOverBudget: RestoreAt refuses with ErrTooLarge, changing
// nothing, a restore that would grow the workspace's environment past
// Config.MaxEnvBytes: by bringing back a longer value as well as by
// undeleting a secret. (The budget was lowered after the history was
// written.)
func TestRestoreAtOverBudget(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		clock := &pitrClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
		c := newCipher(t)
		open := newManager(t, s, c, &secrets.Config{Now: clock.Now})
		mustSet(t, open, "grow", "A", strings.Repeat("a", 150))
		mustSet(t, open, "undelete", "B", strings.Repeat("b", 150))
		at := clock.step()
		mustSet(t, open, "grow", "A", "short")
		must(t)(open.Delete(ctx, "undelete", "B", nil))
		tight := newManager(t, s, c, &secrets.Config{Now: clock.Now, MaxEnvBytes: 100})
		for _, ws := range []string{"grow", "undelete"} {
			// The preview of the Manager with the budget refuses too
			// (TestPreviewRestoreAtBudget); one made without it reaches
			// RestoreAt's own check.
			if _, err := tight.PreviewRestoreAt(ctx, ws, at); !errors.Is(err, secrets.ErrTooLarge) {
				t.Fatalf("%s: preview: %v, want ErrTooLarge", ws, err)
			}
			plan, err := open.PreviewRestoreAt(ctx, ws, at)
			if err != nil {
				t.Fatalf("%s: preview: %v", ws, err)
			}
			before := envMap(t, tight, ws)
			if _, err := tight.RestoreAt(ctx, ws, plan); !errors.Is(err, secrets.ErrTooLarge) {
				t.Fatalf("%s: %v, want ErrTooLarge", ws, err)
			}
			if d := cmp.Diff(before, envMap(t, tight, ws)); d != "" {
				t.Errorf("%s: the refused restore changed the workspace (-before +after):\n%s", ws, d)
			}
		}
	})
}

// TestRestoreAtAuthorization: RestoreAt asks for ActionSet with the names
// it restores and ActionDelete with those it deletes; a refusal changes
// nothing.
func TestRestoreAtAuthorization(t *testing.T) {
	var mu sync.Mutex
	var asked []secrets.Request
	deny := false
	cfg := &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, r)
		if deny && r.Action == secrets.ActionDelete {
			return errors.New("no deletes")
		}
		return nil
	}}
	m, _, ts := pitrHistory(t, secrets.NewMemoryStore(), cfg)
	ctx := context.Background()
	plan, err := m.PreviewRestoreAt(ctx, "ws", ts[0])
	if err != nil {
		t.Fatal(err)
	}
	before := envMap(t, m, "ws")
	mu.Lock()
	deny, asked = true, nil
	mu.Unlock()
	if _, err := m.RestoreAt(ctx, "ws", plan); !errors.Is(err, secrets.ErrForbidden) {
		t.Fatalf("RestoreAt without the right to delete: %v, want ErrForbidden", err)
	}
	if d := cmp.Diff(before, envMap(t, m, "ws")); d != "" {
		t.Errorf("a refused restore changed the workspace:\n%s", d)
	}
	mu.Lock()
	defer mu.Unlock()
	// First the set and the diff with no names (before the plan is
	// looked at), then the names it sets and deletes.
	want := []secrets.Request{{Action: secrets.ActionSet}, {Action: secrets.ActionDiff},
		{Action: secrets.ActionSet, Names: []string{"BB", "C", "D"}}, {Action: secrets.ActionDelete, Names: []string{"E"}}}
	var got []secrets.Request
	for _, r := range asked[:min(4, len(asked))] {
		got = append(got, secrets.Request{Action: r.Action, Names: r.Names})
	}
	if !cmp.Equal(got, want, cmpopts.EquateEmpty()) {
		t.Errorf("asked %+v, want %+v first", asked, want)
	}
}

// A caller the hook refuses learns nothing of the plan it gives RestoreAt:
// a wrong plan, a plan of no time and the right plan are all ErrForbidden,
// each recorded as a denial.
func TestRestoreAtRefusedFirst(t *testing.T) {
	m, _, ts := pitrHistory(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
		if r.Actor == "user:refused" {
			return errors.New("no")
		}
		return nil
	}})
	ctx := context.Background()
	plan, err := m.PreviewRestoreAt(ctx, "ws", ts[0])
	if err != nil {
		t.Fatal(err)
	}
	wrong := plan
	wrong.Deleted = nil
	refused := secrets.WithActor(ctx, "user:refused")
	for name, p := range map[string]secrets.RestoreAtPlan{"the plan": plan, "a wrong plan": wrong, "no time": {}} {
		if _, err := m.RestoreAt(refused, "ws", p); !errors.Is(err, secrets.ErrForbidden) {
			t.Errorf("%s: %v, want ErrForbidden", name, err)
		}
	}
	evs, err := m.Events(ctx, secrets.EventQuery{Actor: "user:refused", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || slices.ContainsFunc(evs, func(e secrets.Event) bool { return e.Outcome != secrets.OutcomeDenied }) {
		t.Fatalf("the refusals' events: %+v", evs)
	}
}

// TestRestoreAtUntracked: once Purge has dropped the ledger entries of a
// time, the secrets that existed then are listed as untracked, not
// restored nor deleted.
func TestRestoreAtUntracked(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m, _, ts := pitrHistory(t, s, nil)
		ctx := context.Background()
		// Events before T3 + 25h go, with the ledger entries superseded
		// before T3 + 1h: those of A, BB and C at T1; D's and W's last
		// until their delete and destroy, at T3 + 1h.
		if _, err := s.(secrets.Purger).DropEvents(ctx, ts[2].Add(25*time.Hour), 1000); err != nil {
			t.Fatal(err)
		}
		got, err := m.PreviewRestoreAt(ctx, "ws", ts[0])
		if err != nil {
			t.Fatal(err)
		}
		want := []secrets.Unrestorable{{Name: "A", Reason: secrets.UnrestorableUntracked}, {Name: "BB", Reason: secrets.UnrestorableUntracked},
			{Name: "C", Reason: secrets.UnrestorableUntracked}, {Name: "W", Version: 1, Reason: secrets.UnrestorableDestroyed}}
		if d := cmp.Diff(want, got.Unrestorable); d != "" {
			t.Errorf("unrestorable (-want +got):\n%s", d)
		}
		if len(got.Versions) != 0 || !cmp.Equal(got.Deleted, []string{"E"}) || !cmp.Equal(got.Undeleted, []secrets.RestoreAtChange{{Name: "D", From: 1, To: 1}}) {
			t.Errorf("plan %+v: want D undeleted, E (created after T1) deleted, nothing else", got)
		}
	})
}

// TestRestoreAtWriteOnly: a preview never compares a write-only value,
// by fingerprint (with an AuditKey) or decrypted (without): a write-only
// secret whose current value is a guess equal to its value at T is a
// new version in the plan, not unchanged, as is one readable at T and
// write-only now; the readable one beside them is unchanged.
func TestRestoreAtWriteOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		c := newCipher(t)
		for _, ak := range []*secrets.AuditKey{nil, newAuditKey(t)} {
			ctx := context.Background()
			ws := "ws-fp"
			if ak == nil {
				ws = "ws-dec"
			}
			clock := &pitrClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
			m := newManager(t, s, c, &secrets.Config{Now: clock.Now, AuditKey: ak})
			wo := &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}
			if _, err := m.Set(ctx, ws, "HIDDEN", []byte("4711"), wo); err != nil {
				t.Fatal(err)
			}
			mustSet(t, m, ws, "LATER", "4711")
			mustSet(t, m, ws, "PLAIN", "4711")
			at := clock.step()
			// The attack: set a guess, preview, roll back; here the guess
			// is right, so the current value equals the one at T.
			for _, n := range []string{"HIDDEN", "LATER", "PLAIN"} {
				mustSet(t, m, ws, n, "guess-1")
			}
			if _, err := m.SetInfo(ctx, ws, "LATER", secrets.Info{WriteOnly: true}, nil); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"HIDDEN", "LATER", "PLAIN"} {
				mustSet(t, m, ws, n, "4711")
			}
			plan, err := m.PreviewRestoreAt(ctx, ws, at)
			if err != nil {
				t.Fatal(err)
			}
			want := []secrets.RestoreAtChange{{Name: "HIDDEN", From: 3, To: 1}, {Name: "LATER", From: 3, To: 1}}
			if !cmp.Equal(plan.Versions, want) || !cmp.Equal(plan.Unchanged, []string{"PLAIN"}) {
				t.Errorf("audit key %v: versions %+v, unchanged %v; want %+v and [PLAIN]", ak != nil, plan.Versions, plan.Unchanged, want)
			}
			if _, err := m.RestoreAt(ctx, ws, plan); err != nil {
				t.Fatal(err)
			}
			if got := envMap(t, m, ws); got["HIDDEN"] != "4711" || got["LATER"] != "4711" {
				t.Errorf("after the restore: %v", got)
			}
		}
	})
}

// PreviewRestoreAt is a diff, as PreviewRestore is: its Unchanged tells
// whether a value now is its value then, so a caller who may only list is
// refused; its event names the plan's secrets.
func TestRestoreAtPreviewIsADiff(t *testing.T) {
	m, _, ts := pitrHistory(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: func(ctx context.Context, r secrets.Request) error {
		if secrets.ActorFrom(ctx) == "user:viewer" && r.Action != secrets.ActionList {
			return errors.New("viewers list")
		}
		return nil
	}})
	ctx := context.Background()
	if _, err := m.PreviewRestoreAt(secrets.WithActor(ctx, "user:viewer"), "ws", ts[0]); !errors.Is(err, secrets.ErrForbidden) {
		t.Fatalf("a viewer's preview: %v, want ErrForbidden", err)
	}
	if _, err := m.PreviewRestoreAt(secrets.WithActor(ctx, "user:editor"), "ws", ts[0]); err != nil {
		t.Fatal(err)
	}
	evs, err := m.Events(ctx, secrets.EventQuery{Actor: "user:editor", Action: secrets.ActionDiff})
	if err != nil || len(evs) != 1 || len(evs[0].Secrets) == 0 {
		t.Fatalf("the preview's event: %+v, %v", evs, err)
	}
}
