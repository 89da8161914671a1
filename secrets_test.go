package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) secrets.Store { return secrets.NewMemoryStore() })
}

func pemKey() []byte {
	var b strings.Builder
	b.WriteString("-----BEGIN PRIVATE KEY-----\n")
	for i := range 20 {
		fmt.Fprintf(&b, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC%013d\n", i)
	}
	b.WriteString("-----END PRIVATE KEY-----\n")
	return []byte(b.String())
}

func binaryValue() []byte {
	b := make([]byte, 0, 512)
	for i := range 512 {
		b = append(b, byte(i%255)+1) // every byte but NUL
	}
	return b
}

// valueShapes are the values every store and every path must carry
// unchanged.
func valueShapes() map[string][]byte {
	const name = "BIG"
	return map[string][]byte{
		"EMPTY":   {},
		"PEM":     pemKey(),
		"BINARY":  binaryValue(),
		"UNICODE": []byte("pässwörd ✓ 秘密 \t \"quoted\" $HOME `id` 'x'"),
		"SPACES":  []byte("  leading and trailing  \n"),
		name:      bytes.Repeat([]byte("x"), secrets.MaxEnvString-len(name)-2),
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := secrets.WithActor(context.Background(), "user:1")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	shapes := valueShapes()
	for name, val := range shapes {
		if _, err := m.Set(ctx, "ws", name, val); err != nil {
			t.Fatalf("Set(%s, %d bytes): %v", name, len(val), err)
		}
	}
	for name, val := range shapes {
		s, err := m.Get(ctx, "ws", name)
		if err != nil {
			t.Fatalf("Get(%s): %v", name, err)
		}
		if !bytes.Equal(s.Value.Reveal(), val) {
			t.Errorf("Get(%s): value differs (%d bytes, want %d)", name, s.Value.Len(), len(val))
		}
	}
	env, err := m.EnvFor(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != len(shapes) {
		t.Fatalf("EnvFor: %d entries, want %d", len(env), len(shapes))
	}
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		if val != string(shapes[name]) {
			t.Errorf("EnvFor: %s differs", name)
		}
	}
}

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
	if _, err := m.Set(ctx, "ws", "EXISTING", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	before, err := store.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		_, err := m.Set(ctx, tc.ws, tc.name, tc.value)
		if !errors.Is(err, tc.want) {
			t.Errorf("Set(%q, %.20q): %v, want %v", tc.ws, tc.name, err, tc.want)
			continue
		}
		if errors.Is(err, secrets.ErrInvalidName) && tc.name != "" && strings.Contains(err.Error(), tc.name) {
			t.Errorf("error for an invalid name quotes it: %v", err)
		}
	}
	after, err := store.Current(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("refused writes changed the store:\n%s", d)
	}
	// Allowed and ordinary names pass.
	for _, name := range []string{"NODE_OPTIONS", "_X", "a1", "AUTH_TOKEN", strings.Repeat("A", 256)} {
		if _, err := m.Set(ctx, "ws", name, []byte("v")); err != nil {
			t.Errorf("Set(%.20s): %v", name, err)
		}
	}
	// Renaming onto a refused name is refused the same way.
	if _, err := m.Rename(ctx, "ws", "EXISTING", "LD_PRELOAD"); !errors.Is(err, secrets.ErrReservedName) {
		t.Errorf("Rename to LD_PRELOAD: %v", err)
	}
	if _, err := m.Rename(ctx, "ws", "EXISTING", "9X"); !errors.Is(err, secrets.ErrInvalidName) {
		t.Errorf("Rename to 9X: %v", err)
	}
}

func TestDeniedListsAreCopies(t *testing.T) {
	d := secrets.DeniedNames()
	d[0] = "CHANGED"
	if secrets.DeniedNames()[0] == "CHANGED" {
		t.Fatal("DeniedNames returns the package's own slice")
	}
}

func TestVersionsAndRollback(t *testing.T) {
	clock := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Minute); return clock }
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{KeepVersions: 3, Now: now})
	bg := context.Background()
	var created time.Time
	for i := 1; i <= 5; i++ {
		ctx := secrets.WithActor(bg, fmt.Sprintf("user:%d", i))
		meta, err := m.Set(ctx, "ws", "TOKEN", []byte(fmt.Sprintf("value-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if meta.Version != int64(i) || meta.UpdatedBy != fmt.Sprintf("user:%d", i) || meta.CreatedBy != "user:1" {
			t.Fatalf("Set #%d: %+v", i, meta)
		}
		if i == 1 {
			created = meta.Created
		}
	}
	vs, err := m.Versions(bg, "ws", "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, v := range vs {
		got = append(got, v.Version)
		if !v.Created.Equal(created) || !v.Updated.After(created) {
			t.Errorf("v%d Created %v, want the first write's time", v.Version, v.Created)
		}
	}
	if d := cmp.Diff([]int64{5, 4, 3}, got); d != "" {
		t.Fatalf("retained versions (-want +got):\n%s", d)
	}
	old, err := m.GetVersion(bg, "ws", "TOKEN", 3)
	if err != nil {
		t.Fatal(err)
	}
	if string(old.Value.Reveal()) != "value-3" || old.UpdatedBy != "user:3" {
		t.Fatalf("GetVersion 3: %s by %s", old.Value.Reveal(), old.UpdatedBy)
	}
	if _, err := m.GetVersion(bg, "ws", "TOKEN", 2); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("GetVersion of a pruned version: %v", err)
	}
	meta, err := m.Rollback(secrets.WithActor(bg, "user:admin"), "ws", "TOKEN", 3)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Version != 6 || meta.UpdatedBy != "user:admin" {
		t.Fatalf("Rollback: %+v", meta)
	}
	cur, err := m.Get(bg, "ws", "token")
	if err != nil {
		t.Fatal(err)
	}
	if string(cur.Value.Reveal()) != "value-3" || cur.Version != 6 {
		t.Fatalf("after rollback: v%d %s", cur.Version, cur.Value.Reveal())
	}
	if _, err := m.Rollback(bg, "ws", "TOKEN", 1); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Rollback to a pruned version: %v", err)
	}
}

