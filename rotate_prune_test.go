package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestRotatePrunesKeys: RotateKey keeps the Config.KeepFormerKeys most
// recent former keys, disabled, and deletes older ones, which no version
// uses once a rotation completes; a negative count keeps them all.
func TestRotatePrunesKeys(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		c := newCipher(t)
		for _, tc := range []struct {
			keep int
			want int // former keys left after four rotations
		}{{0, 2}, {1, 1}, {-1, 4}} {
			ws := fmt.Sprintf("ws-keep-%d", tc.keep)
			m := newManager(t, s, c, &secrets.Config{KeepFormerKeys: tc.keep})
			want := fillHistory(t, m, ws, 5)
			var ids []uint32 // every key, oldest first
			keys, err := m.Keys(ctx, ws)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, keys[0].ID)
			var deleted []uint32
			for range 4 {
				res, err := m.RotateKey(ctx, ws, nil)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, res.Primary)
				deleted = append(deleted, res.Deleted...)
			}
			keys, err = m.Keys(ctx, ws)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint32
			for _, k := range keys {
				got = append(got, k.ID)
				if k.Primary != (k.ID == ids[4]) || k.Enabled != k.Primary {
					t.Errorf("keep %d: key %+v", tc.keep, k)
				}
			}
			// The newest former keys stay, in the keyset's order.
			if d := cmp.Diff(ids[4-tc.want:], got); d != "" {
				t.Errorf("keep %d: keys (-want +got):\n%s", tc.keep, d)
			}
			if d := cmp.Diff(ids[:4-tc.want], deleted, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("keep %d: RotateResult.Deleted (-want +got):\n%s", tc.keep, d)
			}
			evs, err := m.Events(ctx, secrets.EventQuery{Workspace: ws, Action: secrets.ActionRotate, Newest: true, Limit: 1})
			if err != nil || len(evs) != 1 || (len(deleted) > 0) != strings.Contains(evs[0].Detail, "deleted") {
				t.Errorf("keep %d: the last rotation's event: %+v %v", tc.keep, evs, err)
			}
			for _, id := range deleted {
				if err := m.SetKeyEnabled(ctx, ws, id, true); !errors.Is(err, secrets.ErrNotFound) {
					t.Errorf("keep %d: enabling deleted key %d: %v", tc.keep, id, err)
				}
			}
			checkAll(t, m, ws, want)
			checkAll(t, newManager(t, s, c, nil), ws, want)
		}
	})
}
