package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

var readTests = []test{
	{"Missing", testMissing},
	{"List", testList},
	{"ListPaging", testListPaging},
	{"ListNames", testListNames},
	{"Env", testEnv},
	{"EnvSubset", testEnvSubset},
	{"EnvScopes", testEnvScopes},
	{"EnvParents", testEnvParents},
	{"EnvStateMoves", testEnvStateMoves},
	{"Isolation", testIsolation},
	{"NoAliasing", testNoAliasing},
	{"CancelledContext", testCancelledContext},
}

func testMissing(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	_, err := s.Lookup(ctx, "ws", "NOPE")
	wantErr(t, "Lookup", err, secrets.ErrNotFound)
	_, err = s.History(ctx, "ws", "no-such-id")
	wantErr(t, "History", err, secrets.ErrNotFound)
	snap := env(t, s, "ws", secrets.EnvQuery{})
	if len(snap.Entries) != 0 || snap.KeyGen != 0 || snap.State != 0 {
		t.Fatalf("Env of an empty workspace: %+v", snap)
	}
	l, err := s.List(ctx, "ws", secrets.ListQuery{Limit: 10})
	if err != nil || len(l) != 0 {
		t.Fatalf("List of an empty workspace: %v, %v", l, err)
	}
}

func testList(t *testing.T, s secrets.Store) {
	for i, n := range []string{"beta", "ALPHA", "Gamma_TOKEN", "delta_token", "_x"} {
		put(t, s, create("ws", fmt.Sprint("id", i), n))
	}
	list := lister(t, s, "ws")
	diff(t, "names ignoring case", names(list(secrets.ListQuery{})), []string{"_x", "ALPHA", "beta", "delta_token", "Gamma_TOKEN"})
	diff(t, "search", names(list(secrets.ListQuery{Search: "TOKEN"})), []string{"delta_token", "Gamma_TOKEN"})
	diff(t, "search with LIKE wildcards", names(list(secrets.ListQuery{Search: "%"})), []string{})
	diff(t, "search for _", names(list(secrets.ListQuery{Search: "_t"})), []string{"delta_token", "Gamma_TOKEN"})
	diff(t, "after", names(list(secrets.ListQuery{After: "BETA"})), []string{"delta_token", "Gamma_TOKEN"})
	diff(t, "limit", names(list(secrets.ListQuery{Limit: 2})), []string{"_x", "ALPHA"})
	withValues := list(secrets.ListQuery{Values: true, Search: "alpha"})
	if len(withValues) != 1 || !bytes.Equal(withValues[0].Current.Ciphertext, ct("ws", "id1", "ALPHA", 1, "")) {
		t.Fatalf("List with Values: %+v", withValues)
	}
	one := list(secrets.ListQuery{Search: "beta"})
	want := create("ws", "id0", "beta").Entry
	one[0].Current.Ciphertext, want.Current.Ciphertext = nil, nil
	diff(t, "listed entry", one[0], want, ignoreKeyGen)
}

