package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// TestEventsNeedAuditAbility: Events is authorized as ActionAudit, apart
// from listing; a refusal is ErrForbidden and recorded.
func TestEventsNeedAuditAbility(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m := newManager(t, s, newCipher(t), &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
			if r.Actor == "user:viewer" && r.Action == secrets.ActionAudit {
				return errors.New("viewers do not read the audit trail")
			}
			return nil
		}})
		mustSet(t, m, "ws", "TOKEN", "value-1")
		viewer := secrets.WithActor(context.Background(), "user:viewer")
		if _, err := m.List(viewer, "ws", nil); err != nil {
			t.Fatalf("the viewer may list: %v", err)
		}
		if _, err := m.Events(viewer, secrets.EventQuery{Workspace: "ws"}); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatalf("the viewer read the audit trail: %v", err)
		}
		owner := secrets.WithActor(context.Background(), "user:owner")
		evs, err := m.Events(owner, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionAudit})
		if err != nil || len(evs) != 1 || evs[0].Outcome != secrets.OutcomeDenied || evs[0].Actor != "user:viewer" {
			t.Fatalf("the refusal's event: %+v, %v", evs, err)
		}
	})
}

// TestRefusalReasons: neither the caller's error nor the denial's event
// quotes the hook's error; a *Refusal's Reason is shown in both, and its
// Cause only reached by unwrapping the error (for the host's logs);
// Unavailable (or an error matching ErrUnavailable) fails with
// ErrUnavailable, not ErrForbidden, its Reason shown too.
func TestRefusalReasons(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		dbErr := &roleServiceError{"dial tcp 10.0.0.7:5432: role service password=hunter2 refused"}
		m := newManager(t, s, newCipher(t), &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
			switch r.Actor {
			case "user:plain":
				return dbErr
			case "user:reason":
				return &secrets.Refusal{Reason: "only group owners edit group secrets", Cause: dbErr}
			case "user:down":
				return &secrets.Refusal{Unavailable: true, Cause: dbErr}
			case "user:down-reason":
				return &secrets.Refusal{Unavailable: true, Reason: "roles are being synced", Cause: dbErr}
			case "user:down-wrapped":
				return errors.Join(secrets.ErrUnavailable, dbErr)
			}
			return nil
		}})
		mustSet(t, m, "ws", "TOKEN", "value-1")
		get := func(actor string) error {
			_, err := m.Get(secrets.WithActor(context.Background(), actor), "ws", "TOKEN")
			return err
		}
		for actor, want := range map[string]struct {
			class  error
			reason string
		}{
			"user:plain": {secrets.ErrForbidden, ""}, "user:reason": {secrets.ErrForbidden, "only group owners edit group secrets"},
			"user:down": {secrets.ErrUnavailable, ""}, "user:down-wrapped": {secrets.ErrUnavailable, ""},
			"user:down-reason": {secrets.ErrUnavailable, "roles are being synced: try again"},
		} {
			err := get(actor)
			if !errors.Is(err, want.class) || errors.Is(err, secrets.ErrForbidden) && want.class != secrets.ErrForbidden {
				t.Errorf("%s: %v, want %v", actor, err, want.class)
				continue
			}
			msg := err.Error()
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, "10.0.0.7") {
				t.Errorf("%s: the hook's error reached the caller: %q", actor, msg)
			}
			if want.reason != "" && !strings.HasSuffix(msg, ": "+want.reason) {
				t.Errorf("%s: the reason is not shown: %q", actor, msg)
			}
			// The host's logs reach the cause by unwrapping.
			if u := errors.Unwrap(err); u == nil || !strings.Contains(u.Error(), "hunter2") {
				t.Errorf("%s: the error does not unwrap to the hook's: %v", actor, u)
			}
			// A hook that returned a *Refusal gets it back, Cause and all;
			// errors.Is still does not reach what the Cause wraps.
			var r *secrets.Refusal
			var rs *roleServiceError
			switch refused := errors.As(err, &r); {
			case actor == "user:plain" || actor == "user:down-wrapped":
				if refused {
					t.Errorf("%s: a Refusal the hook did not return: %+v", actor, r)
				}
			case !refused || !errors.As(r.Cause, &rs) || rs != dbErr:
				t.Errorf("%s: errors.As finds no Refusal with the hook's Cause: %v", actor, r)
			}
			if errors.Is(err, secrets.ErrNotFound) || errors.As(err, &rs) {
				t.Errorf("%s: the error matches what the hook's error wraps", actor)
			}
		}
		// The events, which the panel's Activity view shows to whoever may
		// read events, hold the public reason and never the private cause.
		evs, err := m.Events(context.Background(), secrets.EventQuery{Workspace: "ws", Action: secrets.ActionReveal})
		if err != nil {
			t.Fatal(err)
		}
		var denials, reasons int
		for _, e := range evs {
			if e.Outcome == secrets.OutcomeOK {
				continue
			}
			denials++
			if strings.Contains(e.Detail, "hunter2") || strings.Contains(e.Detail, "role service") {
				t.Errorf("the event of a refusal holds the hook's error: %q", e.Detail)
			}
			if strings.Contains(e.Detail, "only group owners edit group secrets") || strings.Contains(e.Detail, "roles are being synced") {
				reasons++
			}
		}
		if denials != 5 || reasons != 2 {
			t.Errorf("%d refusals recorded (want 5), %d with their reason (want 2): %+v", denials, reasons, evs)
		}
		// A refused write is recorded once, the hook unavailable or not.
		for _, actor := range []string{"user:down", "user:reason"} {
			if _, err := m.Set(secrets.WithActor(context.Background(), actor), "ws", "TOKEN", []byte("value-2"), nil); err == nil {
				t.Fatalf("%s: Set went through", actor)
			}
			evs, err := m.Events(context.Background(), secrets.EventQuery{Workspace: "ws", Action: secrets.ActionSet, Actor: actor})
			if err != nil || len(evs) != 1 {
				t.Errorf("%s: %d set events for one refused Set, want 1 (%v): %+v", actor, len(evs), err, evs)
			}
		}
		// Allowed says the same.
		err = m.Allowed(secrets.WithActor(context.Background(), "user:down"), "ws", secrets.ActionReveal)
		if !errors.Is(err, secrets.ErrUnavailable) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Allowed for an unavailable hook: %v", err)
		}
	})
}

