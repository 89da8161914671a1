package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// A listing of 10,000 secrets, paged, returns each secret that exists
// throughout exactly once while others are added and destroyed.
func TestListTenThousand(t *testing.T) {
	t.Parallel() // long, and shares nothing with the other parallel tests
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		// 10,000 secrets and the ones added while paging: past the default.
		m := newManager(t, s, newCipher(t), &secrets.Config{MaxSecrets: -1})
		var text bytes.Buffer
		for i := range 10_000 {
			fmt.Fprintf(&text, "S_%05d=v%d\n", i, i)
		}
		if _, err := m.Import(ctx, "ws", text.Bytes(), nil); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		removed := map[string]bool{}
		opts := &secrets.ListOptions{Limit: 100}
		for page := 0; ; page++ {
			p, err := m.List(ctx, "ws", opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Secrets {
				seen[s.Name]++
			}
			victim := fmt.Sprintf("S_%05d", (page*137)%10_000)
			if err := m.Destroy(ctx, "ws", victim, nil); err == nil {
				removed[victim] = true
			} else if !errors.Is(err, secrets.ErrNotFound) {
				t.Fatal(err)
			}
			mustSet(t, m, "ws", fmt.Sprintf("A_NEW_%d", page), "x")
			mustSet(t, m, "ws", fmt.Sprintf("Z_NEW_%d", page), "x")
			if p.Next == "" {
				break
			}
			opts.After = p.Next
		}
		for i := range 10_000 {
			name := fmt.Sprintf("S_%05d", i)
			if !removed[name] && seen[name] != 1 {
				t.Fatalf("%s listed %d times", name, seen[name])
			}
		}
		for name, n := range seen {
			if n > 1 {
				t.Fatalf("%s listed %d times", name, n)
			}
		}
		p, err := m.List(ctx, "ws", &secrets.ListOptions{Search: "s_0999", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range p.Secrets {
			got = append(got, s.Name)
		}
		var want []string
		for i := 9990; i < 10_000; i++ {
			if name := fmt.Sprintf("S_%05d", i); !removed[name] {
				want = append(want, name)
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("search (-want +got):\n%s", d)
		}
	})
}

// Meta, VersionMeta, Page and Event have stable JSON field names.
func TestJSONFieldNames(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	meta := secrets.Meta{Name: "AUTH_TOKEN@production", Variable: "AUTH_TOKEN", Scope: "production", Revision: 3, Version: 2, Created: at, CreatedBy: "u:1", Updated: at, UpdatedBy: "u:2",
		ValueUpdated: at, ValueUpdatedBy: "u:2", Info: secrets.Info{Description: "d", Expires: at, WriteOnly: true, Protected: true}}
	for what, tc := range map[string]struct {
		v    any
		want string
	}{
		"Meta": {meta, `{"name":"AUTH_TOKEN@production","variable":"AUTH_TOKEN","scope":"production","revision":3,"version":2,"created":"2026-11-27T10:00:00Z","created_by":"u:1",` +
			`"updated":"2026-11-27T10:00:00Z","updated_by":"u:2","value_updated":"2026-11-27T10:00:00Z","value_updated_by":"u:2",` +
			`"description":"d","expires":"2026-11-27T10:00:00Z","write_only":true,"file":false,"protected":true,"expand":false}`},
		"VersionMeta": {secrets.VersionMeta{Version: 1, Written: at, WrittenBy: "u", Current: true, Protected: true},
			`{"version":1,"written":"2026-11-27T10:00:00Z","written_by":"u","current":true,"protected":true}`},
		"Page": {secrets.Page{Secrets: []secrets.Meta{}, Next: "A"}, `{"secrets":[],"next":"A"}`},
		"Event": {secrets.Event{ID: 7, Time: at, Actor: "job", Action: secrets.ActionInject, Workspace: "ws", State: 9,
			Secrets: []secrets.EventSecret{{Name: "A", Version: 2, Fingerprint: []byte{1}}}, Outcome: secrets.OutcomeOK},
			`{"id":7,"time":"2026-11-27T10:00:00Z","actor":"job","action":"inject","workspace":"ws","state":9,` +
				`"secrets":[{"name":"A","version":2,"fingerprint":"AQ=="}],"outcome":"ok"}`},
		"Secret": {secrets.Secret{Meta: secrets.Meta{Name: "A"}}, `"value":"[redacted]"`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if what == "Secret" {
			if !strings.Contains(string(b), tc.want) {
				t.Errorf("%s: %s", what, b)
			}
			continue
		}
		if string(b) != tc.want {
			t.Errorf("%s JSON:\n got %s\nwant %s", what, b, tc.want)
		}
	}
}

// Events pages newest first by ID, and finds a secret's events by name.
func TestEventsPagingAndName(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		for i := range 5 {
			mustSet(t, m, "ws", "TOKEN", fmt.Sprint(i))
			mustSet(t, m, "ws", "OTHER", fmt.Sprint(i))
		}
		if _, err := m.EnvFor(ctx, "ws"); err != nil {
			t.Fatal(err)
		}
		var all []secrets.Event
		q := secrets.EventQuery{Workspace: "ws", Newest: true, Limit: 3}
		for {
			page, err := m.Events(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if len(page) < q.Limit {
				break
			}
			q.Before = page[len(page)-1].ID
		}
		if len(all) != 11 || all[0].Action != secrets.ActionInject {
			t.Fatalf("%d events, newest %s", len(all), all[0].Action)
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Fatalf("not newest first: %d after %d", all[i].ID, all[i-1].ID)
			}
		}
		named, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Name: "token"})
		if err != nil {
			t.Fatal(err)
		}
		if len(named) != 6 || named[5].Action != secrets.ActionInject {
			t.Fatalf("events of TOKEN: %d", len(named))
		}
		for _, e := range named[:5] {
			if e.Action != secrets.ActionSet || e.Secrets[0].Name != "TOKEN" {
				t.Fatalf("event of TOKEN: %+v", e)
			}
		}
	})
}

