package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestBudgetWholeChangeOrder: a whole-workspace change whose result fits
// Config.MaxEnvBytes goes through whatever the order of its secrets:
// values swapped between A (first by name) and Z through Import, Apply
// and RestoreAt (the stores check the budget write by write, and each of
// these was refused halfway: a data-loss trial).
func TestBudgetWholeChangeOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		m := newManager(t, s, newCipher(t), &secrets.Config{MaxEnvBytes: 200, Now: func() time.Time { return now }})
		big, small := strings.Repeat("b", 150), "s"
		mustSet(t, m, "ws", "A", big)
		mustSet(t, m, "ws", "Z", small)
		at := now
		now = now.Add(time.Minute)

		swap := func(a, z string) []byte { return []byte("A=" + a + "\nZ=" + z + "\n") }
		if _, err := m.Import(ctx, "ws", swap(small, big), nil); err != nil {
			t.Fatalf("Import of the swapped values (168 of 200 bytes): %v", err)
		}
		checkAll(t, m, "ws", map[string]string{"A": small, "Z": big})
		now = now.Add(time.Minute)
		d, err := m.Diff(ctx, "ws", swap(big, small), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Apply(ctx, "ws", swap(big, small), d); err != nil {
			t.Fatalf("Apply of the swapped values: %v", err)
		}
		checkAll(t, m, "ws", map[string]string{"A": big, "Z": small})
		now = now.Add(time.Minute)
		if _, err := m.Import(ctx, "ws", swap(small, big), nil); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
		p, err := m.PreviewRestoreAt(ctx, "ws", at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.RestoreAt(ctx, "ws", p); err != nil {
			t.Fatalf("RestoreAt to the values before the swaps: %v", err)
		}
		checkAll(t, m, "ws", map[string]string{"A": big, "Z": small})
		// Growing past the budget is still refused, whatever the order.
		if _, err := m.Import(ctx, "ws", swap(big, big), nil); err == nil {
			t.Fatal("an Import to 308 of 200 bytes went through")
		}
	})
}

// TestPreviewRestoreCountsSecrets: PreviewRestore makes no plan that
// Restore would refuse for Config.MaxSecrets (a data-loss trial: the
// preview listed three secrets to add to a workspace of two, of four at
// most; the restore failed).
func TestPreviewRestoreCountsSecrets(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		src := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
		for _, n := range []string{"A", "B", "C"} {
			mustSet(t, src, "src", n, "value-"+n)
		}
		doc, err := src.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		m := newManager(t, s, newCipher(t), &secrets.Config{MaxSecrets: 4})
		mustSet(t, m, "ws", "X", "x-value")
		mustSet(t, m, "ws", "Y", "y-value")
		if p, err := m.PreviewRestore(ctx, "ws", doc, nil); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("PreviewRestore of 3 secrets into 2 of 4 at most: %+v %v, want ErrTooLarge", p, err)
		}
		if _, err := m.Delete(ctx, "ws", "Y", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.PreviewRestore(ctx, "ws", doc, nil); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("PreviewRestore with a deleted secret, which counts: %v, want ErrTooLarge", err)
		}
		src.Delete(ctx, "src", "C", nil)
		// A withheld write-only value, skipped, is not counted (a review).
		if _, err := src.Set(ctx, "src", "W", []byte("w-value"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
			t.Fatal(err)
		}
		doc, err = src.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		skip := &secrets.RestoreOptions{SkipWithheld: true}
		p, err := m.PreviewRestore(ctx, "ws", doc, skip)
		if err != nil || len(p.Skipped) != 1 {
			t.Fatalf("PreviewRestore of 2 into 2 of 4, one withheld skipped: %+v %v", p, err)
		}
		if _, err := m.Restore(ctx, "ws", doc, p, skip); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPreviewRestoreAtBudget: PreviewRestoreAt makes no plan that
// RestoreAt would refuse for Config.MaxEnvBytes (a data-loss trial: an
// undelete, and a secret whose version then was pruned and stays at its
// larger current size, made a plan whose apply failed), and one that
// fits goes through.
func TestPreviewRestoreAtBudget(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		m := newManager(t, s, newCipher(t), &secrets.Config{MaxEnvBytes: 1500, KeepVersions: 2, Now: func() time.Time { return now }})
		big := strings.Repeat("x", 700)
		mustSet(t, m, "ws", "A", big)
		mustSet(t, m, "ws", "B", "small-1")
		mustSet(t, m, "ws", "C", big[:250])
		at := now
		now = now.Add(time.Minute)
		if _, err := m.Delete(ctx, "ws", "A", nil); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "ws", "B", big+"1")
		mustSet(t, m, "ws", "B", big+"2") // B's version then is pruned
		if p, err := m.PreviewRestoreAt(ctx, "ws", at); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("PreviewRestoreAt to A 704 + B 705 + C 254 bytes of 1500: %+v %v, want ErrTooLarge", p, err)
		}
		// Once it fits, the plan is made and applies.
		mustSet(t, m, "ws", "B", "b") // B stays at its current size: now small
		p, err := m.PreviewRestoreAt(ctx, "ws", at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.RestoreAt(ctx, "ws", p); err != nil {
			t.Fatalf("RestoreAt of a plan that fits: %v", err)
		}
	})
}
