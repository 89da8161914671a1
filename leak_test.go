package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// TestNothingPrintsSecrets formats every exported type that can hold a
// value or key with every common verb, through log/slog and JSON, and
// checks that neither the value nor the master key material shows, in
// the clear or hex or base64 encoded.
func TestNothingPrintsSecrets(t *testing.T) {
	const value = "SUPERSECRET-value-1234567890"
	keyJSON, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	material := keyMaterial(t, keyJSON) // base64 of the serialized key
	cipher, err := secrets.NewLocalCipher(keyJSON)
	if err != nil {
		t.Fatal(err)
	}
	store := secrets.NewMemoryStore()
	m := newManager(t, store, cipher, nil)
	ctx := context.Background()
	mustSet(t, m, "ws", "TOKEN", value)
	s, err := m.Get(ctx, "ws", "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{
		value,
		hex.EncodeToString([]byte(value)),
		base64.StdEncoding.EncodeToString([]byte(value))[:20],
		fmt.Sprint([]byte(value)[:8])[1:20], // decimal byte lists, as %v of []byte prints
		material[:16],
	}
	check := func(what, out string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Errorf("%s shows secret material %q: %s", what, f, out)
			}
		}
	}
	// A writer holding back the start of the value.
	rw := secrets.NewRedactor([][]byte{[]byte(value)}, nil).NewWriter(io.Discard)
	rw.Write([]byte("prefix " + value[:12]))
	objects := map[string]any{
		"RedactWriter": rw,
		"Secret":       s, "*Secret": &s, "Value": s.Value, "*Value": &s.Value,
		"Manager": m, "LocalCipher": cipher, "MemoryStore": store,
		"[]Secret": []secrets.Secret{s}, "map": map[string]secrets.Value{"k": s.Value},
		"struct": struct{ S secrets.Secret }{s},
	}
	for name, o := range objects {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			check(name+" "+verb, fmt.Sprintf(verb, o))
		}
		j, _ := json.Marshal(o)
		check(name+" JSON", string(j))
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "obj", o)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "obj", o)
		check(name+" slog", buf.String())
	}
	if got := string(s.Value.Reveal()); got != value {
		t.Fatalf("Reveal = %q", got)
	}

	// Errors from every failing path.
	ts := &tamperStore{Store: store, version: func(v *secrets.Version) { v.Ciphertext[7] ^= 1 }}
	bad := newManager(t, ts, cipher, nil)
	var errs []error
	_, err = bad.Get(ctx, "ws", "TOKEN")
	errs = append(errs, err)
	_, err = bad.EnvFor(ctx, "ws")
	errs = append(errs, err)
	_, err = bad.Rename(ctx, "ws", "TOKEN", "NEW")
	errs = append(errs, err)
	_, err = m.Set(ctx, "ws", "BAD NAME "+value, []byte(value))
	errs = append(errs, err)
	_, err = m.Set(ctx, "ws", "OK", []byte(value+"\x00"))
	errs = append(errs, err)
	_, err = m.Set(ctx, "ws", "OK", []byte(strings.Repeat(value, 5000)))
	errs = append(errs, err)
	_, err = secrets.NewLocalCipher([]byte(value))
	errs = append(errs, err)
	_, err = m.SetIf(ctx, "ws", "TOKEN", []byte(value), 9)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("error %d: nil", i)
			continue
		}
		check(fmt.Sprintf("error %d", i), fmt.Sprintf("%v %+v %#v", err, err, errors.Unwrap(err)))
	}
}