// Config.Expired chooses what a job gets for an expired secret; Prepare
// names them whatever the policy.
func TestExpiredPolicy(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		policy secrets.ExpiredPolicy
		want   map[string]string
		err    error
	}{
		{secrets.ExpiredInject, map[string]string{"FRESH": "f", "STALE": "s"}, nil},
		{secrets.ExpiredOmit, map[string]string{"FRESH": "f"}, nil},
		{secrets.ExpiredRefuse, nil, secrets.ErrExpired},
	} {
		m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{Expired: tc.policy, Now: func() time.Time { return now }})
		if _, err := m.Set(ctx, "ws", "STALE", []byte("s"), &secrets.SetOptions{Info: &secrets.Info{Expires: now.Add(-time.Minute)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "ws", "FRESH", []byte("f"), &secrets.SetOptions{Info: &secrets.Info{Expires: now.Add(time.Minute)}}); err != nil {
			t.Fatal(err)
		}
		env, err := m.EnvFor(ctx, "ws")
		if !errors.Is(err, tc.err) || tc.err != nil && (env != nil || !strings.Contains(err.Error(), "STALE")) {
			t.Fatalf("policy %d: %v, %v", tc.policy, env, err)
		}
		if tc.err == nil {
			if d := cmp.Diff(tc.want, envMap(t, m, "ws")); d != "" {
				t.Fatalf("policy %d (-want +got):\n%s", tc.policy, d)
			}
		}
		due, err := m.Due(ctx, "ws", now)
		if err != nil || len(due) != 1 || due[0].Name != "STALE" || !due[0].Expired(now) {
			t.Fatalf("Due: %+v %v", due, err)
		}
	}
}

// A search that no name can hold (NUL, which Postgres refuses in text, or
// bytes that are not UTF-8) finds nothing, on every store: it is no error.
func TestListSearchNoName(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m := newManager(t, s, newCipher(t), nil)
		ctx := secrets.WithActor(context.Background(), "user:a")
		mustSet(t, m, "ws", "A_TOKEN", "value-a")
		for _, search := range []string{"\x00", "TOKEN\x00", "A_\x00TOKEN", "\xff", "TOK\xc3"} {
			p, err := m.List(ctx, "ws", &secrets.ListOptions{Search: search})
			if err != nil || len(p.Secrets) != 0 || p.Next != "" {
				t.Errorf("search %q: %+v, %v", search, p, err)
			}
		}
		for _, after := range []string{"\x00", "A\x00", "\xff"} {
			p, err := m.List(ctx, "ws", &secrets.ListOptions{After: after})
			if err != nil || len(p.Secrets) != 0 || p.Next != "" {
				t.Errorf("after %q: %+v, %v", after, p, err)
			}
		}
		if p, err := m.List(ctx, "ws", &secrets.ListOptions{Search: "token"}); err != nil || len(p.Secrets) != 1 {
			t.Errorf("search token: %+v, %v", p, err)
		}
	})
}

// TestListPagesPastLongScopedNames: a name's variable takes up to
// MaxNameLength bytes and its scope up to 255 more; paging by Next goes
// on past such a name, a Search for it finds it, and Due, which pages,
// finds what follows it (a doc audit: the page after it was empty, so a
// host's expiry check missed every secret after it).
func TestListPagesPastLongScopedNames(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		long := strings.Repeat("L", m.Limits().MaxNameLength) + "@" + strings.Repeat("p", 255)
		mustSet(t, m, "ws", long, "long-value")
		expired := time.Now().Add(-time.Hour)
		if _, err := m.Set(ctx, "ws", "ZZZ_LAST", []byte("last-value"), &secrets.SetOptions{Info: &secrets.Info{Expires: expired}}); err != nil {
			t.Fatal(err)
		}
		var names []string
		opts := &secrets.ListOptions{Limit: 1}
		for range 3 {
			p, err := m.List(ctx, "ws", opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Secrets {
				names = append(names, s.Name)
			}
			if p.Next == "" {
				break
			}
			opts.After = p.Next
		}
		if len(names) != 2 || names[0] != long || names[1] != "ZZZ_LAST" {
			t.Fatalf("paged %d names, want the long one and ZZZ_LAST", len(names))
		}
		if p, err := m.List(ctx, "ws", &secrets.ListOptions{Search: long}); err != nil || len(p.Secrets) != 1 {
			t.Fatalf("a Search for the long name: %d found, %v", len(p.Secrets), err)
		}
		if due, err := m.Due(ctx, "ws", time.Now()); err != nil || len(due) != 1 || due[0].Name != "ZZZ_LAST" {
			t.Fatalf("Due: %v, %v", due, err)
		}
		// A replica whose MaxNameLength is lower than the one the name
		// was stored under pages past it too (a review: After is a place
		// in the order, not a name to match).
		low := newManager(t, b.replica(t), newCipher(t), &secrets.Config{MaxNameLength: 64})
		if due, err := low.Due(ctx, "ws", time.Now()); err != nil || len(due) != 1 || due[0].Name != "ZZZ_LAST" {
			t.Fatalf("Due on a replica of a lower MaxNameLength: %v, %v", due, err)
		}
	})
}