// TestUnauditedLists: with UnauditedLists, List, Meta, Versions, Due and
// Keys leave no event, while Get, EnvFor, Export, writes and refusals do.
func TestUnauditedLists(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m := newManager(t, s, newCipher(t), &secrets.Config{UnauditedLists: true})
		ctx := context.Background()
		mustSet(t, m, "ws", "TOKEN", "value-1")
		count := func() map[secrets.Action]int {
			evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			n := map[secrets.Action]int{}
			for _, e := range evs {
				n[e.Action]++
			}
			return n
		}
		before := count()
		m.List(ctx, "ws", nil)
		m.Meta(ctx, "ws", "TOKEN")
		m.Versions(ctx, "ws", "TOKEN")
		m.Due(ctx, "ws", time.Now())
		m.Keys(ctx, "ws")
		if d := cmp.Diff(before, count()); d != "" {
			t.Fatalf("listing left events (-before +after):\n%s", d)
		}
		mustGet(t, m, "ws", "TOKEN")
		if _, err := m.EnvFor(ctx, "ws"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Export(ctx, "ws", nil); err != nil {
			t.Fatal(err)
		}
		m.Meta(ctx, "ws", "NOPE") // a failure is still recorded
		after := count()
		for _, a := range []secrets.Action{secrets.ActionReveal, secrets.ActionInject, secrets.ActionExport} {
			if after[a] != before[a]+1 {
				t.Errorf("%s: %d events, want %d", a, after[a], before[a]+1)
			}
		}
		if after[secrets.ActionList] != before[secrets.ActionList]+1 {
			t.Errorf("the failed Meta was not recorded: %v", after)
		}
	})
}

// TestEventRetentionDefault: Purge drops events older than 400 days by
// default, and none with a negative retention.
func TestEventRetentionDefault(t *testing.T) {
	for _, keep := range []time.Duration{0, -1} {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{EventRetention: keep, Now: func() time.Time { return now }})
		mustSet(t, m, "ws", "OLD", "value-1")
		now = now.Add(secrets.DefaultEventRetention - time.Hour)
		mustSet(t, m, "ws", "NEWER", "value-2")
		now = now.Add(2 * time.Hour)
		r, err := m.Purge(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want := map[time.Duration]int{0: 1, -1: 0}[keep]; r.EventsDropped != want {
			t.Errorf("retention %v: %d events dropped, want %d", keep, r.EventsDropped, want)
		}
	}
}

// TestOnEventIDs: OnEvent gets the ID the Store gave each event: reveals,
// lists and key operations, and injections, recorded in the read's own
// statement.
func TestOnEventIDs(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		var mu sync.Mutex
		var got []secrets.Event
		m := newManager(t, s, newCipher(t), &secrets.Config{OnEvent: func(_ context.Context, e secrets.Event) {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
		}})
		ctx := context.Background()
		mustSet(t, m, "ws", "TOKEN", "value-1")
		mustGet(t, m, "ws", "TOKEN")
		if _, err := m.EnvFor(ctx, "ws"); err != nil { // recorded in the read's own statement
			t.Fatal(err)
		}
		if _, err := m.List(ctx, "ws", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.RotateKey(ctx, "ws", nil); err != nil {
			t.Fatal(err)
		}
		stored, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		actionOf := map[int64]secrets.Action{}
		for _, e := range stored {
			actionOf[e.ID] = e.Action
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range got {
			if e.Action == secrets.ActionAudit {
				continue // the Events call above, published after it read
			}
			if a, ok := actionOf[e.ID]; !ok || a != e.Action {
				t.Errorf("OnEvent got %s with ID %d, which the Store gave to %q", e.Action, e.ID, a)
			}
		}
		if !slices.ContainsFunc(got, func(e secrets.Event) bool { return e.Action == secrets.ActionInject }) || len(got) < 5 {
			t.Fatalf("%d events", len(got))
		}
	})
}

