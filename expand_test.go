package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// refFixture is one secret of a references case: in the workspace ("w")
// or its group ("g"), raw ("=value") or opted in to expansion ("~value").
// renameTo renames it after it is set: a cycle that Set refuses can
// still come to be by a rename, and jobs must refuse it.
type refFixture struct {
	level, name, value string
	protected          bool
	writeOnly          bool
	renameTo           string
}

// refCase is a job of a workspace with those secrets: what it gets as X
// (with want), or the kind of *ReferenceError it fails with. referNearer:
// by a Manager with Config.ReferNearer.
type refCase struct {
	name        string
	referNearer bool
	fixtures    []refFixture
	env         string
	protected   bool
	names       []string
	want        string
	kind        string
}

func w(name, value string) refFixture { return refFixture{level: "w", name: name, value: value} }
func g(name, value string) refFixture { return refFixture{level: "g", name: name, value: value} }

// refChain is X → L1 → ... → Ln-1 → "end": n expanded secrets deep.
func refChain(n int) []refFixture {
	var fs []refFixture
	prev := "X"
	for i := 1; i < n; i++ {
		name := fmt.Sprintf("L%d", i)
		fs = append(fs, w(prev, "~${"+name+"}"))
		prev = name
	}
	return append(fs, w(prev, "~end"))
}

// refDoubling: each of n levels references the next twice, over 1 KiB:
// 2^(n+1) KiB in all.
func refDoubling(n int) []refFixture {
	fs := []refFixture{w("X", "~${D0}${D0}")}
	for i := 0; i < n; i++ {
		fs = append(fs, w(fmt.Sprintf("D%d", i), fmt.Sprintf("~${D%d}${D%d}", i+1, i+1)))
	}
	return append(fs, w(fmt.Sprintf("D%d", n), "="+strings.Repeat("x", 1024)))
}

