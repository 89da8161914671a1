package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/internal/scope"
	"github.com/google/go-cmp/cmp"
)

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

// Every value shape round-trips, on every backend.
func TestRoundTrip(t *testing.T) {
	eachStore(t, testRoundTrip)
}

func testRoundTrip(t *testing.T, s secrets.Store) {
	ctx := secrets.WithActor(context.Background(), "user:1")
	m := newManager(t, s, newCipher(t), nil)
	shapes := valueShapes()
	for name, val := range shapes {
		if _, err := m.Set(ctx, "ws", name, val, nil); err != nil {
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

func TestDeniedListsAreCopies(t *testing.T) {
	d := secrets.DeniedNames()
	d[0] = "CHANGED"
	if secrets.DeniedNames()[0] == "CHANGED" {
		t.Fatal("DeniedNames returns the package's own slice")
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
	if l, err := m.List(ctx, "B", nil); err != nil || len(l.Secrets) != 0 {
		t.Fatalf("List(B) = %v, %v", l, err)
	}
	if _, err := m.Meta(ctx, "B", "TOKEN"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Meta through B: %v", err)
	}
	if env, err := m.EnvFor(ctx, "B"); err != nil || len(env) != 0 {
		t.Fatalf("EnvFor(B) has %d entries, %v", len(env), err)
	}
	if _, err := m.Delete(ctx, "B", "TOKEN", nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Delete through B: %v", err)
	}
	if err := m.Destroy(ctx, "B", "TOKEN", nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Destroy through B: %v", err)
	}
	if _, err := m.SetInfo(ctx, "B", "TOKEN", secrets.Info{Description: "x"}, nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("SetInfo through B: %v", err)
	}
	if _, err := m.Rename(ctx, "B", "TOKEN", "X", nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Rename through B: %v", err)
	}
	if _, err := m.Rollback(ctx, "B", "TOKEN", 1, nil); !errors.Is(err, secrets.ErrNotFound) {
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
				if _, err := m.Set(ctx, "ws", own, []byte(fmt.Sprint(i)), nil); err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Set(ctx, "ws", "SHARED", []byte(fmt.Sprint(w, i)), nil); err != nil {
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
	if _, err := m.Set(ctx, "ws", "B", []byte("y"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Set: %v", err)
	}
	if _, err := m.EnvFor(ctx, "ws"); !errors.Is(err, context.Canceled) {
		t.Errorf("EnvFor: %v", err)
	}
	if _, err := m.Get(ctx, "ws", "A"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
}

var nameRule = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FuzzSetName: any name is either stored, when it follows the rule (and
// its scope, if any, is valid and may be a new secret's) and is not denied, or refused with
// ErrInvalidName, ErrInvalidScope or ErrReservedName; a refused invalid
// name or scope never appears in its error.
func FuzzSetName(f *testing.F) {
	for _, s := range []string{"AUTH_TOKEN", "_x", "9A", "A-B", "LD_PRELOAD", "ld_audit", "PATH", "Ä", "A\x00B", "",
		"A@production", "A@review/*", "A@*", "@", "A@b@c", "9A@prod", "PATH@prod", "A@re*view"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		m := newManager(t, secrets.NewMemoryStore(), fuzzCipher, nil)
		_, err := m.Set(context.Background(), "ws", name, []byte("value"), nil)
		// A name may end in '@' and a scope other than "*" that a new
		// secret may take (scope.Shown: none that looks like another),
		// which Set checks once the name has passed the other checks.
		variable, sc, scoped := strings.Cut(name, "@")
		syntaxScope := !scoped || scope.Valid(sc) == nil && sc != scope.Any
		validScope := syntaxScope && (!scoped || scope.Shown(sc) == nil)
		nameOK := nameRule.MatchString(variable) && len(variable) <= 256
		valid := nameOK && validScope
		switch {
		case err == nil:
			if !valid {
				t.Fatalf("stored the invalid name %q", name)
			}
			if got := mustGet(t, m, "ws", strings.ToLower(name)); got != "value" {
				t.Fatalf("lookup ignoring case: %q", got)
			}
		case errors.Is(err, secrets.ErrInvalidScope):
			if validScope {
				t.Fatalf("refused the valid scope of %q: %v", name, err)
			}
			if len(sc) > 3 && strings.Contains(err.Error(), sc) {
				t.Fatalf("error quotes the invalid scope: %v", err)
			}
		case errors.Is(err, secrets.ErrInvalidName):
			if nameOK || !syntaxScope {
				t.Fatalf("refused the valid name %q: %v", name, err)
			}
			if len(name) > 3 && strings.Contains(err.Error(), name) {
				t.Fatalf("error quotes the invalid name: %v", err)
			}
		case errors.Is(err, secrets.ErrReservedName):
			if !nameOK || !syntaxScope {
				t.Fatalf("invalid name %q reported as reserved", name)
			}
		default:
			t.Fatalf("Set(%q): %v", name, err)
		}
	})
}
