package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

func TestValidationRefusesAndChangesNothing(t *testing.T) {
	cfg := &secrets.Config{
		MaxEnvBytes:      4096,
		ReservedNames:    []string{"PLATFORM_JOB_ID"},
		ReservedPrefixes: []string{"PLATFORM_"},
		AllowNames:       []string{"NODE_OPTIONS"},
	}
	long := strings.Repeat("A", 257)
	tests := []struct {
		ws, name string
		value    []byte
		want     error
	}{
		{"ws", "", nil, secrets.ErrInvalidName},
		{"ws", "1ABC", nil, secrets.ErrInvalidName},
		{"ws", "AB-C", nil, secrets.ErrInvalidName},
		{"ws", "AB C", nil, secrets.ErrInvalidName},
		{"ws", "ÄBC", nil, secrets.ErrInvalidName},
		{"ws", "A=B", nil, secrets.ErrInvalidName},
		{"ws", "ghp_pastedTokenValue-xyz", nil, secrets.ErrInvalidName},
		{"ws", long, nil, secrets.ErrInvalidName},
		{"ws", "LD_PRELOAD", []byte("/tmp/evil.so"), secrets.ErrReservedName},
		{"ws", "ld_library_path", []byte("/tmp"), secrets.ErrReservedName},
		{"ws", "DYLD_INSERT_LIBRARIES", []byte("x"), secrets.ErrReservedName},
		{"ws", "GLIBC_TUNABLES", []byte("x"), secrets.ErrReservedName},
		{"ws", "BASH_ENV", []byte("x"), secrets.ErrReservedName},
		{"ws", "PATH", []byte("/tmp"), secrets.ErrReservedName},
		{"ws", "PYTHONSTARTUP", []byte("x"), secrets.ErrReservedName},
		{"ws", "BASH_FUNC_ls%%", []byte("x"), secrets.ErrInvalidName},
		{"ws", "PLATFORM_JOB_ID", []byte("x"), secrets.ErrReservedName},
		{"ws", "platform_other", []byte("x"), secrets.ErrReservedName},
		{"ws", "OK", []byte("a\x00b"), secrets.ErrInvalidValue},
		{"ws", "OK", bytes.Repeat([]byte("x"), secrets.MaxEnvString-3), secrets.ErrTooLarge}, // one byte over
		{"ws", "OK", make([]byte, secrets.MaxEnvString), secrets.ErrInvalidValue},
		{"ws", "OK", bytes.Repeat([]byte("x"), 4096), secrets.ErrTooLarge}, // over the budget
		{"", "OK", nil, secrets.ErrInvalidWorkspace},
		{"a\x00b", "OK", nil, secrets.ErrInvalidWorkspace},
		{strings.Repeat("w", 257), "OK", nil, secrets.ErrInvalidWorkspace},
		{"\xff", "OK", nil, secrets.ErrInvalidWorkspace},
	}
	ctx := context.Background()
	store := secrets.NewMemoryStore()
	m := newManager(t, store, newCipher(t), cfg)
	if _, err := m.Set(ctx, "ws", "EXISTING", []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	before, err := store.Env(ctx, "ws", secrets.EnvQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		_, err := m.Set(ctx, tc.ws, tc.name, tc.value, nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("Set(%q, %.20q): %v, want %v", tc.ws, tc.name, err, tc.want)
			continue
		}
		if errors.Is(err, secrets.ErrInvalidName) && tc.name != "" && strings.Contains(err.Error(), tc.name) {
			t.Errorf("error for an invalid name quotes it: %v", err)
		}
	}
	after, err := store.Env(ctx, "ws", secrets.EnvQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("refused writes changed the store:\n%s", d)
	}
	// Allowed and ordinary names pass.
	for _, name := range []string{"NODE_OPTIONS", "_X", "a1", "AUTH_TOKEN", strings.Repeat("A", 256)} {
		if _, err := m.Set(ctx, "ws", name, []byte("v"), nil); err != nil {
			t.Errorf("Set(%.20s): %v", name, err)
		}
	}
	// Renaming onto a refused name is refused the same way.
	if _, err := m.Rename(ctx, "ws", "EXISTING", "LD_PRELOAD", nil); !errors.Is(err, secrets.ErrReservedName) {
		t.Errorf("Rename to LD_PRELOAD: %v", err)
	}
	if _, err := m.Rename(ctx, "ws", "EXISTING", "9X", nil); !errors.Is(err, secrets.ErrInvalidName) {
		t.Errorf("Rename to 9X: %v", err)
	}
}

// Every call that takes a secret's name refuses one that fails validation
// with ErrInvalidName, as Get does, after asking the authorizer without it:
// users paste values into name fields, so the name is in no error, no
// request to the hook and no event (a failure included), whether it
// breaks the rule or is only too long.
func TestInvalidNameNeverQuoted(t *testing.T) {
	const marker = "PASTEDVALUE7"
	check := func(t *testing.T, s secrets.Store) {
		var asked []secrets.Request
		m := newManager(t, s, newCipher(t), &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
			asked = append(asked, r)
			return nil
		}})
		ctx := context.Background()
		mustSet(t, m, "ws", "GOOD", "good-value")
		for _, name := range []string{"sk-live-" + marker + " def", "sk_live_" + marker + strings.Repeat("Q", 300)} {
			for call, f := range map[string]func() error{
				"Get":        func() error { _, err := m.Get(ctx, "ws", name); return err },
				"GetVersion": func() error { _, err := m.GetVersion(ctx, "ws", name, 1); return err },
				"Meta":       func() error { _, err := m.Meta(ctx, "ws", name); return err },
				"Versions":   func() error { _, err := m.Versions(ctx, "ws", name); return err },
				"Set":        func() error { _, err := m.Set(ctx, "ws", name, []byte("v"), nil); return err },
				"SetInfo":    func() error { _, err := m.SetInfo(ctx, "ws", name, secrets.Info{}, nil); return err },
				"Delete":     func() error { _, err := m.Delete(ctx, "ws", name, nil); return err },
				"Undelete":   func() error { _, err := m.Undelete(ctx, "ws", name, nil); return err },
				"Destroy":    func() error { return m.Destroy(ctx, "ws", name, nil) },
				"Rollback":   func() error { _, err := m.Rollback(ctx, "ws", name, 1, nil); return err },
				"Rename from": func() error {
					_, err := m.Rename(ctx, "ws", name, "OTHER", nil)
					return err
				},
				"Rename to": func() error { _, err := m.Rename(ctx, "ws", "GOOD", name, nil); return err },
				"Prepare": func() error {
					p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"GOOD", name}})
					if p != nil {
						p.Close()
					}
					return err
				},
				"Run": func() error {
					_, err := m.Run(ctx, "ws", secrets.Job{Path: "true", Names: []string{name}})
					return err
				},
			} {
				err := f()
				if !errors.Is(err, secrets.ErrInvalidName) {
					t.Errorf("%s(%.12q…): %v, want ErrInvalidName", call, name, err)
				}
				if err != nil && strings.Contains(err.Error(), marker) {
					t.Errorf("%s: the error quotes the invalid name: %.80s…", call, err)
				}
			}
		}
		for _, r := range asked {
			if strings.Contains(strings.Join(r.Names, " "), marker) {
				t.Errorf("the authorizer was shown the invalid name (%s)", r.Action)
			}
		}
		events, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, e := range events {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), marker) {
				t.Errorf("the %s event (%s) holds the invalid name: %.120s…", e.Action, e.Outcome, b)
			}
			if e.Outcome == secrets.OutcomeFailed {
				failed++
			}
		}
		if failed == 0 {
			t.Error("no refusal was recorded")
		}
		if got := mustGet(t, m, "ws", "GOOD"); got != "good-value" {
			t.Errorf("GOOD = %q after the refusals", got)
		}
	}
	t.Run("memory", func(t *testing.T) { check(t, secrets.NewMemoryStore()) })
	t.Run("postgres", func(t *testing.T) {
		pgURL(t)
		check(t, newPGStore(t, pgDB(t)))
	})
}
