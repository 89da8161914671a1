package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

var auditTests = []test{
	{"AuditRecordAndQuery", testAuditRecordAndQuery},
	{"EventsPageBounded", testEventsPageBounded},
	{"EventsPageEdges", testEventsPageEdges},
	{"AuditWithWrites", testAuditWithWrites},
	{"LedgerDelivered", testLedgerDelivered},
	{"FingerprintSearch", testFingerprintSearch},
	{"DropEvents", testDropEvents},
	{"Unfingerprinted", testUnfingerprinted},
	{"Due", testDue},
	{"DeletedBefore", testDeletedBefore},
	{"LedgerAt", testLedgerAt},
}

func event(ws, actor string, action secrets.Action, at time.Time, secretsOf ...secrets.EventSecret) secrets.Event {
	return secrets.Event{Time: at, Actor: actor, Action: action, Workspace: ws, Secrets: secretsOf, Outcome: secrets.OutcomeOK}
}

func ids(es []secrets.Event) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func events(t *testing.T, s secrets.Store, q secrets.EventQuery) []secrets.Event {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	es, err := s.Events(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func testAuditRecordAndQuery(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	fp := []byte{1, 2, 3}
	in := []secrets.Event{
		event("ws", "user:1", secrets.ActionReveal, t0, secrets.EventSecret{Name: "A", Version: 2, Fingerprint: fp}),
		event("ws", "user:2", secrets.ActionList, t0.Add(time.Minute)),
		event("other", "user:1", secrets.ActionReveal, t0.Add(2*time.Minute), secrets.EventSecret{Name: "B", Version: 1}),
		event("ws", "user:1", secrets.ActionSet, t0.Add(3*time.Minute), secrets.EventSecret{Name: "a", Version: 3}),
	}
	in[1].Outcome, in[1].Detail = secrets.OutcomeDenied, "not a member: ünïcode"
	if err := s.Record(ctx, in); err != nil {
		t.Fatal(err)
	}
	all := events(t, s, secrets.EventQuery{})
	if len(all) != 4 {
		t.Fatalf("%d events", len(all))
	}
	for i := range all {
		if i > 0 && all[i].ID <= all[i-1].ID {
			t.Fatalf("IDs not increasing: %v", ids(all))
		}
		want := in[i]
		if want.ID != all[i].ID {
			t.Fatalf("Record gave event %d the ID %d; Events says %d", i, want.ID, all[i].ID)
		}
		diff(t, fmt.Sprint("event ", i), all[i], want)
	}
	id := func(i int) int64 { return all[i].ID }
	for name, tc := range map[string]struct {
		q    secrets.EventQuery
		want []int64
	}{
		"workspace":     {secrets.EventQuery{Workspace: "ws"}, []int64{id(0), id(1), id(3)}},
		"actor":         {secrets.EventQuery{Actor: "user:1"}, []int64{id(0), id(2), id(3)}},
		"action":        {secrets.EventQuery{Action: secrets.ActionReveal}, []int64{id(0), id(2)}},
		"time range":    {secrets.EventQuery{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, []int64{id(1), id(2)}},
		"after":         {secrets.EventQuery{After: id(1)}, []int64{id(2), id(3)}},
		"limit":         {secrets.EventQuery{Limit: 2}, []int64{id(0), id(1)}},
		"newest":        {secrets.EventQuery{Newest: true, Limit: 3}, []int64{id(3), id(2), id(1)}},
		"newest before": {secrets.EventQuery{Newest: true, Before: id(2)}, []int64{id(1), id(0)}},
		"name":          {secrets.EventQuery{Name: "A"}, []int64{id(0), id(3)}},
		"fingerprint":   {secrets.EventQuery{Fingerprint: fp}, []int64{id(0)}},
	} {
		diff(t, name, ids(events(t, s, tc.q)), tc.want)
	}
}

func testAuditWithWrites(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	w := create("ws", "id1", "A")
	w.Audit = &secrets.Event{Time: t0, Actor: "user:1", Action: secrets.ActionSet, Workspace: "ws", Outcome: secrets.OutcomeOK,
		Secrets: []secrets.EventSecret{{Name: "A", Version: 1, Fingerprint: []byte("fp-id1-1")}}}
	a := put(t, s, w)
	state := env(t, s, "ws", secrets.EnvQuery{}).State
	if w.Audit.State != state {
		t.Fatalf("write's event has state %d, the workspace %d", w.Audit.State, state)
	}
	refused := newValue(a)
	refused.Expect = 99
	refused.Audit = &secrets.Event{Time: t0, Actor: "user:2", Action: secrets.ActionSet, Workspace: "ws", Outcome: secrets.OutcomeOK}
	wantErr(t, "stale write", s.Put(ctx, refused), secrets.ErrConflict)
	es := events(t, s, secrets.EventQuery{Workspace: "ws"})
	if len(es) != 1 || es[0].Actor != "user:1" || es[0].State != state {
		t.Fatalf("events after one write and one refused write: %+v", es)
	}
	diff(t, "write event's secrets", es[0].Secrets, w.Audit.Secrets)
}

// An inject event records the state it read; Events lists what that state
// delivered, from the ledger.
func testLedgerDelivered(t *testing.T, s secrets.Store) {
	inject := func(action secrets.Action, names ...string) {
		t.Helper()
		ev := &secrets.Event{Time: t0, Actor: "job", Action: action, Workspace: "ws", Outcome: secrets.OutcomeOK}
		q := secrets.EnvQuery{Audit: ev}
		if names != nil {
			q.Names = names
		}
		env(t, s, "ws", q)
	}
	a := put(t, s, create("ws", "a", "A"))
	w := create("ws", "b", "B")
	w.Entry.Current.WriteOnly = true
	put(t, s, w)
	inject(secrets.ActionInject) // 1: A1 B1
	a = put(t, s, newValue(a))
	inject(secrets.ActionInject)      // 2: A2 B1
	inject(secrets.ActionInject, "b") // 3: B1
	inject(secrets.ActionExport)      // 4: A2 (B is write-only)
	a = put(t, s, reseal(t, s, a, "RENAMED"))
	inject(secrets.ActionInject) // 5: B1 RENAMED2
	del := next(a)
	del.Deleted = t0
	put(t, s, secrets.Write{Entry: del, Expect: a.Revision})
	inject(secrets.ActionInject) // 6: B1
	es := events(t, s, secrets.EventQuery{Workspace: "ws"})
	if len(es) != 6 {
		t.Fatalf("%d events", len(es))
	}
	fp := func(id string, n int64) []byte { return []byte(fmt.Sprintf("fp-%s-%d", id, n)) }
	a1, a2 := secrets.EventSecret{Name: "A", Version: 1, Fingerprint: fp("a", 1)}, secrets.EventSecret{Name: "A", Version: 2, Fingerprint: fp("a", 2)}
	b1, r2 := secrets.EventSecret{Name: "B", Version: 1, Fingerprint: fp("b", 1)}, secrets.EventSecret{Name: "RENAMED", Version: 2, Fingerprint: fp("a", 2)}
	want := [][]secrets.EventSecret{{a1, b1}, {a2, b1}, {b1}, {a2}, {b1, r2}, {b1}}
	for i, e := range es {
		diff(t, fmt.Sprintf("event %d (%s)", i+1, e.Action), e.Secrets, want[i])
	}
	diff(t, "events that delivered A", ids(events(t, s, secrets.EventQuery{Workspace: "ws", Name: "a"})), []int64{es[0].ID, es[1].ID, es[3].ID})
	diff(t, "events that delivered RENAMED", ids(events(t, s, secrets.EventQuery{Workspace: "ws", Name: "RENAMED"})), []int64{es[4].ID})
}

// A fingerprint finds the write of a value and every injection of it, also
// after its version was pruned and its secret destroyed.
func testFingerprintSearch(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	inject := func(ws string) {
		ev := &secrets.Event{Time: t0, Actor: "job", Action: secrets.ActionInject, Workspace: ws, Outcome: secrets.OutcomeOK}
		env(t, s, ws, secrets.EnvQuery{Audit: ev})
	}
	w := create("ws", "a", "A")
	w.Audit = &secrets.Event{Time: t0, Actor: "user", Action: secrets.ActionSet, Workspace: "ws", Outcome: secrets.OutcomeOK,
		Secrets: []secrets.EventSecret{{Name: "A", Version: 1, Fingerprint: w.Entry.Current.Fingerprint}}}
	a := put(t, s, w)
	leaked := a.Current.Fingerprint
	put(t, s, create("other", "x", "X"))
	inject("ws")
	inject("ws")
	inject("other")
	inject("ws")
	for range 3 {
		nv := newValue(a)
		nv.Keep = 1 // version 1 falls out of the history
		a = put(t, s, nv)
		inject("ws")
	}
	if h := history(t, s, "ws", "a"); len(h) != 1 {
		t.Fatalf("history: %d versions", len(h))
	}
	put(t, s, secrets.Write{Entry: next(a), Expect: a.Revision, Destroy: true})
	found := events(t, s, secrets.EventQuery{Fingerprint: leaked})
	var got []string
	for _, e := range found {
		got = append(got, fmt.Sprintf("%s/%s", e.Action, e.Workspace))
	}
	diff(t, "events with the leaked fingerprint", got, []string{"set/ws", "inject/ws", "inject/ws", "inject/ws"})
	if es := events(t, s, secrets.EventQuery{Fingerprint: []byte("never")}); len(es) != 0 {
		t.Fatalf("an unknown fingerprint found %d events", len(es))
	}
	// Any of several (a value's by every key of a rotated audit keyset).
	got = got[:0]
	for _, e := range events(t, s, secrets.EventQuery{Fingerprints: [][]byte{[]byte("never"), leaked}}) {
		got = append(got, fmt.Sprintf("%s/%s", e.Action, e.Workspace))
	}
	diff(t, "events with any of the fingerprints", got, []string{"set/ws", "inject/ws", "inject/ws", "inject/ws"})
	_ = ctx
}

func testDropEvents(t *testing.T, s secrets.Store) {
	p, ok := s.(secrets.Purger)
	if !ok {
		t.Skip("not a Purger")
	}
	ctx := context.Background()
	var in []secrets.Event
	for i := range 10 {
		in = append(in, event("ws", "u", secrets.ActionList, t0.Add(time.Duration(i)*24*time.Hour)))
	}
	if err := s.Record(ctx, in); err != nil {
		t.Fatal(err)
	}
	n, err := p.DropEvents(ctx, t0.Add(5*24*time.Hour), 3)
	if err != nil || n != 3 {
		t.Fatalf("DropEvents limit 3: %d, %v", n, err)
	}
	n, err = p.DropEvents(ctx, t0.Add(5*24*time.Hour), 100)
	if err != nil || n != 2 {
		t.Fatalf("DropEvents: %d, %v", n, err)
	}
	es := events(t, s, secrets.EventQuery{})
	if len(es) != 5 || !es[0].Time.Equal(t0.Add(5*24*time.Hour)) {
		t.Fatalf("after dropping: %d events, first at %v", len(es), es[0].Time)
	}
	// The ledger keeps what the kept events need.
	a := put(t, s, create("ws", "a", "A"))
	ev := &secrets.Event{Time: t0.Add(20 * 24 * time.Hour), Actor: "job", Action: secrets.ActionInject, Workspace: "ws", Outcome: secrets.OutcomeOK}
	env(t, s, "ws", secrets.EnvQuery{Audit: ev})
	nv := newValue(a)
	nv.Entry.Updated = t0.Add(30 * 24 * time.Hour)
	put(t, s, nv)
	if _, err := p.DropEvents(ctx, t0.Add(15*24*time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	es = events(t, s, secrets.EventQuery{Action: secrets.ActionInject})
	if len(es) != 1 || len(es[0].Secrets) != 1 || es[0].Secrets[0].Version != 1 {
		t.Fatalf("kept inject event after dropping older ones: %+v", es)
	}
}

func testUnfingerprinted(t *testing.T, s secrets.Store) {
	fs, ok := s.(secrets.FingerprintStore)
	if !ok {
		t.Skip("not a FingerprintStore")
	}
	ctx := context.Background()
	w := create("ws", "a", "A")
	w.Entry.Current.Fingerprint = nil
	a := put(t, s, w)
	nv := newValue(a)
	nv.Entry.Current.Fingerprint = nil
	put(t, s, nv)
	put(t, s, create("ws", "b", "B")) // has one
	ev := &secrets.Event{Time: t0, Actor: "job", Action: secrets.ActionInject, Workspace: "ws", Outcome: secrets.OutcomeOK}
	env(t, s, "ws", secrets.EnvQuery{Audit: ev})
	vs, err := fs.Unfingerprinted(ctx, secrets.UnfingerprintedQuery{Workspace: "ws", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || len(vs[0].Ciphertext) == 0 {
		t.Fatalf("Unfingerprinted: %+v", vs)
	}
	if more, _ := fs.Unfingerprinted(ctx, secrets.UnfingerprintedQuery{Workspace: "ws", AfterWorkspace: "ws", AfterSecretID: "a", AfterVersion: 1, Limit: 10}); len(more) != 1 || more[0].Version != 2 {
		t.Fatalf("Unfingerprinted after a/1: %+v", more)
	}
	vs[1].Fingerprint = []byte("late")
	if err := fs.SetFingerprints(ctx, vs[1:]); err != nil {
		t.Fatal(err)
	}
	es := events(t, s, secrets.EventQuery{Fingerprint: []byte("late")})
	if len(es) != 1 || es[0].Action != secrets.ActionInject || es[0].State != ev.State {
		t.Fatalf("search by a late fingerprint: %+v", es)
	}
	if vs, _ := fs.Unfingerprinted(ctx, secrets.UnfingerprintedQuery{Limit: 10}); len(vs) != 1 {
		t.Fatalf("left without a fingerprint: %d", len(vs))
	}
}

func testDue(t *testing.T, s secrets.Store) {
	ds, ok := s.(secrets.DueStore)
	if !ok {
		t.Skip("not a DueStore")
	}
	ctx := context.Background()
	mk := func(ws, id, name string, expires, rotateBy time.Time, deleted bool) {
		w := create(ws, id, name)
		w.Entry.Expires, w.Entry.RotateBy = expires, rotateBy
		e := put(t, s, w)
		if deleted {
			d := next(e)
			d.Deleted = t0
			put(t, s, secrets.Write{Entry: d, Expect: e.Revision})
		}
	}
	var never time.Time
	mk("b", "1", "EXPIRES", t0.Add(time.Hour), never, false)
	mk("a", "2", "ROTATE", never, t0.Add(2*time.Hour), false)
	mk("a", "3", "LATER", t0.Add(10*time.Hour), never, false)
	mk("a", "4", "NEVER", never, never, false)
	mk("a", "5", "DELETED", t0.Add(time.Hour), never, true)
	got, err := ds.Due(ctx, secrets.DueQuery{Before: t0.Add(3 * time.Hour), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "due", names(got), []string{"ROTATE", "EXPIRES"})
	got, err = ds.Due(ctx, secrets.DueQuery{Before: t0.Add(3 * time.Hour), AfterWorkspace: "a", AfterName: "ROTATE", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "due after a/ROTATE", names(got), []string{"EXPIRES"})
}

func testDeletedBefore(t *testing.T, s secrets.Store) {
	p, ok := s.(secrets.Purger)
	if !ok {
		t.Skip("not a Purger")
	}
	for i, at := range []time.Time{t0, t0.Add(48 * time.Hour), {}} {
		e := put(t, s, create("ws", fmt.Sprint("id", i), fmt.Sprint("S", i)))
		if !at.IsZero() {
			d := next(e)
			d.Deleted = at
			put(t, s, secrets.Write{Entry: d, Expect: e.Revision})
		}
	}
	got, err := p.DeletedBefore(context.Background(), t0.Add(24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "deleted before", names(got), []string{"S0"})
}

func testLedgerAt(t *testing.T, s secrets.Store) {
	ls, ok := s.(secrets.LedgerStore)
	if !ok {
		t.Skip("not a LedgerStore")
	}
	a := put(t, s, create("ws", "a", "A")) // t0: A1
	b := put(t, s, create("ws", "b", "B")) // t0: B1
	put(t, s, create("other", "c", "C"))   // another workspace's
	a = put(t, s, newValue(a))             // t0+1m: A2
	del := next(b)                         // t0+1m: B deleted
	del.Deleted = del.Updated
	put(t, s, secrets.Write{Entry: del, Expect: b.Revision})
	a = put(t, s, newInfo(a, "no ledger entry"))                                // t0+2m: metadata only
	a = put(t, s, reseal(t, s, a, "RENAMED"))                                   // t0+3m: renamed
	put(t, s, secrets.Write{Entry: next(a), Expect: a.Revision, Destroy: true}) // t0+4m
	at := func(d time.Duration) []secrets.LedgerEntry {
		t.Helper()
		got, err := ls.LedgerAt(context.Background(), "ws", t0.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i].State <= 0 {
				t.Fatalf("at %v: entry %+v without a state", d, got[i])
			}
			got[i].State = 0
		}
		return got
	}
	entry := func(id, name string, v int64, d time.Duration) secrets.LedgerEntry {
		return secrets.LedgerEntry{SecretID: id, Name: name, Version: v, At: t0.Add(d)}
	}
	m := time.Minute
	diff(t, "before anything", at(-time.Second), []secrets.LedgerEntry{})
	diff(t, "at t0", at(0), []secrets.LedgerEntry{entry("a", "A", 1, 0), entry("b", "B", 1, 0)})
	diff(t, "at t0+1m", at(m), []secrets.LedgerEntry{entry("a", "A", 2, m), entry("b", "B", 0, m)})
	diff(t, "after a metadata change", at(2*m+30*time.Second), []secrets.LedgerEntry{entry("a", "A", 2, m), entry("b", "B", 0, m)})
	diff(t, "after the rename", at(3*m), []secrets.LedgerEntry{entry("a", "RENAMED", 2, 3*m), entry("b", "B", 0, m)})
	diff(t, "after the destroy", at(time.Hour), []secrets.LedgerEntry{entry("a", "RENAMED", 0, 4*m), entry("b", "B", 0, m)})
}

// testEventsPageBounded: a page of Events lists at most
// secrets.MaxEventPageSecrets secrets in all, its first event always
// whole; the events from the one that would pass it on come with
// SecretsOmitted and no Secrets, in either order, but for those that list
// none; read alone, each lists its own. testEventsPageEdges: a first event
// over the bound alone, and a small event after an omitted one.
func testEventsPageBounded(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	const per, n = 1000, secrets.MaxEventPageSecrets/1000 + 5
	list := make([]secrets.EventSecret, per)
	for i := range list {
		list[i] = secrets.EventSecret{Name: fmt.Sprintf("S%04d", i), Version: 1}
	}
	in := make([]secrets.Event, n)
	for i := range in {
		in[i] = event("big", "job", secrets.ActionReveal, t0.Add(time.Duration(i)*time.Second), list...)
	}
	if err := s.Record(ctx, in); err != nil {
		t.Fatal(err)
	}
	for _, newest := range []bool{false, true} {
		page := events(t, s, secrets.EventQuery{Workspace: "big", Newest: newest, Limit: 1000})
		if len(page) != n {
			t.Fatalf("newest %v: %d events, want %d", newest, len(page), n)
		}
		listed := 0
		for i, e := range page {
			want := per
			if i >= secrets.MaxEventPageSecrets/per {
				want = 0
			}
			if e.SecretsOmitted != (want == 0) || len(e.Secrets) != want {
				t.Fatalf("newest %v: event %d of %d lists %d secrets, omitted %v", newest, i, n, len(e.Secrets), e.SecretsOmitted)
			}
			listed += len(e.Secrets)
			if e.SecretsOmitted {
				alone := events(t, s, secrets.EventQuery{Workspace: "big", After: e.ID - 1, Limit: 1})
				if len(alone) != 1 || alone[0].ID != e.ID || alone[0].SecretsOmitted || len(alone[0].Secrets) != per {
					t.Fatalf("newest %v: event %d read alone: %+v", newest, e.ID, alone)
				}
			}
		}
		if listed != secrets.MaxEventPageSecrets {
			t.Fatalf("newest %v: the page lists %d secrets, want %d", newest, listed, secrets.MaxEventPageSecrets)
		}
	}
}

func testEventsPageEdges(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	list := func(n int) []secrets.EventSecret {
		out := make([]secrets.EventSecret, n)
		for i := range out {
			out[i] = secrets.EventSecret{Name: fmt.Sprintf("S%06d", i), Version: 1}
		}
		return out
	}
	// Oldest first: one event over the bound alone, then one of 10, one of
	// none, one of 10.
	in := []secrets.Event{
		event("edge", "job", secrets.ActionReveal, t0, list(secrets.MaxEventPageSecrets+1)...),
		event("edge", "job", secrets.ActionReveal, t0.Add(time.Second), list(10)...),
		event("edge", "job", secrets.ActionList, t0.Add(2*time.Second)),
		event("edge", "job", secrets.ActionReveal, t0.Add(3*time.Second), list(10)...),
	}
	if err := s.Record(ctx, in); err != nil {
		t.Fatal(err)
	}
	page := events(t, s, secrets.EventQuery{Workspace: "edge", Limit: 10})
	if len(page) != 4 {
		t.Fatalf("%d events, want 4", len(page))
	}
	want := []struct {
		n       int
		omitted bool
	}{{secrets.MaxEventPageSecrets + 1, false}, {0, true}, {0, false}, {0, true}}
	for i, e := range page {
		if len(e.Secrets) != want[i].n || e.SecretsOmitted != want[i].omitted {
			t.Fatalf("event %d lists %d secrets, omitted %v; want %d, %v", i, len(e.Secrets), e.SecretsOmitted, want[i].n, want[i].omitted)
		}
	}
	// Newest first, the small ones come first and fit, the big one not.
	page = events(t, s, secrets.EventQuery{Workspace: "edge", Newest: true, Limit: 10})
	for i, e := range page {
		if e.SecretsOmitted != (i == 3) || len(e.Secrets) != []int{10, 0, 10, 0}[i] {
			t.Fatalf("newest first: event %d lists %d secrets, omitted %v", i, len(e.Secrets), e.SecretsOmitted)
		}
	}
}
