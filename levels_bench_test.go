package secrets_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// BenchmarkEnvForLevels: EnvFor of a workspace with two parent levels, 100
// secrets each, 20 of the workspace's names also set at both parents (the
// nearer value wins), default configuration, against the floor: one
// prepared SELECT of the same 300 rows plus plain AES-GCM of each.
// "one-level" compares EnvFor of a workspace without parents on a Manager
// that has a Config.Parents hook (which returns none) with the same call
// on a Manager without the hook: the cost of the feature for jobs that do
// not use it.
func BenchmarkEnvForLevels(b *testing.B) {
	db := pgDB(b)
	ctx := context.Background()
	c := newCipher(b)
	s := newPGStore(b, db)
	parents := map[string][]string{"bench-ws": {"bench-group", "bench-instance"}}
	hook := func(_ context.Context, ws string) ([]string, error) { return parents[ws], nil }
	m := newManager(b, s, c, &secrets.Config{Parents: hook})
	unaudited := newManager(b, s, c, &secrets.Config{Parents: hook, AuditReads: secrets.AuditWritesOnly})
	plainM := newManager(b, s, c, nil)
	val := make([]byte, benchValueSize)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	for level, ws := range []string{"bench-ws", "bench-group", "bench-instance"} {
		for i := range 100 {
			name := fmt.Sprintf("L%d_SECRET_%03d", level, i)
			if i < 20 {
				name = fmt.Sprintf("SHARED_%03d", i)
			}
			if _, err := plainM.Set(ctx, ws, name, val, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	fill(b, plainM, "bench-alone", 100)
	sch := pq.QuoteIdentifier(s.Schema())
	plain, err := db.Preparex(fmt.Sprintf(`SELECT secret_id, name, version, ciphertext FROM %s.secrets
		WHERE workspace = ANY($1) AND deleted IS NULL ORDER BY workspace, name COLLATE "C"`, sch))
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	levels := pq.Array([]string{"bench-ws", "bench-group", "bench-instance"})
	floorAEAD := newPlainAEAD(b, 300, benchValueSize)
	env, err := m.EnvFor(ctx, "bench-ws")
	if err != nil || len(env) != 260 {
		b.Fatalf("EnvFor of three levels: %d variables, %v", len(env), err)
	}
	b.Run("two-parents/300", func(b *testing.B) {
		compare(b, func() error {
			_, err := m.EnvFor(ctx, "bench-ws")
			return err
		}, func() error {
			return floorRead(ctx, plain, levels, floorAEAD)
		})
	})
	b.Run("two-parents-writes-only/300", func(b *testing.B) {
		compare(b, func() error {
			_, err := unaudited.EnvFor(ctx, "bench-ws")
			return err
		}, func() error {
			_, err := m.EnvFor(ctx, "bench-ws")
			return err
		})
	})
	b.Run("one-level/100", func(b *testing.B) {
		compare(b, func() error {
			_, err := m.EnvFor(ctx, "bench-alone")
			return err
		}, func() error {
			_, err := plainM.EnvFor(ctx, "bench-alone")
			return err
		})
	})
}
