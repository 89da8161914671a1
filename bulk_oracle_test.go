package secrets_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestApplyTellsNoGuess: an editor who may not diff cannot learn whether a
// guess of a value is right by sending Apply or Restore a difference or
// plan of their own making (a trial's wrong guess got ErrConflict and a
// right one nil, with nothing written): Apply is ActionDiff too, and
// Restore answers alike (a wrong guess is written, as an Import of it
// would be, and recorded).
func TestApplyTellsNoGuess(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		m := newManager(t, s, newCipher(t), &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
			if r.Actor == "user:editor" && (r.Action == secrets.ActionDiff || r.Action == secrets.ActionReveal) {
				return secrets.ErrForbidden
			}
			return nil
		}})
		ctx := context.Background()
		editor := secrets.WithActor(ctx, "user:editor")
		if _, err := m.Set(ctx, "ws", "PIN", []byte("4711-prod"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Diff(editor, "ws", []byte("PIN=1234\n"), nil); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatalf("the editor's Diff: %v", err)
		}
		version := func() int64 {
			t.Helper()
			meta, err := m.Meta(ctx, "ws", "PIN")
			if err != nil {
				t.Fatal(err)
			}
			return meta.Version
		}
		// Apply compares as Diff does: it is ActionDiff too, refused
		// alike whatever the guess and whatever its difference claims.
		for _, c := range []struct{ guess, claim string }{
			{"4711-prod", "changed"}, {"4711-prod", "unchanged"}, {"1234-guess", "unchanged"}, {"1234-guess", "changed"},
		} {
			d := secrets.Diff{Workspace: "ws", Scope: "*", Added: []string{}, Changed: []string{}, Unchanged: []string{}, Removed: []string{},
				Uncompared: []string{}, Revisions: map[string]int64{"PIN": revision(t, m, "PIN")}}
			if c.claim == "changed" {
				d.Changed = []string{"PIN"}
			} else {
				d.Unchanged = []string{"PIN"}
			}
			before := version()
			if _, err := m.Apply(editor, "ws", []byte("PIN="+c.guess+"\n"), d); !errors.Is(err, secrets.ErrForbidden) {
				t.Errorf("Apply of %q claimed %s by an editor who may not diff: %v, want ErrForbidden", c.guess, c.claim, err)
			}
			if version() != before {
				t.Errorf("Apply of %q claimed %s wrote a version", c.guess, c.claim)
			}
		}
		// Whoever may diff applies exactly the difference a preview of the
		// same text showed: one of another text is refused.
		d, err := m.Diff(ctx, "ws", []byte("PIN=4711-prod\n"), nil)
		if err != nil || len(d.Unchanged) != 1 {
			t.Fatalf("Diff: %+v %v", d, err)
		}
		if _, err := m.Apply(ctx, "ws", []byte("PIN=other-text\n"), d); !errors.Is(err, secrets.ErrConflict) {
			t.Errorf("Apply of another text than the preview's: %v, want ErrConflict", err)
		}

		// A backup's Restore with a plan of the editor's making, likewise.
		src := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
		if _, err := src.Set(ctx, "src", "PIN", []byte("1234-guess"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
		doc, err := src.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(doc)
		for _, claim := range []string{"changed", "unchanged"} {
			p := secrets.RestorePlan{Workspace: "ws", Source: "src", Digest: hex.EncodeToString(sum[:]), Added: []string{}, Changed: []secrets.RestoreChange{},
				Unchanged: []string{}, Removed: []string{}, Skipped: []string{}, Revisions: map[string]int64{"PIN": revision(t, m, "PIN")}}
			if claim == "changed" {
				p.Changed = []secrets.RestoreChange{{Name: "PIN", Fields: []string{"value"}}}
			} else {
				p.Unchanged = []string{"PIN"}
			}
			if _, err := m.Restore(editor, "ws", doc, p, nil); err != nil {
				t.Errorf("Restore of a wrong guess claimed %s: %v", claim, err)
			}
			if _, err := m.Rollback(ctx, "ws", "PIN", 1, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// revision is the current revision of ws's secret name.
func revision(t *testing.T, m *secrets.Manager, name string) int64 {
	t.Helper()
	meta, err := m.Meta(context.Background(), "ws", name)
	if err != nil {
		t.Fatal(err)
	}
	return meta.Revision
}

// TestRestoreAtTellsNoGuess: a RestoreAt sent a plan of the caller's
// making would tell whether a value now is the value then (ErrConflict or
// not): it is ActionDiff too, so an editor who may not diff is refused
// alike whatever the plan says, and nothing is written.
func TestRestoreAtTellsNoGuess(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		clock := &pitrClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Now: clock.Now, Authorize: func(_ context.Context, r secrets.Request) error {
			if r.Actor == "user:editor" && r.Action == secrets.ActionDiff {
				return secrets.ErrForbidden
			}
			return nil
		}})
		ctx := context.Background()
		editor := secrets.WithActor(ctx, "user:editor")
		mustSet(t, m, "ws", "PIN", "4711-prod")
		then := clock.step()
		mustSet(t, m, "ws", "PIN", "guess-1234")
		clock.step()
		plan, err := m.PreviewRestoreAt(ctx, "ws", then)
		if err != nil {
			t.Fatal(err)
		}
		for _, claim := range []string{"versions", "unchanged"} {
			p := plan
			if claim == "unchanged" {
				p.Versions, p.Unchanged = []secrets.RestoreAtChange{}, []string{"PIN"}
			}
			if _, err := m.RestoreAt(editor, "ws", p); !errors.Is(err, secrets.ErrForbidden) {
				t.Errorf("RestoreAt of a plan claiming %s by an editor who may not diff: %v, want ErrForbidden", claim, err)
			}
		}
		if meta, err := m.Meta(ctx, "ws", "PIN"); err != nil || meta.Version != 2 {
			t.Fatalf("after the refusals: %+v %v", meta, err)
		}
	})
}