var refCases = []refCase{
	{name: "plain", fixtures: []refFixture{w("X", "~abc")}, want: "abc"},
	{name: "not opted in keeps ${}", fixtures: []refFixture{w("X", "=p@ss${A}word"), w("A", "=a")}, want: "p@ss${A}word"},
	{name: "one reference", fixtures: []refFixture{w("X", "~postgres://app:${PW}@db/app"), w("PW", "=s3cr3t-pw")}, want: "postgres://app:s3cr3t-pw@db/app"},
	{name: "escaped", fixtures: []refFixture{w("X", "~a$${PW}b"), w("PW", "=x")}, want: "a${PW}b"},
	{name: "escaped then reference", fixtures: []refFixture{w("X", "~$${PW}${PW}"), w("PW", "=x")}, want: "${PW}x"},
	{name: "adjacent", fixtures: []refFixture{w("X", "~${A}${B}${A}"), w("A", "=1"), w("B", "=2")}, want: "121"},
	{name: "nested", fixtures: []refFixture{w("X", "~[${A}]"), w("A", "~(${B})"), w("B", "=b")}, want: "[(b)]"},
	{name: "a referenced raw value is not expanded", fixtures: []refFixture{w("X", "~${A}"), w("A", "=${B}"), w("B", "=b")}, want: "${B}"},
	{name: "across levels", fixtures: []refFixture{w("X", "~u:${TOKEN}"), g("TOKEN", "=group-token")}, want: "u:group-token"},
	{name: "the nearer level wins", fixtures: []refFixture{w("X", "~${TOKEN}"), g("TOKEN", "=group-token"), w("TOKEN", "=ws-token")}, want: "ws-token"},
	{name: "a group's expanded value uses the job's", referNearer: true, fixtures: []refFixture{g("X", "~${HOST}/db"), w("HOST", "=ws-host"), g("HOST", "=g-host")}, want: "ws-host/db"},
	// By default a parent's value never takes a nearer level's secret.
	{name: "a group's expanded value may not take the job's", fixtures: []refFixture{g("X", "~${HOST}/db"), w("HOST", "=ws-host"), g("HOST", "=g-host")}, kind: secrets.ReferenceNearer},
	{name: "a group's expanded value uses the group's", fixtures: []refFixture{g("X", "~${HOST}/db"), g("HOST", "=g-host")}, want: "g-host/db"},
	{name: "a group's value through the group's to the job's", fixtures: []refFixture{g("X", "~${URL}"), g("URL", "~u:${PW}"), w("PW", "=ws-pw")}, kind: secrets.ReferenceNearer},
	{name: "the job's through the group's to the job's", fixtures: []refFixture{w("X", "~${URL}"), g("URL", "~u:${PW}"), w("PW", "=ws-pw")}, kind: secrets.ReferenceNearer},
	{name: "the job's through the group's to the group's", fixtures: []refFixture{w("X", "~${URL}"), g("URL", "~u:${PW}"), g("PW", "=g-pw")}, want: "u:g-pw"},
	{name: "a group's value takes an ingredient of the job's", names: []string{"X"}, fixtures: []refFixture{g("X", "~u:${PW}"), w("PW", "=only-ingredient")}, kind: secrets.ReferenceNearer},
	{name: "a group's value takes an ingredient of the job's, allowed", referNearer: true, names: []string{"X"}, fixtures: []refFixture{g("X", "~u:${PW}"), w("PW", "=only-ingredient")}, want: "u:only-ingredient"},
	{name: "across scopes", env: "production", fixtures: []refFixture{w("X", "~${T}"), w("T@production", "=prod-t"), w("T", "=any-t")}, want: "prod-t"},
	{name: "a scoped expanded secret", env: "review/x", fixtures: []refFixture{w("X@review/*", "~r:${T}"), w("X", "~any"), w("T", "=t")}, want: "r:t"},
	{name: "unknown", fixtures: []refFixture{w("X", "~${NOPE}")}, kind: secrets.ReferenceUnknown},
	{name: "unknown deep", fixtures: []refFixture{w("X", "~${A}"), w("A", "~${NOPE}")}, kind: secrets.ReferenceUnknown},
	{name: "names are exact", fixtures: []refFixture{w("X", "~${pw}"), w("PW", "=x")}, kind: secrets.ReferenceUnknown},
	// The job gets the workspace's alpha, which overrides the group's ALPHA
	// (names ignore case across levels): ${ALPHA} names no variable it
	// gets, and never reaches the overridden value.
	{name: "override in another case", fixtures: []refFixture{w("X", "~${ALPHA}"), w("alpha", "=ws-value"), g("ALPHA", "=group-value")}, kind: secrets.ReferenceUnknown},
	{name: "override in the same case", fixtures: []refFixture{w("X", "~${ALPHA}"), w("ALPHA", "=ws-value"), g("ALPHA", "=group-value")}, want: "ws-value"},
	{name: "withheld", env: "production", fixtures: []refFixture{w("X", "~${HELD}"), g("HELD", "=held-value")}, kind: secrets.ReferenceUnknown},
	{name: "a group's value and a withheld nearer secret", env: "production", fixtures: []refFixture{g("X", "~${HELD}"), w("HELD", "=held-value"), g("HELD", "=g-held")}, kind: secrets.ReferenceUnknown},
	{name: "withheld elsewhere is delivered", env: "staging", fixtures: []refFixture{w("X", "~${HELD}"), g("HELD", "=held-value")}, want: "held-value"},
	{name: "protected, job not", fixtures: []refFixture{w("X", "~${P}"), {level: "w", name: "P", value: "=prot-value", protected: true}}, kind: secrets.ReferenceUnknown},
	{name: "protected, job too", protected: true, fixtures: []refFixture{w("X", "~${P}"), {level: "w", name: "P", value: "=prot-value", protected: true}}, want: "prot-value"},
	{name: "protected falls back to the group's", fixtures: []refFixture{w("X", "~${P}"), {level: "w", name: "P", value: "=prot-value", protected: true}, g("P", "=g-p")}, want: "g-p"},
	{name: "other environment", env: "production", fixtures: []refFixture{w("X", "~${T}"), w("T@staging", "=staging-t")}, kind: secrets.ReferenceUnknown},
	{name: "write-only ingredient", fixtures: []refFixture{w("X", "~:${PW}"), {level: "w", name: "PW", value: "=wo-pw", writeOnly: true}}, want: ":wo-pw"},
	{name: "named job uses an ingredient it did not name", names: []string{"X"}, fixtures: []refFixture{w("X", "~u:${PW}"), w("PW", "=only-ingredient")}, want: "u:only-ingredient"},
	{name: "cycle of 1 (by a rename)", fixtures: []refFixture{{level: "w", name: "Y", value: "~${X}", renameTo: "X"}}, kind: secrets.ReferenceCycle},
	{name: "cycle of 2 (across levels)", referNearer: true, fixtures: []refFixture{w("X", "~${A}"), g("A", "~${X}")}, kind: secrets.ReferenceCycle},
	{name: "cycle of 3 (across levels)", referNearer: true, fixtures: []refFixture{w("X", "~${A}"), w("A", "~${B}"), g("B", "~${X}")}, kind: secrets.ReferenceCycle},
	{name: "back down across levels", fixtures: []refFixture{w("X", "~${A}"), g("A", "~${X}")}, kind: secrets.ReferenceNearer},
	{name: "back down across levels, 3", fixtures: []refFixture{w("X", "~${A}"), w("A", "~${B}"), g("B", "~${X}")}, kind: secrets.ReferenceNearer},
	{name: "cycle in the group (by a rename)", fixtures: []refFixture{w("X", "~${A}"), g("A", "~${B}"), {level: "g", name: "Y", value: "~${A}", renameTo: "B"}}, kind: secrets.ReferenceCycle},
	{name: "depth 8", fixtures: refChain(8), want: "end"},
	{name: "depth 9", fixtures: refChain(9), kind: secrets.ReferenceDepth},
	{name: "huge expansion", fixtures: refDoubling(7), kind: secrets.ReferenceSize},
	{name: "$ alone", fixtures: []refFixture{w("X", "~cost: 5$")}, want: "cost: 5$"},
	{name: "$NAME is literal", fixtures: []refFixture{w("X", "~$PW and ${PW}"), w("PW", "=x")}, want: "$PW and x"},
	{name: "unterminated", fixtures: []refFixture{w("X", "~a${PW"), w("PW", "=x")}, want: "a${PW"},
	{name: "unterminated then reference", fixtures: []refFixture{w("X", "~${ ${PW}"), w("PW", "=x")}, want: "${ x"},
	{name: "invalid name: digit first", fixtures: []refFixture{w("X", "~${1A}")}, want: "${1A}"},
	{name: "invalid name: dash", fixtures: []refFixture{w("X", "~${A-B}")}, want: "${A-B}"},
	{name: "invalid name: spaces", fixtures: []refFixture{w("X", "~${ A }")}, want: "${ A }"},
	{name: "invalid name: scoped", fixtures: []refFixture{w("X", "~${A@production}")}, want: "${A@production}"},
	{name: "empty braces", fixtures: []refFixture{w("X", "~${}")}, want: "${}"},
	{name: "default syntax is literal", fixtures: []refFixture{w("X", "~${A:-b}"), w("A", "=a")}, want: "${A:-b}"},
	{name: "UTF-8 around", fixtures: []refFixture{w("X", "~é${A}ü€"), w("A", "=✓")}, want: "é✓ü€"},
	{name: "$$$", fixtures: []refFixture{w("X", "~$$${A}"), w("A", "=a")}, want: "$${A}"},
	{name: "value with } and ${ inside", fixtures: []refFixture{w("X", "~{${A}}"), w("A", "=${}}")}, want: "{${}}}"},
}

