package secrets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dataspace/secrets"
)

// faultyStale is a RotationStore whose Stale returns, while broken is
// set, the versions of the secret named broken with a damaged
// ciphertext: the rotation cannot re-encrypt them.
type faultyStale struct {
	secrets.RotationStore
	broken string
}

func (s *faultyStale) Stale(ctx context.Context, ws string, q secrets.StaleQuery) ([]secrets.Version, int, error) {
	vs, n, err := s.RotationStore.Stale(ctx, ws, q)
	for i := range vs {
		if s.broken != "" && vs[i].Name == s.broken {
			ct := append([]byte(nil), vs[i].Ciphertext...)
			ct[len(ct)-1] ^= 0xff
			vs[i].Ciphertext = ct
		}
	}
	return vs, n, err
}

// TestRotateLeftKeepsOldKeys: while a rotation leaves a version it could
// not re-encrypt, RotateKey fails with ErrIncomplete and the old keys
// stay enabled (the version still reads); once the fault is gone, the
// next RotateKey resumes and finishes.
func TestRotateLeftKeepsOldKeys(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		fs := &faultyStale{RotationStore: s}
		c := newCipher(t)
		m := newManager(t, fs, c, nil)
		mustSet(t, m, "ws", "OK", "ok-value")
		mustSet(t, m, "ws", "BAD", "bad-value")
		before, err := m.Keys(ctx, "ws")
		if err != nil || len(before) != 1 {
			t.Fatalf("keys before: %+v %v", before, err)
		}
		fs.broken = "BAD"
		res, err := m.RotateKey(ctx, "ws", nil)
		if !errors.Is(err, secrets.ErrIncomplete) || len(res.Left) != 1 || res.Left[0].Name != "BAD" || len(res.Disabled) != 0 || len(res.Deleted) != 0 {
			t.Fatalf("RotateKey with a version it cannot re-encrypt: %+v %v", res, err)
		}
		keys, err := m.Keys(ctx, "ws")
		if err != nil || len(keys) != 2 {
			t.Fatalf("keys after: %+v %v", keys, err)
		}
		for _, k := range keys {
			if !k.Enabled || k.Primary != (k.ID == res.Primary) {
				t.Fatalf("after a rotation that left a version, keys %+v: the former primary %d must stay enabled", keys, before[0].ID)
			}
		}
		cold := newManager(t, s, c, nil)
		if got := mustGet(t, cold, "ws", "BAD"); got != "bad-value" {
			t.Fatalf("BAD after the incomplete rotation: %q", got)
		}
		fs.broken = ""
		res, err = m.RotateKey(ctx, "ws", nil)
		if err != nil || !res.Resumed || len(res.Disabled) != 1 || res.Disabled[0] != before[0].ID {
			t.Fatalf("RotateKey once the fault is gone: %+v %v", res, err)
		}
		checkAll(t, newManager(t, s, c, nil), "ws", map[string]string{"OK": "ok-value", "BAD": "bad-value"})
	})
}

// TestDeleteFormerKeysWaitsForStale: former keys are deleted only once no
// version is under a key other than the primary: with one still under
// the former key (here, of a rotation interrupted before it re-encrypted
// anything), it fails with ErrIncomplete, deletes nothing, and the value
// still reads; after the rotation finishes, the former key is deleted.
func TestDeleteFormerKeysWaitsForStale(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		c := newCipher(t)
		m := newManager(t, s, c, nil)
		mustSet(t, m, "ws", "A", "value-a")
		former, err := m.Keys(context.Background(), "ws")
		if err != nil || len(former) != 1 {
			t.Fatalf("keys: %+v %v", former, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		_, err = m.RotateKey(ctx, "ws", func(int, int) { cancel() })
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted RotateKey: %v", err)
		}
		if n := staleCount(t, s, "ws", primaryOf(t, m, "ws")); n != 1 {
			t.Fatalf("%d versions under the former key, want 1", n)
		}
		ctx = context.Background()
		deleted, err := secrets.DeleteFormerKeys(ctx, m, "ws", 0)
		if !errors.Is(err, secrets.ErrIncomplete) || len(deleted) != 0 {
			t.Fatalf("DeleteFormerKeys with a version under the former key: %v %v", deleted, err)
		}
		if keys, err := m.Keys(ctx, "ws"); err != nil || len(keys) != 2 {
			t.Fatalf("keys after the refusal: %+v %v", keys, err)
		}
		if got := mustGet(t, newManager(t, s, c, nil), "ws", "A"); got != "value-a" {
			t.Fatalf("A after the refusal: %q", got)
		}
		if _, err := m.RotateKey(ctx, "ws", nil); err != nil {
			t.Fatal(err)
		}
		deleted, err = secrets.DeleteFormerKeys(ctx, m, "ws", 0)
		if err != nil || len(deleted) != 1 || deleted[0] != former[0].ID {
			t.Fatalf("DeleteFormerKeys once nothing is under the former key: %v %v", deleted, err)
		}
		if got := mustGet(t, newManager(t, s, c, nil), "ws", "A"); got != "value-a" {
			t.Fatalf("A after the deletion: %q", got)
		}
	})
}

// primaryOf returns the ID of ws's primary data key.
func primaryOf(t *testing.T, m *secrets.Manager, ws string) uint32 {
	t.Helper()
	keys, err := m.Keys(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Primary {
			return k.ID
		}
	}
	t.Fatalf("no primary among %+v", keys)
	return 0
}

// TestRetireMasterKeyInUseOne: a master key that still wraps exactly one
// workspace key is not retired, and the refusal says how many: one.
func TestRetireMasterKeyInUseOne(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		oldKey, newKey := newCipher(t), newCipher(t)
		mustSet(t, newManager(t, s, oldKey, nil), "ws", "A", "value-a")
		moving := newManager(t, s, newKey, &secrets.Config{DecryptOnly: []secrets.Cipher{oldKey}, AddMasterKey: true})
		err := moving.RetireMasterKey(ctx, oldKey.ID())
		var mk *secrets.MasterKeyError
		if !errors.As(err, &mk) || mk.ID != oldKey.ID() || mk.InUse != 1 {
			t.Fatalf("retiring a key that wraps one workspace key: %v (%+v)", err, mk)
		}
		if keys, err := s.MasterKeys(ctx); err != nil || len(keys) != 2 || !keys[0].Retired.IsZero() || !keys[1].Retired.IsZero() {
			t.Fatalf("the refused retirement retired: %+v %v", keys, err)
		}
	})
}
