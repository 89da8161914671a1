package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// A pasted .env text is previewed as a difference (never values), then
// exactly that difference is applied, atomically.
func TestDiffThenApply(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "ws", "SAME", "v-same-1")
		mustSet(t, m, "ws", "EDITED", "v-old-2")
		mustSet(t, m, "ws", "DROPPED", "v-gone-3")
		if _, err := m.Set(ctx, "ws", "HIDDEN", []byte("v-guess-4"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
			t.Fatal(err)
		}
		text := []byte("SAME=v-same-1\nEDITED=v-new-5\nADDED=v-fresh-6\nHIDDEN=v-guess-4\n")
		d, err := m.Diff(ctx, "ws", text, &secrets.DiffOptions{Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		want := secrets.Diff{Workspace: "ws", Scope: "*", Added: []string{"ADDED"}, Changed: []string{"EDITED", "HIDDEN"}, Unchanged: []string{"SAME"},
			Removed: []string{"DROPPED"}, Remove: true, Uncompared: []string{"HIDDEN"}}
		if diff := cmp.Diff(want, d, cmpIgnoreRevisions); diff != "" {
			t.Fatalf("Diff (-want +got):\n%s", diff)
		}
		b, _ := json.Marshal(d)
		for _, v := range []string{"v-same-1", "v-new-5", "v-fresh-6", "v-guess-4", "v-gone-3"} {
			if strings.Contains(string(b), v) {
				t.Fatalf("the diff shows a value: %s", b)
			}
		}
		// The preview is audited as a diff (it tells which values are
		// unchanged), with counts and no value.
		diffs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionDiff})
		if err != nil || len(diffs) != 1 || diffs[0].Detail != "1 added, 2 changed, 1 unchanged, 1 removed" {
			t.Fatalf("the diff's event: %+v %v", diffs, err)
		}
		// Uncompared names only the write-only secrets among the changes:
		// none when the text does not name one.
		if d2, err := m.Diff(ctx, "ws", []byte("SAME=v-same-1\nEDITED=v-new-7\n"), nil); err != nil || len(d2.Changed) != 1 || d2.Uncompared == nil || len(d2.Uncompared) != 0 {
			t.Fatalf("Diff without a write-only secret: %+v %v", d2, err)
		}
		// The preview travels as JSON (a panel's round trip) and is applied
		// as it is.
		var back secrets.Diff
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		metas, err := m.Apply(ctx, "ws", text, back)
		if err != nil {
			t.Fatal(err)
		}
		if len(metas) != 4 {
			t.Fatalf("Apply returned %d metas", len(metas))
		}
		if diff := cmp.Diff(map[string]string{"SAME": "v-same-1", "EDITED": "v-new-5", "ADDED": "v-fresh-6", "HIDDEN": "v-guess-4"}, envMap(t, m, "ws")); diff != "" {
			t.Fatalf("after Apply (-want +got):\n%s", diff)
		}
		if meta, err := m.Meta(ctx, "ws", "DROPPED"); err != nil || meta.Deleted.IsZero() {
			t.Fatalf("DROPPED after Apply: %+v %v", meta, err)
		}
		if vs, _ := m.Versions(ctx, "ws", "SAME"); len(vs) != 1 {
			t.Fatalf("an unchanged secret got %d versions", len(vs))
		}
		applied, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionSet, Newest: true, Limit: 1})
		if err != nil || len(applied) != 1 || applied[0].Detail != "1 added, 2 changed, 1 removed; removed DROPPED" {
			t.Fatalf("one event for the change: %+v %v", applied, err)
		}
	})
}

var cmpIgnoreRevisions = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Revisions" }, cmp.Ignore())