// TestNoNamesJobEvent: a job with NoSecrets gets no secret, and its event
// lists none, on every store (the memory store's used to list them all);
// an empty, non-nil Names, which reads as "none" as easily as "all", is
// refused.
func TestNoNamesJobEvent(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m := newManager(t, s, newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "ws", "TOKEN", "value-1")
		if _, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{}}); !errors.Is(err, secrets.ErrInvalidName) {
			t.Fatalf("an empty Names: %v", err)
		}
		if _, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"TOKEN"}, NoSecrets: true}); !errors.Is(err, secrets.ErrInvalidName) {
			t.Fatalf("Names with NoSecrets: %v", err)
		}
		job, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{NoSecrets: true, Base: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		defer job.Close()
		if len(job.Env) != 0 {
			t.Fatalf("a job of no names got %v", len(job.Env))
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Newest: true, Limit: 1})
		if err != nil || len(evs) != 1 {
			t.Fatal(evs, err)
		}
		if len(evs[0].Secrets) != 0 {
			t.Fatalf("the event of a job of no names lists %+v", evs[0].Secrets)
		}
		hits, err := m.Events(ctx, secrets.EventQuery{Name: "TOKEN", Action: secrets.ActionInject})
		if err != nil || len(hits) != 0 {
			t.Fatalf("a name search accuses the job of no names: %+v, %v", hits, err)
		}
	})
}

// roleServiceError is a host's own error type, which wraps ErrNotFound
// (a role service's "no such user").
type roleServiceError struct{ msg string }

func (e *roleServiceError) Error() string { return e.msg }
func (e *roleServiceError) Unwrap() error { return secrets.ErrNotFound }

// TestEventLogLine: SlogEvents's line for a job says where each secret
// came from, which it did not get (withheld, ingredient), and the job's
// environment, protection and parents; a refused reveal names no version.
func TestEventLogLine(t *testing.T) {
	var logs bytes.Buffer
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{
		Parents: chain(wsLevels),
		Withhold: func(_ context.Context, _ secrets.Request, o secrets.Offer) bool {
			return o.Variable == "PROD_DB"
		},
		Authorize: func(_ context.Context, r secrets.Request) error {
			if r.Actor == "user:viewer" && r.Action == secrets.ActionReveal {
				return secrets.ErrForbidden
			}
			return nil
		},
		OnEvent: secrets.SlogEvents(slog.New(slog.NewJSONHandler(&logs, nil))),
	})
	ctx := context.Background()
	mustSet(t, m, "group:acme", "API_TOKEN", "group-token-1")
	mustSet(t, m, "ws", "PROD_DB@production", "prod-db-1")
	mustSet(t, m, "ws", "URL", "https://x/")
	if _, err := m.Set(ctx, "ws", "DSN", []byte("u:${PW}"), &secrets.SetOptions{Info: &secrets.Info{Expand: true}}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, m, "ws", "PW", "ingredient-pw-1")
	logs.Reset()
	job, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: "production", Protected: true,
		Names: []string{"API_TOKEN", "PROD_DB", "URL", "DSN"}})
	if err != nil {
		t.Fatal(err)
	}
	job.Close()
	if _, err := m.Get(secrets.WithActor(ctx, "user:viewer"), "ws", "URL"); !errors.Is(err, secrets.ErrForbidden) {
		t.Fatal(err)
	}
	type line struct {
		Event map[string]any `json:"event"`
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var e line
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, e)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), logs.String())
	}
	got := map[string]any{}
	for _, k := range []string{"action", "secrets", "environment", "protected", "parents"} {
		got[k] = lines[0].Event[k]
	}
	want := map[string]any{"action": "inject",
		"secrets":     `API_TOKEN v1 from "group:acme",DSN v1,PROD_DB@production v1 withheld,PW v1 ingredient,URL v1`,
		"environment": "production", "protected": true, "parents": `"group:acme","instance"`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the job's log line (-want +got):\n%s", d)
	}
	if s := lines[1].Event["secrets"]; s != "URL" {
		t.Errorf("the refused reveal's line names %q", s)
	}
	if strings.Contains(logs.String(), "prod-db-1") || strings.Contains(logs.String(), "ingredient-pw-1") {
		t.Error("a value reached the log")
	}

	// A scope with a comma cannot make one secret read as two.
	logs.Reset()
	mustSet(t, m, "ws", "DB@prod,ADMIN_TOKEN", "comma-scope-1")
	job, err = m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: "prod,ADMIN_TOKEN", Names: []string{"DB"}})
	if err != nil {
		t.Fatal(err)
	}
	job.Close()
	var set, inject line
	for i, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if err := json.Unmarshal([]byte(l), []*line{&set, &inject}[i]); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := set.Event["secrets"], `"DB@prod,ADMIN_TOKEN" v1`; got != want {
		t.Errorf("the write's line names %q, want %q", got, want)
	}
	if got, want := inject.Event["environment"], `"prod,ADMIN_TOKEN"`; got != want {
		t.Errorf("the job's environment reads %q, want %q", got, want)
	}
}