// ListQuery.Names selects the secrets of those names ignoring case, in
// their own spelling, live or deleted as Deleted says, together with the
// other filters; a name given twice is listed once, an empty Names lists
// nothing, and names with scopes and LIKE's wildcards are names like any
// other.
func testListNames(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	for i, n := range []string{"beta", "ALPHA", "Gamma_TOKEN", "delta_token", "_x", "A_B", "AXB", "KEY@prod", "KEY@prod2", "KEY"} {
		put(t, s, create("ws", fmt.Sprint("id", i), n))
	}
	put(t, s, create("other", "o1", "beta"))
	gone := put(t, s, create("ws", "idd", "Gone"))
	del := next(gone)
	del.Deleted, del.DeletedBy = t0, "user:del"
	put(t, s, secrets.Write{Entry: del, Expect: gone.Revision})
	list := lister(t, s, "ws")
	diff(t, "names ignoring case", names(list(secrets.ListQuery{Names: []string{"BETA", "alpha", "nope", "gone", "a_b"}})), []string{"A_B", "ALPHA", "beta"})
	diff(t, "a name given twice", names(list(secrets.ListQuery{Names: []string{"beta", "Beta", "BETA"}})), []string{"beta"})
	diff(t, "deleted", names(list(secrets.ListQuery{Names: []string{"BETA", "GONE"}, Deleted: true})), []string{"Gone"})
	diff(t, "empty Names", names(list(secrets.ListQuery{Names: []string{}})), []string{})
	diff(t, "LIKE wildcards in a name", names(list(secrets.ListQuery{Names: []string{"%", "A_B", "_"}})), []string{"A_B"})
	diff(t, "scoped names", names(list(secrets.ListQuery{Names: []string{"key@PROD", "KEY"}})), []string{"KEY", "KEY@prod"})
	diff(t, "with search", names(list(secrets.ListQuery{Names: []string{"Gamma_token", "beta", "delta_TOKEN"}, Search: "token"})), []string{"delta_token", "Gamma_TOKEN"})
	diff(t, "with after and limit", names(list(secrets.ListQuery{Names: []string{"beta", "alpha", "_x", "key"}, After: "ALPHA", Limit: 2})), []string{"beta", "KEY"})
	withValues := list(secrets.ListQuery{Names: []string{"alpha"}, Values: true})
	if len(withValues) != 1 || !bytes.Equal(withValues[0].Current.Ciphertext, ct("ws", "id1", "ALPHA", 1, "")) {
		t.Fatalf("List of Names with Values: %+v", withValues)
	}
	one := list(secrets.ListQuery{Names: []string{"BETA"}})
	want := create("ws", "id0", "beta").Entry
	one[0].Current.Ciphertext, want.Current.Ciphertext = nil, nil
	diff(t, "listed entry", one[0], want, ignoreKeyGen)
	if es, err := s.List(ctx, "nowhere", secrets.ListQuery{Names: []string{"beta"}, Limit: 10}); err != nil || len(es) != 0 {
		t.Fatalf("List of Names in a workspace that does not exist: %v, %v", es, err)
	}
	// Many names at once, most of them absent.
	var many []string
	for i := range 2000 {
		many = append(many, fmt.Sprintf("MISSING_%d", i))
	}
	many = append(many, "kEy@prod2")
	diff(t, "many names", names(list(secrets.ListQuery{Names: many})), []string{"KEY@prod2"})
}

// Paging with the last name of each page returns each secret that exists
// throughout exactly once, while others are added and removed.
func testListPaging(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	const n = 300
	kept := map[string]bool{}
	var batch []secrets.Write
	for i := range n {
		name := fmt.Sprintf("S_%04d", i)
		batch = append(batch, create("ws", "id"+name, name))
		kept[name] = i%3 != 0
	}
	put(t, s, batch...)
	seen := map[string]int{}
	after := ""
	for page := 0; ; page++ {
		es, err := s.List(ctx, "ws", secrets.ListQuery{After: after, Limit: 17})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			seen[e.Name]++
		}
		// Meanwhile: remove some secrets, add others before and after the
		// cursor.
		name := fmt.Sprintf("S_%04d", page*3*17%n)
		if e, err := s.Lookup(ctx, "ws", name); err == nil {
			put(t, s, secrets.Write{Entry: next(e), Expect: e.Revision, Destroy: true})
		}
		put(t, s, create("ws", fmt.Sprint("new-a", page), fmt.Sprintf("A_NEW_%d", page)), create("ws", fmt.Sprint("new-z", page), fmt.Sprintf("Z_NEW_%d", page)))
		if len(es) < 17 {
			break
		}
		after = es[len(es)-1].Name
	}
	for name, keep := range kept {
		if keep && seen[name] != 1 {
			t.Errorf("%s, never removed, listed %d times", name, seen[name])
		}
	}
	for name, c := range seen {
		if c > 1 {
			t.Errorf("%s listed %d times", name, c)
		}
	}
}