// Apply refuses, changing nothing, when anything the difference depends
// on changed after the preview.
func TestApplyRefusesAStalePreview(t *testing.T) {
	ctx := context.Background()
	for what, change := range map[string]func(m *secrets.Manager){
		"a previewed secret edited": func(m *secrets.Manager) { mustSet(t, m, "ws", "EDITED", "someone else") },
		"an unchanged one edited":   func(m *secrets.Manager) { mustSet(t, m, "ws", "SAME", "someone else") },
		"an added name created":     func(m *secrets.Manager) { mustSet(t, m, "ws", "ADDED", "someone else") },
		"a removed one deleted": func(m *secrets.Manager) {
			if _, err := m.Delete(ctx, "ws", "DROPPED", nil); err != nil {
				t.Fatal(err)
			}
		},
		"a new secret to remove": func(m *secrets.Manager) { mustSet(t, m, "ws", "LATE", "x") },
		"metadata edited": func(m *secrets.Manager) {
			if _, err := m.SetInfo(ctx, "ws", "EDITED", secrets.Info{Description: "d"}, nil); err != nil {
				t.Fatal(err)
			}
		},
	} {
		s := secrets.NewMemoryStore()
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "ws", "SAME", "unchanged")
		mustSet(t, m, "ws", "EDITED", "old")
		mustSet(t, m, "ws", "DROPPED", "x")
		text := []byte("SAME=unchanged\nEDITED=new\nADDED=fresh\n")
		d, err := m.Diff(ctx, "ws", text, &secrets.DiffOptions{Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		change(m)
		before := envMap(t, m, "ws")
		if _, err := m.Apply(ctx, "ws", text, d); !errors.Is(err, secrets.ErrConflict) {
			t.Fatalf("%s: Apply %v, want ErrConflict", what, err)
		}
		if diff := cmp.Diff(before, envMap(t, m, "ws")); diff != "" {
			t.Fatalf("%s: a refused Apply changed the workspace:\n%s", what, diff)
		}
	}
}

// ParseDotenv reads a text without any workspace, for a dry run.
func TestParseDotenv(t *testing.T) {
	es, err := secrets.ParseDotenv([]byte("# c\nA=1\nexport B='two'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Name != "A" || es[0].Line != 2 || string(es[1].Value.Reveal()) != "two" || es[1].Line != 3 {
		t.Fatalf("entries: %+v", es)
	}
	if _, err := secrets.ParseDotenv([]byte("A=1\na=2\n")); !errors.Is(err, secrets.ErrInvalidDotenv) {
		t.Fatalf("a duplicate: %v", err)
	}
}

// Diff asks the authorizer as ActionDiff, so that a host can keep editors
// who may set from testing guesses of values; a refusal changes nothing
// and is recorded.
func TestDiffIsItsOwnAction(t *testing.T) {
	ctx := context.Background()
	var asked []secrets.Action
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{
		Authorize: func(ctx context.Context, r secrets.Request) error {
			asked = append(asked, r.Action)
			if r.Action == secrets.ActionDiff && r.Actor == "user:editor" {
				return errors.New("editors may not compare values")
			}
			return nil
		},
	})
	mustSet(t, m, "ws", "TOKEN", "v-secret")
	asked = nil
	_, err := m.Diff(secrets.WithActor(ctx, "user:editor"), "ws", []byte("TOKEN=guess\n"), nil)
	if !errors.Is(err, secrets.ErrForbidden) || len(asked) != 1 || asked[0] != secrets.ActionDiff {
		t.Fatalf("Diff by an editor: %v, asked %v", err, asked)
	}
	if _, err := m.Diff(secrets.WithActor(ctx, "user:admin"), "ws", []byte("TOKEN=guess\n"), nil); err != nil {
		t.Fatal(err)
	}
	es, err := m.Events(ctx, secrets.EventQuery{Action: secrets.ActionDiff})
	if err != nil || len(es) != 2 || es[0].Outcome != secrets.OutcomeDenied || es[1].Outcome != secrets.OutcomeOK {
		t.Fatalf("events: %+v %v", es, err)
	}
}

// A Diff's event names the secrets it compared; with Remove, the names it
// would remove are asked as a delete first, so that a caller who may not
// delete them (nor list) is not told them.
func TestDiffNamesAndRemovals(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{
		Authorize: func(ctx context.Context, r secrets.Request) error {
			if r.Action == secrets.ActionDelete && r.Actor == "user:differ" {
				return errors.New("no deletes")
			}
			return nil
		},
	})
	mustSet(t, m, "ws", "TOKEN", "v-secret")
	mustSet(t, m, "ws", "HIDDEN_NAME", "v-other")
	differ := secrets.WithActor(ctx, "user:differ")
	d, err := m.Diff(differ, "ws", []byte("TOKEN=guess\nNEW=x\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Diff(differ, "ws", []byte("TOKEN=guess\n"), &secrets.DiffOptions{Remove: true}); !errors.Is(err, secrets.ErrForbidden) || strings.Contains(err.Error(), "HIDDEN_NAME") {
		t.Fatalf("a Diff with Remove by a caller who may not delete: %v", err)
	}
	es, err := m.Events(ctx, secrets.EventQuery{Actor: "user:differ", Action: secrets.ActionDiff})
	if err != nil || len(es) != 1 {
		t.Fatalf("diff events: %+v %v", es, err)
	}
	var names []string
	for _, s := range es[0].Secrets {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"NEW", "TOKEN"}) || len(d.Added)+len(d.Changed) != 2 {
		t.Fatalf("the diff's event names %q", names)
	}
}

// Import never compares a write-only secret's value: each one the text
// names gets a new version, even of the value it holds, while a readable
// secret given its own value is left alone.
func TestImportRewritesWriteOnly(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "PLAIN", "v-plain-1")
	if _, err := m.Set(ctx, "ws", "HIDDEN", []byte("v-hidden-1"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Import(ctx, "ws", []byte("PLAIN=v-plain-1\nHIDDEN=v-hidden-1\n"), nil); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"PLAIN": 1, "HIDDEN": 2} {
		if vs, err := m.Versions(ctx, "ws", name); err != nil || len(vs) != want {
			t.Fatalf("%s: %d versions, %v; want %d", name, len(vs), err, want)
		}
	}
}
