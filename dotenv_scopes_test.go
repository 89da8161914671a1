package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// A .env text is exported, imported, previewed and applied per scope: its
// names stand for the secrets of that scope, and the other scopes are left
// alone, Remove included.
func TestDotenvScopes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "ws", "TOKEN", "any-token")
		mustSet(t, m, "ws", "OLD", "any-old")
		mustSet(t, m, "ws", "TOKEN@production", "prod-token")
		mustSet(t, m, "ws", "OLD@production", "prod-old")
		mustSet(t, m, "ws", "OLD@staging", "staging-old")
		if _, err := m.Set(ctx, "ws", "DEPLOY@production", []byte("prod-deploy"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}

		// Round trip of one scope into another workspace.
		text, err := m.Export(ctx, "ws", &secrets.ExportOptions{Scope: "production"})
		if err != nil {
			t.Fatal(err)
		}
		metas, err := m.Import(ctx, "copy", text, &secrets.ImportOptions{Scope: "production"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, mt := range metas {
			names = append(names, mt.Name)
		}
		want := []string{"DEPLOY@production", "OLD@production", "TOKEN@production"}
		if d := cmp.Diff(want, names); d != "" {
			t.Errorf("Import's metas (-want +got):\n%s", d)
		}
		for _, mt := range metas {
			if mt.Scope != "production" {
				t.Errorf("%s: scope %q", mt.Name, mt.Scope)
			}
		}
		back, err := m.Export(ctx, "copy", &secrets.ExportOptions{Scope: "production"})
		if err != nil || string(back) != string(text) {
			t.Errorf("the round trip: %q, want %q (%v)", back, text, err)
		}
		if any, err := m.Export(ctx, "copy", nil); err != nil || len(any) != 0 {
			t.Errorf("the * scope of the copy: %q %v", any, err)
		}

		// A preview of the production scope: it says so, and Remove
		// concerns that scope only.
		in := []byte("TOKEN=prod-token\nDEPLOY=prod-deploy-2\nNEW=prod-new\n")
		d, err := m.Diff(ctx, "ws", in, &secrets.DiffOptions{Scope: "production", Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		wantDiff := secrets.Diff{Workspace: "ws", Scope: "production", Added: []string{"NEW@production"}, Changed: []string{"DEPLOY@production"},
			Unchanged: []string{"TOKEN@production"}, Removed: []string{"OLD@production"}, Remove: true, Uncompared: []string{}}
		if diff := cmp.Diff(wantDiff, d, cmpIgnoreRevisions); diff != "" {
			t.Fatalf("Diff (-want +got):\n%s", diff)
		}
		j, _ := json.Marshal(d)
		if !strings.Contains(string(j), `"scope":"production"`) {
			t.Errorf("the JSON preview does not name its scope: %s", j)
		}

		// The same difference relabelled for another scope is refused,
		// and writes nothing.
		other := d
		other.Scope = "staging"
		if _, err := m.Apply(ctx, "ws", in, other); !errors.Is(err, secrets.ErrConflict) {
			t.Errorf("Apply of a diff relabelled for staging: %v, want ErrConflict", err)
		}
		if _, err := m.Meta(ctx, "ws", "NEW@staging"); !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("the refused Apply wrote NEW@staging: %v", err)
		}
		// A diff of the * scope is not one of production.
		star, err := m.Diff(ctx, "ws", in, &secrets.DiffOptions{Remove: true})
		if err != nil || star.Scope != "*" {
			t.Fatalf("the * diff: %+v %v", star, err)
		}
		star.Scope = "production"
		if _, err := m.Apply(ctx, "ws", in, star); !errors.Is(err, secrets.ErrConflict) {
			t.Errorf("Apply of the * diff as production: %v, want ErrConflict", err)
		}

		if _, err := m.Apply(ctx, "ws", in, d); err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"TOKEN": "any-token", "OLD": "any-old", "OLD@staging": "staging-old",
			"TOKEN@production": "prod-token", "DEPLOY@production": "prod-deploy-2", "NEW@production": "prod-new"} {
			if got := mustGet(t, m, "ws", name); got != v {
				t.Errorf("%s = %q, want %q", name, got, v)
			}
		}
		if mt, err := m.Meta(ctx, "ws", "OLD@production"); err != nil || mt.Deleted.IsZero() {
			t.Errorf("OLD@production after Apply: %+v %v", mt, err)
		}
		// A changed value keeps the secret's flags.
		if mt, err := m.Meta(ctx, "ws", "DEPLOY@production"); err != nil || !mt.Protected {
			t.Errorf("DEPLOY@production lost its protection: %+v %v", mt, err)
		}
		for _, name := range []string{"TOKEN", "OLD", "OLD@staging", "TOKEN@production"} {
			if vs, err := m.Versions(ctx, "ws", name); err != nil || len(vs) != 1 {
				t.Errorf("%s was written: %d versions, %v", name, len(vs), err)
			}
		}
	})
}

// A bad scope is ErrInvalidScope for Import, Diff and Apply, and nothing
// is written or recorded.
func TestDotenvBadScope(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m := newManager(t, b.replica(t), newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "ws", "A", "a")
		before, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws"})
		if err != nil {
			t.Fatal(err)
		}
		text := []byte("A=new\nB=b\n")
		for _, sc := range []string{"**", "a*b", "*x", " prod", "prod\x01", "prod\u200b", strings.Repeat("p", 256), "\xff"} {
			if _, err := m.Import(ctx, "ws", text, &secrets.ImportOptions{Scope: sc}); !errors.Is(err, secrets.ErrInvalidScope) {
				t.Errorf("Import in %q: %v, want ErrInvalidScope", sc, err)
			}
			if _, err := m.Diff(ctx, "ws", text, &secrets.DiffOptions{Scope: sc, Remove: true}); !errors.Is(err, secrets.ErrInvalidScope) {
				t.Errorf("Diff in %q: %v, want ErrInvalidScope", sc, err)
			}
			if _, err := m.Apply(ctx, "ws", text, secrets.Diff{Scope: sc, Added: []string{"B@" + sc}}); !errors.Is(err, secrets.ErrInvalidScope) {
				t.Errorf("Apply in %q: %v, want ErrInvalidScope", sc, err)
			}
		}
		after, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws"})
		if err != nil || len(after) != len(before) {
			t.Errorf("bad scopes recorded events: %d, then %d (%v): %+v", len(before), len(after), err, after)
		}
		if got := listAll(t, m, "ws"); len(got) != 1 || mustGet(t, m, "ws", "A") != "a" {
			t.Errorf("bad scopes wrote: %+v", got)
		}
	})
}