func testEnv(t *testing.T, s secrets.Store) {
	gen := putKey(t, s, "ws", 0)
	var want []secrets.Entry
	for i, n := range []string{"b", "A", "_Z", "a_2", "B_1"} {
		w := create("ws", fmt.Sprint("id", i), n)
		w.Entry.Current.WriteOnly = i%2 == 0
		w.Entry.Current.File = i%3 == 0
		want = append(want, put(t, s, w))
	}
	slices.SortFunc(want, func(a, b secrets.Entry) int { return strings.Compare(a.Name, b.Name) })
	snap := env(t, s, "ws", secrets.EnvQuery{})
	diff(t, "Env sorted by name in byte order", nonNil(snap.Entries), envFields(want))
	if snap.KeyGen != gen || snap.State <= 0 {
		t.Fatalf("Env: key generation %d (want %d), state %d", snap.KeyGen, gen, snap.State)
	}
	ev := &secrets.Event{Time: t0, Actor: "job:1", Action: secrets.ActionInject, Workspace: "ws", Outcome: secrets.OutcomeOK}
	audited := env(t, s, "ws", secrets.EnvQuery{Audit: ev, Relaxed: true})
	diff(t, "audited Env", nonNil(audited.Entries), envFields(want))
	if ev.State != snap.State || ev.ID == 0 {
		t.Fatalf("recorded event has state %d (the read's: %d) and ID %d", ev.State, snap.State, ev.ID)
	}
	es, err := s.Events(context.Background(), secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Limit: 10})
	if err != nil || len(es) != 1 || es[0].State != snap.State || es[0].Actor != "job:1" {
		t.Fatalf("inject event: %+v, %v", es, err)
	}
}

func testEnvSubset(t *testing.T, s secrets.Store) {
	for i, n := range []string{"A", "B", "C"} {
		put(t, s, create("ws", fmt.Sprint("id", i), n))
	}
	snap := env(t, s, "ws", secrets.EnvQuery{Names: []string{"c", "A", "MISSING"}})
	diff(t, "subset", envNames(snap.Entries), []string{"A", "C"})
	if snap := env(t, s, "ws", secrets.EnvQuery{Names: []string{}}); len(snap.Entries) != 0 {
		t.Fatalf("empty subset: %v", envNames(snap.Entries))
	}
}

