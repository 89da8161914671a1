package secrets_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/mac"
)

// rotatedAuditKey returns the audit key of keysetJSON and that of the same
// keyset with a new primary key added, the former one kept enabled.
func rotatedAuditKey(t *testing.T, keysetJSON []byte) (before, after *secrets.AuditKey) {
	t.Helper()
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(keysetJSON)))
	if err != nil {
		t.Fatal(err)
	}
	km := withNewPrimary(t, h)
	if before, err = secrets.NewAuditKey(keysetJSON); err != nil {
		t.Fatal(err)
	}
	if after, err = secrets.NewAuditKey(managedJSON(t, km)); err != nil {
		t.Fatal(err)
	}
	return before, after
}

// withNewPrimary returns a manager of h's keyset with a new HMAC key
// added as its primary, the former one kept enabled.
func withNewPrimary(t *testing.T, h *keyset.Handle) *keyset.Manager {
	t.Helper()
	km := keyset.NewManagerFromHandle(h)
	id, err := km.Add(mac.HMACSHA256Tag256KeyTemplate())
	if err != nil {
		t.Fatal(err)
	}
	if err := km.SetPrimary(id); err != nil {
		t.Fatal(err)
	}
	return km
}

// managedJSON is the keyset km manages, as a Tink JSON keyset in the clear.
func managedJSON(t *testing.T, km *keyset.Manager) []byte {
	t.Helper()
	h, err := km.Handle()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAuditKeyRotation: after the AuditKey's keyset is rotated (a new
// primary, the former key kept), a search with Fingerprints — the value's
// fingerprint by every key — finds every job that got a leaked value,
// before the rotation and after it (the ledger keeps the fingerprint made
// when the value was written); the primary's Fingerprint alone finds none
// of them (a forensic trial's finding).
func TestAuditKeyRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		raw, err := secrets.GenerateAuditKey()
		if err != nil {
			t.Fatal(err)
		}
		ak1, ak2 := rotatedAuditKey(t, raw)
		s, c := b.replica(t), newCipher(t)
		m1 := newManager(t, s, c, &secrets.Config{AuditKey: ak1})
		const leaked = "tok_live_leaked_4b1d"
		mustSet(t, m1, "ws", "TOKEN", leaked)
		for range 3 {
			if _, err := m1.EnvFor(ctx, "ws"); err != nil {
				t.Fatal(err)
			}
		}
		m2 := newManager(t, s, c, &secrets.Config{AuditKey: ak2})
		if _, err := m2.EnvFor(ctx, "ws"); err != nil {
			t.Fatal(err)
		}
		if n := len(m2.Fingerprints([]byte(leaked))); n != 2 || len(m1.Fingerprints([]byte(leaked))) != 1 {
			t.Fatalf("fingerprints after the rotation: %d", n)
		}
		jobs := func(q secrets.EventQuery) int {
			t.Helper()
			q.Action, q.Limit = secrets.ActionInject, 1000
			evs, err := m2.Events(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		if n := jobs(secrets.EventQuery{Fingerprints: m2.Fingerprints([]byte(leaked))}); n != 4 {
			t.Fatalf("a search by every key found %d of 4 jobs", n)
		}
		if n := jobs(secrets.EventQuery{Fingerprint: m2.Fingerprint([]byte(leaked))}); n != 0 {
			t.Fatalf("a search by the new primary alone found %d jobs", n)
		}
		// A value written after the rotation has the new primary's.
		const later = "tok_live_later_77aa"
		mustSet(t, m2, "ws2", "TOKEN", later)
		if _, err := m2.EnvFor(ctx, "ws2"); err != nil {
			t.Fatal(err)
		}
		if n := jobs(secrets.EventQuery{Fingerprints: m2.Fingerprints([]byte(later))}); n != 1 {
			t.Fatalf("a value written after the rotation: %d jobs", n)
		}
		if n := jobs(secrets.EventQuery{Fingerprint: m2.Fingerprint([]byte(later)), Fingerprints: m2.Fingerprints([]byte(leaked))}); n != 5 {
			t.Fatalf("Fingerprint and Fingerprints together: %d jobs, want 5", n)
		}
	})
}

// A former audit key that is disabled, or deleted, from the keyset gives
// no fingerprint: its fingerprints are found no more (only the primary's
// is), and the keyset still loads.
func TestAuditKeyDisabledFormerKey(t *testing.T) {
	raw, err := secrets.GenerateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	former := h.KeysetInfo().GetPrimaryKeyId()
	km := withNewPrimary(t, h)
	for _, step := range []struct {
		what   string
		change func() error
	}{
		{"disabled", func() error { return km.Disable(former) }},
		{"deleted", func() error { return km.Delete(former) }},
	} {
		if err := step.change(); err != nil {
			t.Fatal(err)
		}
		ak, err := secrets.NewAuditKey(managedJSON(t, km))
		if err != nil {
			t.Fatalf("%s former key: %v", step.what, err)
		}
		if n := len(ak.Fingerprints([]byte("tok_live_leaked_4b1d"))); n != 1 {
			t.Fatalf("%s former key: %d fingerprints, want the primary's only", step.what, n)
		}
	}
}
