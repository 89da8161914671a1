package secrets_test

import (
	"bytes"
	"context"
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