// refConfig: "wN" inherits from "gN"; the host withholds HELD from
// production jobs.
func refConfig(cfg *secrets.Config) *secrets.Config {
	if cfg == nil {
		cfg = &secrets.Config{}
	}
	cfg.Parents = func(_ context.Context, ws string) ([]string, error) {
		if strings.HasPrefix(ws, "w") {
			return []string{"g" + ws[1:]}, nil
		}
		return nil, nil
	}
	cfg.Withhold = func(_ context.Context, r secrets.Request, o secrets.Offer) bool {
		return r.Environment == "production" && o.Name == "HELD"
	}
	return cfg
}

// setRefFixtures writes fs into workspace ws and its group gs.
func setRefFixtures(t *testing.T, m *secrets.Manager, ws, gs string, fs []refFixture) {
	t.Helper()
	ctx := context.Background()
	for _, f := range fs {
		c := ws
		if f.level == "g" {
			c = gs
		}
		info := secrets.Info{Expand: f.value[0] == '~', Protected: f.protected, WriteOnly: f.writeOnly}
		if _, err := m.Set(ctx, c, f.name, []byte(f.value[1:]), &secrets.SetOptions{Info: &info}); err != nil {
			t.Fatalf("Set %s %s: %v", c, f.name, err)
		}
		if f.renameTo != "" {
			if _, err := m.Rename(ctx, c, f.name, f.renameTo, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestReferences is the table of the references issue, on every backend:
// each case's job gets X expanded as the job resolves each name, or
// fails with the case's kind of *ReferenceError, whose text and the
// job's events hold no value.
func TestReferences(t *testing.T) {
	if len(refCases) < 30 {
		t.Fatalf("only %d cases", len(refCases))
	}
	eachBackend(t, func(t *testing.T, b backend) {
		var mu sync.Mutex
		var events []secrets.Event
		onEvent := func(_ context.Context, e secrets.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
		st, ciph := b.replica(t), newCipher(t)
		byDefault := newManager(t, st, ciph, refConfig(&secrets.Config{OnEvent: onEvent}))
		referNearer := newManager(t, st, ciph, refConfig(&secrets.Config{OnEvent: onEvent, ReferNearer: true}))
		ctx := context.Background()
		for i, c := range refCases {
			m := byDefault
			if c.referNearer {
				m = referNearer
			}
			ws, gs := fmt.Sprintf("w%d", i), fmt.Sprintf("g%d", i)
			setRefFixtures(t, m, ws, gs, c.fixtures)
			mu.Lock()
			events = nil
			mu.Unlock()
			job, err := m.Prepare(ctx, ws, &secrets.PrepareOptions{Environment: c.env, Protected: c.protected, Names: c.names, Base: []string{}})
			if c.kind != "" {
				var re *secrets.ReferenceError
				if !errors.As(err, &re) || re.Kind != c.kind || !errors.Is(err, secrets.ErrReference) {
					t.Errorf("%s: got %v, want a %s ReferenceError", c.name, err, c.kind)
					continue
				}
				checkNoValue(t, c, err.Error())
			} else {
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
					continue
				}
				got := map[string]string{}
				for _, kv := range job.Env {
					k, v, _ := strings.Cut(kv, "=")
					got[k] = v
				}
				job.Close()
				if got["X"] != c.want {
					t.Errorf("%s: X=%q, want %q", c.name, got["X"], c.want)
				}
			}
			mu.Lock()
			for _, e := range events {
				checkNoValue(t, c, fmt.Sprintf("%+v", e))
			}
			mu.Unlock()
		}
	})
}

// checkNoValue fails if text holds a value of c's fixtures (longer than
// a few bytes, and not merely raw text that is also a reference).
func checkNoValue(t *testing.T, c refCase, text string) {
	t.Helper()
	for _, f := range c.fixtures {
		v := f.value[1:]
		if len(v) > 4 && !strings.Contains(v, "${") && strings.Contains(text, v) {
			t.Errorf("%s: %q holds the value of %s", c.name, text, f.name)
		}
	}
}

// TestReferencesWithoutLevels: the same cases, for those that need no
// group, environment or protection, through EnvFor of a Manager without
// Config.Parents (the single-level read, whose event the Store records
// with the read).
func TestReferencesWithoutLevels(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		n := 0
	cases:
		for i, c := range refCases {
			if c.env != "" || c.protected || c.names != nil || c.referNearer {
				continue
			}
			for _, f := range c.fixtures {
				if f.level != "w" || f.protected || strings.Contains(f.name, "@") {
					continue cases
				}
			}
			n++
			ws := fmt.Sprintf("w%d", i)
			setRefFixtures(t, m, ws, "", c.fixtures)
			env, err := m.EnvFor(ctx, ws)
			if c.kind != "" {
				var re *secrets.ReferenceError
				if !errors.As(err, &re) || re.Kind != c.kind || env != nil {
					t.Errorf("%s: got %v, want a %s ReferenceError", c.name, err, c.kind)
				}
				checkNoValue(t, c, fmt.Sprint(err))
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			if got["X"] != c.want {
				t.Errorf("%s: X=%q, want %q", c.name, got["X"], c.want)
			}
		}
		if n < 25 {
			t.Fatalf("only %d cases without levels", n)
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Action: secrets.ActionInject, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			for _, c := range refCases {
				checkNoValue(t, c, fmt.Sprintf("%+v", e))
			}
		}
	})
}

// TestReferencesSaveTime: Set and SetInfo refuse a value whose references
// form a cycle of 1, 2 or 3 (through any scope, and the workspace's
// parents), changing nothing; they save a reference to a name no secret
// defines, and say so in Meta.Undefined.
func TestReferencesSaveTime(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), refConfig(nil))
		ctx := context.Background()
		x := &secrets.Info{Expand: true}
		set := func(ws, name, value string) (secrets.Meta, error) {
			return m.Set(ctx, ws, name, []byte(value), &secrets.SetOptions{Info: x})
		}
		cycle := func(what string, err error) {
			t.Helper()
			var re *secrets.ReferenceError
			if !errors.As(err, &re) || re.Kind != secrets.ReferenceCycle || !errors.Is(err, secrets.ErrReference) {
				t.Errorf("%s: %v, want a cycle", what, err)
			}
		}
		// A cycle of 1.
		_, err := set("w1", "A", "${A}")
		cycle("A=${A}", err)
		// A cycle of 2, the other secret in another scope.
		if meta, err := set("w1", "B@production", "${C}"); err != nil || len(meta.Undefined) != 1 || meta.Undefined[0] != "C" {
			t.Fatalf("B: %+v, %v", meta.Undefined, err)
		}
		_, err = set("w1", "C", "x${B}")
		cycle("C=${B}", err)
		// A cycle of 3, through the group.
		if _, err := set("g2", "E", "${F}"); err != nil {
			t.Fatal(err)
		}
		if meta, err := set("w2", "D", "${E}"); err != nil || len(meta.Undefined) != 0 {
			t.Fatalf("D: %+v, %v", meta.Undefined, err)
		}
		_, err = set("w2", "F", "${D}")
		cycle("F=${D}", err)
		// The same value, not expanded, is no cycle.
		if _, err := m.Set(ctx, "w2", "F", []byte("${D}"), nil); err != nil {
			t.Fatal(err)
		}
		// Turning expansion on makes it one.
		_, err = m.SetInfo(ctx, "w2", "F", secrets.Info{Expand: true}, nil)
		cycle("SetInfo F", err)
		if meta, err := m.Get(ctx, "w2", "F"); err != nil || meta.Expand || meta.Revision != 1 {
			t.Fatalf("F after the refused SetInfo: %+v, %v", meta.Meta, err)
		}
		for _, n := range []string{"A", "C"} {
			if _, err := m.Get(ctx, "w1", n); !errors.Is(err, secrets.ErrNotFound) {
				t.Errorf("%s was saved: %v", n, err)
			}
		}
		// SetInfo says what is undefined too.
		if _, err := m.Set(ctx, "w3", "URL", []byte("postgres://${USER}:${PW}@db"), nil); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "g3", "USER", "app")
		meta, err := m.SetInfo(ctx, "w3", "URL", secrets.Info{Expand: true}, nil)
		if err != nil || len(meta.Undefined) != 1 || meta.Undefined[0] != "PW" || !meta.Expand {
			t.Fatalf("SetInfo URL: %+v, %v", meta, err)
		}
		// A write-only secret cannot expand: the names its value
		// references would show in errors and events (an attacker pass
		// got them out of a job's error, its event and a cycle refusal).
		// Set and SetInfo refuse it, and write nothing.
		if _, err := m.Set(ctx, "w4", "KEY", []byte("sk_${live_PART_OF_THE_KEY}"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "w4", "URL", []byte("${HOST}"), &secrets.SetOptions{Info: x}); err != nil {
			t.Fatal(err)
		}
		st := b.replica(t).(secrets.RotationStore)
		before := storeState(t, st, "w4")
		for what, call := range map[string]func() error{
			"SetInfo adding Expand": func() error {
				_, err := m.SetInfo(ctx, "w4", "KEY", secrets.Info{WriteOnly: true, Expand: true}, nil)
				return err
			},
			"SetInfo adding WriteOnly": func() error {
				_, err := m.SetInfo(ctx, "w4", "URL", secrets.Info{Expand: true, WriteOnly: true}, nil)
				return err
			},
			"Set with both": func() error {
				_, err := m.Set(ctx, "w4", "NEW", []byte("${URL}"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true, Expand: true}})
				return err
			},
		} {
			if err := call(); !errors.Is(err, secrets.ErrInvalidInfo) || strings.Contains(err.Error(), "live_PART") {
				t.Errorf("%s: %v, want ErrInvalidInfo", what, err)
			}
			if after := storeState(t, st, "w4"); after != before {
				t.Errorf("%s changed the store", what)
			}
		}
	})
}