func TestRename(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "OLD", "the-value")
	mustSet(t, m, "ws", "OTHER", "other-value")
	meta, err := m.Rename(ctx, "ws", "OLD", "NEW")
	if err != nil {
		t.Fatal(err)
	}
	if meta.Name != "NEW" || meta.Version != 2 {
		t.Fatalf("Rename: %+v", meta)
	}
	if _, err := m.Get(ctx, "ws", "OLD"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Get(OLD) after rename: %v", err)
	}
	if got := mustGet(t, m, "ws", "NEW"); got != "the-value" {
		t.Fatalf("value after rename: %q", got)
	}
	// Version 1, written under the old name, still decrypts.
	old, err := m.GetVersion(ctx, "ws", "NEW", 1)
	if err != nil || old.Name != "OLD" || string(old.Value.Reveal()) != "the-value" {
		t.Fatalf("GetVersion 1 after rename: %+v %v", old.Meta, err)
	}
	_, err = m.Rename(ctx, "ws", "NEW", "other")
	if !errors.Is(err, secrets.ErrExists) || !errors.Is(err, secrets.ErrConflict) {
		t.Fatalf("Rename onto another secret: %v", err)
	}
	if _, err := m.Rename(ctx, "ws", "MISSING", "X"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Rename of missing: %v", err)
	}
	if meta, err := m.Rename(ctx, "ws", "NEW", "New"); err != nil || meta.Name != "New" {
		t.Fatalf("Rename changing case: %+v %v", meta, err)
	}
	env, err := m.EnvFor(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"New=the-value", "OTHER=other-value"}, env); d != "" {
		t.Fatalf("EnvFor after renames (-want +got):\n%s", d)
	}
}

func TestCheckAndSet(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	if _, err := m.SetIf(ctx, "ws", "A", []byte("1"), 0); err != nil {
		t.Fatalf("SetIf create: %v", err)
	}
	_, err := m.SetIf(ctx, "ws", "a", []byte("x"), 0)
	if !errors.Is(err, secrets.ErrExists) || !errors.Is(err, secrets.ErrConflict) {
		t.Fatalf("SetIf create of existing: %v", err)
	}
	if _, err := m.SetIf(ctx, "ws", "A", []byte("2"), 1); err != nil {
		t.Fatalf("SetIf v1: %v", err)
	}
	if _, err := m.SetIf(ctx, "ws", "A", []byte("x"), 1); !errors.Is(err, secrets.ErrConflict) {
		t.Fatalf("SetIf stale: %v", err)
	}
	if _, err := m.SetIf(ctx, "ws", "B", []byte("x"), 3); !errors.Is(err, secrets.ErrConflict) {
		t.Fatalf("SetIf of a deleted/missing secret: %v", err)
	}
	if err := m.DeleteIf(ctx, "ws", "A", 1); !errors.Is(err, secrets.ErrConflict) {
		t.Fatalf("DeleteIf stale: %v", err)
	}
	if got := mustGet(t, m, "ws", "A"); got != "2" {
		t.Fatalf("after refused writes: %q", got)
	}
	if err := m.DeleteIf(ctx, "ws", "A", 2); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "ws", "A"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Delete after delete: %v", err)
	}

	// Two editors saw the same version; exactly one wins, every time.
	mustSet(t, m, "ws", "RACE", "v1")
	for round := range 50 {
		cur, err := m.Get(ctx, "ws", "RACE")
		if err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for editor := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := m.SetIf(ctx, "ws", "RACE", []byte(fmt.Sprint(round, editor)), cur.Version)
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, secrets.ErrConflict):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d editors won", round, wins.Load())
		}
	}
}