// Env reads every scope and protected secret unless Unscoped (or
// audited), which reads only those of scope "*" (no '@' in the name) that
// are not protected, and records an event that lists only those; Names
// match the variable's name in every scope.
func testEnvScopes(t *testing.T, s secrets.Store) {
	putKey(t, s, "ws", 0)
	var all []secrets.Entry
	for i, n := range []string{"A", "A@production", "B", "C@review/*"} {
		w := create("ws", fmt.Sprint("id", i), n)
		w.Entry.Current.Protected = n == "B"
		all = append(all, put(t, s, w))
	}
	snap := env(t, s, "ws", secrets.EnvQuery{})
	diff(t, "Env of every scope", nonNil(snap.Entries), envFields(all))
	diff(t, "Unscoped", envNames(env(t, s, "ws", secrets.EnvQuery{Unscoped: true}).Entries), []string{"A"})
	diff(t, "Names across scopes", envNames(env(t, s, "ws", secrets.EnvQuery{Names: []string{"a", "c"}}).Entries),
		[]string{"A", "A@production", "C@review/*"})
	for _, names := range [][]string{nil, {"A", "B"}} {
		ev := &secrets.Event{Time: t0, Actor: "job:scopes", Action: secrets.ActionInject, Workspace: "ws", Outcome: secrets.OutcomeOK}
		audited := env(t, s, "ws", secrets.EnvQuery{Names: names, Audit: ev})
		diff(t, "audited Env", envNames(audited.Entries), []string{"A"})
		es, err := s.Events(context.Background(), secrets.EventQuery{Workspace: "ws", Actor: "job:scopes", Newest: true, Limit: 1})
		if err != nil || len(es) != 1 {
			t.Fatalf("inject event: %+v, %v", es, err)
		}
		diff(t, "the audited read's event", eventNames(es[0]), []string{"A"})
	}
	// An event says what was protected when it was read, not now: D is
	// protected after the read, E was protected during it and is not now.
	d := put(t, s, create("ws", "idD", "D"))
	ew := create("ws", "idE", "E")
	ew.Entry.Current.Protected = true
	e := put(t, s, ew)
	ev := &secrets.Event{Time: t0, Actor: "job:before", Action: secrets.ActionInject, Workspace: "ws", Outcome: secrets.OutcomeOK}
	env(t, s, "ws", secrets.EnvQuery{Audit: ev})
	dw := newValue(d)
	dw.Entry.Current.Protected = true
	put(t, s, dw)
	uw := newValue(e)
	uw.Entry.Current.Protected = false
	put(t, s, uw)
	es, err := s.Events(context.Background(), secrets.EventQuery{Workspace: "ws", Actor: "job:before", Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("inject event: %+v, %v", es, err)
	}
	diff(t, "an event read before a change of protection", eventNames(es[0]), []string{"A", "D"})
}

// Env with parents reads every level in one snapshot, sorted by level and
// name, each level with its state and key generation; a parent that does
// not exist is empty; Names restricts every level; an audited read of
// several levels is refused.
func testEnvParents(t *testing.T, s secrets.Store) {
	gws, ggroup := putKey(t, s, "ws", 0), putKey(t, s, "group", 0)
	var want []secrets.EnvEntry
	for level, c := range []struct {
		ws    string
		names []string
	}{{"ws", []string{"B", "A"}}, {"group", []string{"C", "A"}}, {"nowhere", nil}} {
		var es []secrets.Entry
		for i, n := range c.names {
			es = append(es, put(t, s, create(c.ws, fmt.Sprint(c.ws, "-id", i), n)))
		}
		slices.SortFunc(es, func(a, b secrets.Entry) int { return strings.Compare(a.Name, b.Name) })
		for _, e := range envFields(es) {
			e.Level = level
			want = append(want, e)
		}
	}
	put(t, s, create("other", "other-id", "A")) // not a parent: never read
	snap := env(t, s, "ws", secrets.EnvQuery{Parents: []string{"group", "nowhere"}})
	diff(t, "Env of a workspace and its parents", nonNil(snap.Entries), want)
	alone := env(t, s, "ws", secrets.EnvQuery{})
	group := env(t, s, "group", secrets.EnvQuery{})
	if snap.State != alone.State || snap.KeyGen != gws {
		t.Fatalf("the workspace's state %d and key generation %d, want %d and %d", snap.State, snap.KeyGen, alone.State, gws)
	}
	diff(t, "the parents' states", snap.Parents, []secrets.LevelState{
		{Container: "group", State: group.State, KeyGen: ggroup}, {Container: "nowhere"}})
	sub := env(t, s, "ws", secrets.EnvQuery{Parents: []string{"group", "nowhere"}, Names: []string{"a"}})
	diff(t, "a subset of every level", envNames(sub.Entries), []string{"A", "A"})
	if sub.Entries[0].Level != 0 || sub.Entries[1].Level != 1 {
		t.Fatalf("levels of the subset: %d, %d", sub.Entries[0].Level, sub.Entries[1].Level)
	}
	ev := &secrets.Event{Time: t0, Actor: "job:1", Action: secrets.ActionInject, Workspace: "ws", Outcome: secrets.OutcomeOK}
	if _, err := s.Env(context.Background(), "ws", secrets.EnvQuery{Parents: []string{"group"}, Audit: ev}); err == nil {
		t.Fatal("an audited read of several levels was accepted")
	}
	// An event that lists what a job of several levels got keeps its
	// parents and each secret's container, and is not resolved through
	// the ledger.
	rec := secrets.Event{Time: t0, Actor: "job:2", Action: secrets.ActionInject, Workspace: "ws", Outcome: secrets.OutcomeOK,
		State: snap.State, Parents: []string{"group", "nowhere"}, Secrets: []secrets.EventSecret{
			{Name: "A", Version: 1}, {Name: "B", Version: 1, Fingerprint: []byte("fp")}, {Name: "C", Version: 1, Container: "group", Withheld: true}}}
	if err := s.Record(context.Background(), []secrets.Event{rec}); err != nil {
		t.Fatal(err)
	}
	es, err := s.Events(context.Background(), secrets.EventQuery{Workspace: "ws", Actor: "job:2", Limit: 10})
	if err != nil || len(es) != 1 {
		t.Fatalf("Events: %v, %v", es, err)
	}
	rec.ID = es[0].ID
	diff(t, "an event with parents", es[0], rec)
}

// Writes that change what a job receives move the state; metadata edits
// do not need to.
func testEnvStateMoves(t *testing.T, s secrets.Store) {
	a := put(t, s, create("ws", "id1", "A"))
	s1 := env(t, s, "ws", secrets.EnvQuery{}).State
	a = put(t, s, newValue(a))
	s2 := env(t, s, "ws", secrets.EnvQuery{}).State
	if s2 <= s1 {
		t.Fatalf("a new value: state %d after %d", s2, s1)
	}
	del := next(a)
	del.Deleted = t0
	a = put(t, s, secrets.Write{Entry: del, Expect: a.Revision})
	s3 := env(t, s, "ws", secrets.EnvQuery{}).State
	if s3 <= s2 {
		t.Fatalf("a delete: state %d after %d", s3, s2)
	}
}

func testIsolation(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	put(t, s, create("a", "id1", "TOKEN"))
	b := put(t, s, create("b", "id2", "TOKEN"))
	putKey(t, s, "a", 0)
	if _, err := s.History(ctx, "b", "id1"); err == nil {
		t.Fatal("History of a's secret through workspace b")
	}
	if got := lookup(t, s, "b", "TOKEN"); got.SecretID != "id2" {
		t.Fatalf("Lookup in b found %s", got.SecretID)
	}
	if _, err := s.Key(ctx, "b"); err == nil {
		t.Fatal("b reads a's key")
	}
	wrong := newValue(b)
	wrong.Entry.SecretID, wrong.Entry.Current.SecretID = "id1", "id1"
	wantErr(t, "update of a's secret through b", s.Put(ctx, wrong), secrets.ErrNotFound)
	if got := envNames(env(t, s, "b", secrets.EnvQuery{}).Entries); len(got) != 1 {
		t.Fatalf("Env of b: %v", got)
	}
	l, err := s.List(ctx, "b", secrets.ListQuery{Limit: 10})
	if err != nil || len(l) != 1 || l[0].SecretID != "id2" {
		t.Fatalf("List of b: %v %v", l, err)
	}
}

// The Store keeps its own copies: changing a slice after Put or after a
// read never reaches stored data.
func testNoAliasing(t *testing.T, s secrets.Store) {
	w := create("ws", "id1", "A")
	want := bytes.Clone(w.Entry.Current.Ciphertext)
	put(t, s, w)
	w.Entry.Current.Ciphertext[0] ^= 0xff
	got := lookup(t, s, "ws", "A")
	if !bytes.Equal(got.Current.Ciphertext, want) {
		t.Fatal("Put aliased the caller's slice")
	}
	got.Current.Ciphertext[0] ^= 0xff
	if !bytes.Equal(lookup(t, s, "ws", "A").Current.Ciphertext, want) {
		t.Fatal("Lookup returned stored bytes")
	}
	snap := env(t, s, "ws", secrets.EnvQuery{})
	snap.Entries[0].Ciphertext[0] ^= 0xff
	h := history(t, s, "ws", "id1")
	h[0].Ciphertext[0] ^= 0xff
	if !bytes.Equal(env(t, s, "ws", secrets.EnvQuery{}).Entries[0].Ciphertext, want) {
		t.Fatal("Env or History returned stored bytes")
	}
}

func testCancelledContext(t *testing.T, s secrets.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, create("ws", "id1", "A")); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if _, err := s.Env(ctx, "ws", secrets.EnvQuery{}); err == nil {
		t.Fatal("Env with a cancelled context succeeded")
	}
	if _, err := s.Lookup(context.Background(), "ws", "A"); err == nil {
		t.Fatal("a cancelled Put stored its write")
	}
}

// lister returns a List of ws's secrets that fails the test on an error,
// at most 100 of them unless q says.
func lister(t *testing.T, s secrets.Store, ws string) func(secrets.ListQuery) []secrets.Entry {
	return func(q secrets.ListQuery) []secrets.Entry {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		es, err := s.List(context.Background(), ws, q)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
}