func TestReferencesOfAValue(t *testing.T) {
	got := secrets.References([]byte("postgres://${USER}:${PW}@$${HOST}/${USER}?x=$DB&y=${1A}&z=${PORT"))
	if strings.Join(got, ",") != "USER,PW" {
		t.Fatalf("References: %q", got)
	}
}

// TestReferencesSaveTimeCycleHidden: a cycle that Set refuses is named
// only as far as the workspace's own values hold it. An editor of a
// child workspace who may not read its group's secrets saves X=${GE},
// where the group's GE references HIDDEN_NAME, which references X: the
// typed cycle error names X and GE, never HIDDEN_NAME (a reference
// inside GE's value). A cycle inside the workspace keeps its whole chain.
func TestReferencesSaveTimeCycleHidden(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), refConfig(&secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
			if r.Actor == "child-editor" && r.Workspace != "w4" {
				return errors.New("the child's editor works in w4 only")
			}
			return nil
		}}))
		admin := secrets.WithActor(context.Background(), "admin")
		editor := secrets.WithActor(context.Background(), "child-editor")
		x := &secrets.SetOptions{Info: &secrets.Info{Expand: true}}
		for _, n := range []struct{ name, value string }{{"GE", "${HIDDEN_NAME}"}, {"HIDDEN_NAME", "h:${X}"}} {
			if _, err := m.Set(admin, "g4", n.name, []byte(n.value), x); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := m.Get(editor, "g4", "GE"); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatalf("the child's editor reads the group's GE: %v", err)
		}
		_, err := m.Set(editor, "w4", "X", []byte("${GE}"), x)
		var re *secrets.ReferenceError
		if !errors.As(err, &re) || re.Kind != secrets.ReferenceCycle || !errors.Is(err, secrets.ErrReference) {
			t.Fatalf("X=${GE}: %v, want a cycle", err)
		}
		if strings.Contains(err.Error(), "HIDDEN_NAME") || strings.Join(re.Names, ",") != "X,GE" || !strings.HasSuffix(err.Error(), "X → GE → … → X") {
			t.Errorf("X=${GE}: %v (names %v): want X → GE and nothing of GE's value", err, re.Names)
		}
		// Through one of the workspace's own values first: named as far
		// as those go.
		if _, err := m.Set(editor, "w4", "Y", []byte("${GE}"), x); err != nil {
			t.Fatal(err)
		}
		_, err = m.Set(editor, "w4", "X", []byte("${Y}"), x)
		if !errors.As(err, &re) || re.Kind != secrets.ReferenceCycle || strings.Contains(err.Error(), "HIDDEN_NAME") ||
			strings.Join(re.Names, ",") != "X,Y,GE" {
			t.Errorf("X=${Y}: %v (names %v), want the cycle X → Y → GE → …", err, re.Names)
		}
		// Inside the workspace: the whole chain.
		if _, err := m.Set(editor, "w4", "B", []byte("${C}"), x); err != nil {
			t.Fatal(err)
		}
		_, err = m.Set(editor, "w4", "C", []byte("${B}"), x)
		if !errors.As(err, &re) || re.Kind != secrets.ReferenceCycle || strings.Join(re.Names, ",") != "C,B,C" {
			t.Errorf("C=${B}: %v (names %v), want the cycle C → B → C", err, re.Names)
		}
	})
}