func TestIsolation(t *testing.T) {
	ctx := context.Background()
	store := secrets.NewMemoryStore()
	m := newManager(t, store, newCipher(t), nil)
	mustSet(t, m, "A", "TOKEN", "a-secret")
	mustSet(t, m, "A", "ONLY_A", "a-only")

	if _, err := m.Get(ctx, "B", "TOKEN"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Get through B: %v", err)
	}
	if _, err := m.GetVersion(ctx, "B", "TOKEN", 1); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("GetVersion through B: %v", err)
	}
	if _, err := m.Versions(ctx, "B", "TOKEN"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Versions through B: %v", err)
	}
	if l, err := m.List(ctx, "B"); err != nil || len(l) != 0 {
		t.Fatalf("List(B) = %v, %v", l, err)
	}
	if env, err := m.EnvFor(ctx, "B"); err != nil || len(env) != 0 {
		t.Fatalf("EnvFor(B) has %d entries, %v", len(env), err)
	}
	if err := m.Delete(ctx, "B", "TOKEN"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Delete through B: %v", err)
	}
	if _, err := m.Rename(ctx, "B", "TOKEN", "X"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Rename through B: %v", err)
	}
	if _, err := m.Rollback(ctx, "B", "TOKEN", 1); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Rollback through B: %v", err)
	}
	// B's own secret of the same name is independent, under its own key.
	mustSet(t, m, "B", "TOKEN", "b-secret")
	if got := mustGet(t, m, "A", "TOKEN"); got != "a-secret" {
		t.Fatalf("A's TOKEN after B's write: %q", got)
	}
	ka, _ := store.Key(ctx, "A")
	kb, _ := store.Key(ctx, "B")
	if bytes.Equal(ka.Ciphertext, kb.Ciphertext) {
		t.Fatal("workspaces share a wrapped key")
	}
	env, err := m.EnvFor(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"TOKEN=b-secret"}, env); d != "" {
		t.Fatalf("EnvFor(B):\n%s", d)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	const workers, rounds = 8, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := fmt.Sprintf("OWN_%d", w)
			for i := range rounds {
				if _, err := m.Set(ctx, "ws", own, []byte(fmt.Sprint(i))); err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Set(ctx, "ws", "SHARED", []byte(fmt.Sprint(w, i))); err != nil {
					t.Error(err)
					return
				}
				if got := mustGet(t, m, "ws", own); got != fmt.Sprint(i) {
					t.Errorf("%s = %q after writing %d", own, got, i)
				}
				env, err := m.EnvFor(ctx, "ws")
				if err != nil {
					t.Error(err)
					return
				}
				for _, kv := range env {
					if strings.HasPrefix(kv, own+"=") && kv != fmt.Sprintf("%s=%d", own, i) {
						t.Errorf("EnvFor shows %q after writing %d", kv, i)
					}
				}
			}
		}()
	}
	wg.Wait()
	shared, err := m.Get(ctx, "ws", "SHARED")
	if err != nil {
		t.Fatal(err)
	}
	// Unconditional writers retry on conflict: no write is lost, so the
	// version counts every one of them.
	if shared.Version != workers*rounds {
		t.Fatalf("SHARED is at version %d after %d writes", shared.Version, workers*rounds)
	}
}

func TestCancelledContext(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "A", "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Set(ctx, "ws", "B", []byte("y")); !errors.Is(err, context.Canceled) {
		t.Errorf("Set: %v", err)
	}
	if _, err := m.EnvFor(ctx, "ws"); !errors.Is(err, context.Canceled) {
		t.Errorf("EnvFor: %v", err)
	}
	if _, err := m.Get(ctx, "ws", "A"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
}

func mustSet(t testing.TB, m *secrets.Manager, ws, name, value string) secrets.Meta {
	t.Helper()
	meta, err := m.Set(context.Background(), ws, name, []byte(value))
	if err != nil {
		t.Fatalf("Set(%s, %s): %v", ws, name, err)
	}
	return meta
}

func mustGet(t testing.TB, m *secrets.Manager, ws, name string) string {
	t.Helper()
	s, err := m.Get(context.Background(), ws, name)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", ws, name, err)
	}
	return string(s.Value.Reveal())
}

var nameRule = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FuzzSetName: any name is either stored, when it follows the rule and is
// not denied, or refused with ErrInvalidName or ErrReservedName; a refused
// invalid name never appears in its error.
func FuzzSetName(f *testing.F) {
	for _, s := range []string{"AUTH_TOKEN", "_x", "9A", "A-B", "LD_PRELOAD", "ld_audit", "PATH", "Ä", "A\x00B", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		m := newManager(t, secrets.NewMemoryStore(), fuzzCipher, nil)
		_, err := m.Set(context.Background(), "ws", name, []byte("value"))
		valid := nameRule.MatchString(name) && len(name) <= 256
		switch {
		case err == nil:
			if !valid {
				t.Fatalf("stored the invalid name %q", name)
			}
			if got := mustGet(t, m, "ws", strings.ToLower(name)); got != "value" {
				t.Fatalf("lookup ignoring case: %q", got)
			}
		case errors.Is(err, secrets.ErrInvalidName):
			if valid {
				t.Fatalf("refused the valid name %q: %v", name, err)
			}
			if len(name) > 3 && strings.Contains(err.Error(), name) {
				t.Fatalf("error quotes the invalid name: %v", err)
			}
		case errors.Is(err, secrets.ErrReservedName):
			if !valid {
				t.Fatalf("invalid name %q reported as reserved", name)
			}
		default:
			t.Fatalf("Set(%q): %v", name, err)
		}
	})
}
