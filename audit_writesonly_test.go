package secrets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dataspace/secrets"
)

// AuditWritesOnly records no read, and still records every write, every
// refusal and every failed write, as the README's table of audit modes
// says (a mutation audit found no test of the mode's promises).
func TestAuditWritesOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{AuditReads: secrets.AuditWritesOnly,
			Authorize: func(_ context.Context, r secrets.Request) error {
				if r.Actor == "user:viewer" && r.Action != secrets.ActionAudit {
					return errors.New("viewers may not")
				}
				return nil
			}})
		editor, viewer := secrets.WithActor(ctx, "user:editor"), secrets.WithActor(ctx, "user:viewer")
		meta, err := m.Set(editor, "ws", "TOKEN", []byte("token-value-1"), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Reads of every kind: none is recorded.
		if _, err := m.Get(editor, "ws", "TOKEN"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.EnvFor(editor, "ws"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.List(editor, "ws", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Export(editor, "ws", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Diff(editor, "ws", []byte("TOKEN=other-value\n"), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Get(editor, "ws", "MISSING"); !errors.Is(err, secrets.ErrNotFound) { // a failed read
			t.Fatal(err)
		}
		// A refused write and a failed one (a stale revision): both are.
		if _, err := m.Set(viewer, "ws", "TOKEN", []byte("viewer-value"), nil); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatalf("the viewer's Set: %v", err)
		}
		if _, err := m.Set(editor, "ws", "TOKEN", []byte("token-value-2"), &secrets.SetOptions{IfRevision: meta.Revision + 5}); !errors.Is(err, secrets.ErrConflict) {
			t.Fatalf("a stale Set: %v", err)
		}
		es, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, string(e.Action)+" "+e.Actor+" "+string(e.Outcome))
		}
		want := []string{"set user:editor ok", "set user:viewer denied", "set user:editor failed"}
		if len(got) != len(want) {
			t.Fatalf("events %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("events %q, want %q", got, want)
			}
		}
	})
}
