package secrets_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/dataspace/secrets"
)

// TestRotateAfterFormerKeyEnabled: a former key enabled again (as the
// README says to, to read rows restored from a backup) does not turn the
// next RotateKey into the end of an earlier rotation that keeps the
// primary: a kill switch of the primary adds a new key, moves every
// version to it and disables the rest; and Destroy with DestroyRotates
// leaves only a new key, not the one the destroyed value was sealed with
// (a data-loss trial: both kept the primary and reported success).
func TestRotateAfterFormerKeyEnabled(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		c := newCipher(t)
		m := newManager(t, s, c, &secrets.Config{DestroyRotates: true})
		mustSet(t, m, "ws", "A", "value-a1")
		mustSet(t, m, "ws", "A", "value-a2")
		r1, err := m.RotateKey(ctx, "ws", nil)
		if err != nil || len(r1.Disabled) != 1 {
			t.Fatalf("first rotation: %+v %v", r1, err)
		}
		if err := m.SetKeyEnabled(ctx, "ws", r1.Disabled[0], true); err != nil {
			t.Fatal(err)
		}
		leaked := r1.Primary
		r2, err := m.RotateKey(ctx, "ws", nil)
		if err != nil || r2.Primary == leaked || !slices.Contains(r2.Disabled, leaked) || !slices.Contains(r2.Disabled, r1.Disabled[0]) || r2.Reencrypted != 2 {
			t.Fatalf("the kill switch of key %d after a former key was enabled: %+v %v", leaked, r2, err)
		}
		keys, err := m.Keys(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.Enabled != (k.ID == r2.Primary) {
				t.Fatalf("keys after the kill switch: %+v", keys)
			}
		}
		cold := newManager(t, s, c, nil)
		for v, want := range map[int64]string{1: "value-a1", 2: "value-a2"} {
			if sec, err := cold.GetVersion(ctx, "ws", "A", v); err != nil || string(sec.Value.Reveal()) != want {
				t.Fatalf("A version %d after the kill switch: %v", v, err)
			}
		}

		// Destroy with DestroyRotates, a former key enabled again.
		mustSet(t, m, "ws", "GONE", "destroyed-value-3318")
		if err := m.SetKeyEnabled(ctx, "ws", leaked, true); err != nil {
			t.Fatal(err)
		}
		if err := m.Destroy(ctx, "ws", "GONE", nil); err != nil {
			t.Fatal(err)
		}
		keys, err = m.Keys(ctx, "ws")
		if err != nil || len(keys) != 1 || !keys[0].Primary || keys[0].ID == r2.Primary || keys[0].ID == leaked {
			t.Fatalf("keys after Destroy with DestroyRotates, key %d sealed the value: %+v %v", r2.Primary, keys, err)
		}
		checkAll(t, newManager(t, s, c, nil), "ws", map[string]string{"A": "value-a2"})
	})
}

// TestRotateFinishesCutOffRotation: with versions under an enabled key
// other than the primary (a rotation cut off here; rows restored under a
// former key enabled again make the same state, which the README says),
// RotateKey moves them to the current primary first (Resumed), and the
// next call replaces the primary.
func TestRotateFinishesCutOffRotation(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		c := newCipher(t)
		m := newManager(t, s, c, nil)
		mustSet(t, m, "ws", "A", "value-a")
		// A rotation cut off after it added its key: the version is still
		// under the former key, which stays enabled.
		cctx, cancel := context.WithCancel(ctx)
		_, err := m.RotateKey(cctx, "ws", func(int, int) { cancel() })
		cancel()
		if err == nil {
			t.Fatal("the cut-off rotation finished")
		}
		cur := primaryOf(t, m, "ws")
		r, err := m.RotateKey(ctx, "ws", nil)
		if err != nil || !r.Resumed || r.Primary != cur || r.Reencrypted != 1 {
			t.Fatalf("the rotation after one cut off: %+v %v", r, err)
		}
		r2, err := m.RotateKey(ctx, "ws", nil)
		if err != nil || r2.Resumed || r2.Primary == cur || !slices.Contains(r2.Disabled, cur) {
			t.Fatalf("the next rotation: %+v %v", r2, err)
		}
		checkAll(t, newManager(t, s, c, nil), "ws", map[string]string{"A": "value-a"})
	})
}

// TestKillSwitchPastUnmovableVersions: versions that no rotation can move
// (under a disabled key) do not make every later RotateKey finish "an
// earlier rotation" with the primary it found: each call replaces the
// primary (a review: after one rotation left a version, the primary was
// kept for good).
func TestKillSwitchPastUnmovableVersions(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "ws", "A", "value-a")
		k1 := primaryOf(t, m, "ws")
		cctx, cancel := context.WithCancel(ctx)
		_, err := m.RotateKey(cctx, "ws", func(int, int) { cancel() })
		cancel()
		if err == nil {
			t.Fatal("the cut-off rotation finished")
		}
		// k1, thought compromised, disabled: A under it cannot move.
		if err := m.SetKeyEnabled(ctx, "ws", k1, false); err != nil {
			t.Fatal(err)
		}
		prev := primaryOf(t, m, "ws")
		for i := range 3 {
			r, err := m.RotateKey(ctx, "ws", nil)
			if !errors.Is(err, secrets.ErrIncomplete) || r.Resumed || r.Primary == prev || len(r.Left) != 1 {
				t.Fatalf("rotation %d past a version under a disabled key: %+v %v", i, r, err)
			}
			prev = r.Primary
		}
	})
}
