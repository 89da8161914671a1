package secrets_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dataspace/secrets"
)

// BenchmarkStatementModes: EnvFor (100 secrets, default configuration)
// and Set with the default statements (over lib/pq a read is a simple
// query with its arguments written in, a write an unnamed statement with
// parameters; over pgx as its default_query_exec_mode makes them) against
// PostgresConfig.PreparedStatements on the same pool, interleaved. The
// ratio (x-floor) is the default's time over the prepared one's: what a
// host on a direct connection gives up by not setting it.
//
// Since reads became functions planned once per connection (stop 29;
// BENCHMARKS.md): lib/pq EnvFor 1.09–1.12–1.15 and Set 1.42–1.44–1.85,
// with binary_parameters=yes 1.06–1.07–1.09 and 1.18–1.21–1.24.
//
// Measured when choosing, before that (3 runs of 1 s on 2 shared cores,
// ratio min–median–max): lib/pq EnvFor 1.53–1.63–1.89 and Set 0.95–1.08–1.15 (two
// round trips); lib/pq with binary_parameters=yes EnvFor 1.10–1.49–1.71
// and Set 0.95–1.26–2.02; each statement in a transaction of its own
// over lib/pq (no longer an option) EnvFor 2.16–2.72–2.73 and Set
// 0.99–1.35–1.66; pgx with its default statement cache 0.92–0.97–0.97 and
// 0.87–0.94–0.96, with default_query_exec_mode=cache_describe
// 0.85–0.94–0.99 and 0.97–1.03–1.04, with exec 1.00–1.02–1.19 and
// 0.97–1.05–1.06.
func BenchmarkStatementModes(b *testing.B) {
	ctx := context.Background()
	c := newCipher(b)
	val := []byte(fmt.Sprintf("%0*d", benchValueSize, 7))
	for _, pool := range []pgPool{
		{driver: "postgres"},
		{driver: "postgres", params: "binary_parameters=yes"},
		{driver: "pgx"},
		{driver: "pgx", params: "default_query_exec_mode=cache_describe"},
		{driver: "pgx", params: "default_query_exec_mode=exec"},
	} {
		db := pool.open(b, 4)
		s := newPGStore(b, db)
		prepared, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: s.Schema(), PreparedStatements: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { prepared.Close() })
		m, pm := newManager(b, s, c, nil), newManager(b, prepared, c, nil)
		fill(b, m, "ws", 100)
		for _, mg := range []*secrets.Manager{m, pm} {
			if _, err := mg.EnvFor(ctx, "ws"); err != nil {
				b.Fatal(err)
			}
		}
		name := pool.String()
		b.Run(name+"/EnvFor", func(b *testing.B) {
			compare(b, func() error {
				_, err := m.EnvFor(ctx, "ws")
				return err
			}, func() error {
				_, err := pm.EnvFor(ctx, "ws")
				return err
			})
		})
		b.Run(name+"/Set", func(b *testing.B) {
			compare(b, func() error {
				_, err := m.Set(ctx, "ws", "SECRET_0000", val, nil)
				return err
			}, func() error {
				_, err := pm.Set(ctx, "ws", "SECRET_0001", val, nil)
				return err
			})
		})
	}
}
