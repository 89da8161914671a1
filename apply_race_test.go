package secrets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// TestApplyRemoveSecretAddedMeanwhile: Apply with Remove makes the
// workspace the text, or does nothing: a secret created (or undeleted)
// between its reads and its writes, which none of its writes names, makes
// it fail with ErrConflict and change nothing (a race trial: the apply
// succeeded and left LATE live, a state no single writer makes). Without
// Remove such a secret is left alone.
func TestApplyRemoveSecretAddedMeanwhile(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		hs := &putHookStore{Store: s, ledger: s.(secrets.LedgerStore)}
		m := newManager(t, hs, newCipher(t), nil)
		ctx := context.Background()
		text := []byte("KEEP=keep-value\nNEW=new-value\n")
		for _, c := range []struct {
			ws     string
			remove bool
			late   func(ws string) error
		}{
			{"created", true, func(ws string) error { _, err := m.Set(ctx, ws, "LATE", []byte("late-value"), nil); return err }},
			{"undeleted", true, func(ws string) error { _, err := m.Undelete(ctx, ws, "UNDEL", nil); return err }},
			{"kept", false, func(ws string) error { _, err := m.Set(ctx, ws, "LATE", []byte("late-value"), nil); return err }},
		} {
			mustSet(t, m, c.ws, "KEEP", "keep-value")
			mustSet(t, m, c.ws, "OLD", "old-value")
			mustSet(t, m, c.ws, "UNDEL", "undel-value")
			if _, err := m.Delete(ctx, c.ws, "UNDEL", nil); err != nil {
				t.Fatal(err)
			}
			d, err := m.Diff(ctx, c.ws, text, &secrets.DiffOptions{Remove: c.remove})
			if err != nil {
				t.Fatal(err)
			}
			var lateErr error
			hs.mu.Lock()
			hs.hook = func() { lateErr = c.late(c.ws) }
			hs.mu.Unlock()
			_, err = m.Apply(ctx, c.ws, text, d)
			if lateErr != nil {
				t.Fatalf("%s: the write meanwhile: %v", c.ws, lateErr)
			}
			if !c.remove {
				if err != nil {
					t.Fatalf("Apply without Remove, a secret created meanwhile: %v", err)
				}
				continue
			}
			if !errors.Is(err, secrets.ErrConflict) {
				t.Fatalf("%s: Apply with Remove, a secret %s meanwhile: %v, want ErrConflict", c.ws, c.ws, err)
			}
			want := map[string]string{"KEEP": "keep-value", "OLD": "old-value"}
			if c.ws == "created" {
				want["LATE"] = "late-value"
			} else {
				want["UNDEL"] = "undel-value"
			}
			if diff := cmp.Diff(want, envMap(t, m, c.ws)); diff != "" {
				t.Fatalf("%s: the refused apply changed the workspace (-want +got):\n%s", c.ws, diff)
			}
		}
	})
}

// An unrelated write between Apply's reads and its writes (with Remove,
// any write of the workspace breaks its hold: here a secret of another
// scope) makes it read and compare again, and apply: the difference is
// still the preview's.
func TestApplyRemoveRetriesUnrelatedWrite(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		hs := &putHookStore{Store: s, ledger: s.(secrets.LedgerStore)}
		m := newManager(t, hs, newCipher(t), nil)
		ctx := context.Background()
		mustSet(t, m, "ws", "KEEP", "keep-value")
		mustSet(t, m, "ws", "OLD", "old-value")
		text := []byte("KEEP=keep-value\nNEW=new-value\n")
		d, err := m.Diff(ctx, "ws", text, &secrets.DiffOptions{Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		var lateErr error
		hs.mu.Lock()
		hs.hook = func() { _, lateErr = m.Set(ctx, "ws", "OTHER@staging", []byte("other-value"), nil) }
		hs.mu.Unlock()
		if _, err := m.Apply(ctx, "ws", text, d); err != nil || lateErr != nil {
			t.Fatalf("Apply with an unrelated write meanwhile: %v (the write: %v)", err, lateErr)
		}
		if diff := cmp.Diff(map[string]string{"KEEP": "keep-value", "NEW": "new-value"}, envMap(t, m, "ws")); diff != "" {
			t.Fatalf("after the apply (-want +got):\n%s", diff)
		}
		if _, err := m.Meta(ctx, "ws", "OTHER@staging"); err != nil {
			t.Fatalf("the unrelated secret: %v", err)
		}
	})
}
