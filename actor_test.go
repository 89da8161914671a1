package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// TestInvalidActor: an actor over 256 bytes, not UTF-8, or with a control
// character (NUL included) is refused with ErrInvalidActor by every entry
// point, on every store, before anything happens: nothing changes, no
// event is recorded, no value is returned. Before, on Postgres, Get and
// EnvFor returned values whose events could not be stored.
func TestInvalidActor(t *testing.T) {
	bad := []string{"user\x00:1", "user\n1", "\xff\xfe", "user\x1b[31m", strings.Repeat("a", 257)}
	eachStore(t, func(t *testing.T, s secrets.Store) {
		authorized := 0
		m := newManager(t, s, newCipher(t), &secrets.Config{
			Authorize: func(context.Context, secrets.Request) error { authorized++; return nil },
			Parents:   func(context.Context, string) ([]string, error) { return nil, nil },
		})
		good := secrets.WithActor(context.Background(), "user:ok")
		if _, err := m.Set(good, "ws", "TOKEN", []byte("value-1234"), nil); err != nil {
			t.Fatal(err)
		}
		events := func() int {
			es, err := m.Events(good, secrets.EventQuery{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}
		before := events()
		authorized = 0
		for _, actor := range bad {
			ctx := secrets.WithActor(context.Background(), actor)
			calls := map[string]func() error{
				"Set":    func() error { _, err := m.Set(ctx, "ws", "OTHER", []byte("v"), nil); return err },
				"Get":    func() error { _, err := m.Get(ctx, "ws", "TOKEN"); return err },
				"Meta":   func() error { _, err := m.Meta(ctx, "ws", "TOKEN"); return err },
				"List":   func() error { _, err := m.List(ctx, "ws", nil); return err },
				"EnvFor": func() error { _, err := m.EnvFor(ctx, "ws"); return err },
				"Prepare": func() error {
					_, err := m.Prepare(ctx, "ws", nil)
					return err
				},
				"SetInfo": func() error { _, err := m.SetInfo(ctx, "ws", "TOKEN", secrets.Info{}, nil); return err },
				"Rename":  func() error { _, err := m.Rename(ctx, "ws", "TOKEN", "RENAMED", nil); return err },
				"Delete":  func() error { _, err := m.Delete(ctx, "ws", "TOKEN", nil); return err },
				"Destroy": func() error { return m.Destroy(ctx, "ws", "TOKEN", nil) },
				"Import":  func() error { _, err := m.Import(ctx, "ws", []byte("A=1\n"), nil); return err },
				"Export":  func() error { _, err := m.Export(ctx, "ws", nil); return err },
				"Diff":    func() error { _, err := m.Diff(ctx, "ws", []byte("A=1\n"), nil); return err },
				"Rotate":  func() error { _, err := m.RotateKey(ctx, "ws", nil); return err },
				"Keys":    func() error { _, err := m.Keys(ctx, "ws"); return err },
				"Purge":   func() error { _, err := m.Purge(ctx); return err },
				"Allowed": func() error { return m.Allowed(ctx, "ws", secrets.ActionReveal) },
				"DeleteWorkspace": func() error {
					return m.DeleteWorkspace(ctx, "ws")
				},
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, secrets.ErrInvalidActor) {
					t.Errorf("%s with actor %q: %v, want ErrInvalidActor", name, actor, err)
				} else if strings.Contains(err.Error(), actor) {
					t.Errorf("%s: the error quotes the actor", name)
				}
			}
		}
		if authorized != 0 {
			t.Errorf("the authorizer was asked %d times for invalid actors", authorized)
		}
		if n := events(); n != before {
			t.Errorf("%d events before, %d after the refused calls", before, n)
		}
		if got := mustGet(t, m, "ws", "TOKEN"); got != "value-1234" {
			t.Errorf("the secret changed: %q", got)
		}
		// The longest valid actor, and one with non-ASCII text, work.
		for _, actor := range []string{strings.Repeat("a", 256), "utilisateur:é"} {
			if _, err := m.Get(secrets.WithActor(context.Background(), actor), "ws", "TOKEN"); err != nil {
				t.Errorf("actor %q: %v", actor, err)
			}
		}
	})
}
