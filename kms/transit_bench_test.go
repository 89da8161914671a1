package kms_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// unwraps counts a Cipher's Decrypt calls: each is one workspace-key
// unwrap, a KMS request for Transit.
type unwraps struct {
	secrets.Cipher
	n atomic.Int64
}

func (u *unwraps) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	u.n.Add(1)
	return u.Cipher.Decrypt(ctx, ct, ad)
}

// BenchmarkEnvForColdTransit: EnvFor of a workspace whose key is not
// cached (a replica's first job for it, or one after KeyCacheTTL), with a
// Transit master key on a loopback OpenBao dev server against a local
// master key, in the same loop: each iteration times one cold EnvFor of
// each. The Managers keep one workspace key and alternate between two
// workspaces, so every call unwraps (checked). Memory store, N secrets of
// 48 bytes. x-local is the Transit time over the local time.
func BenchmarkEnvForColdTransit(b *testing.B) {
	bao := newOpenBao(b)
	transit := &unwraps{Cipher: bao.Cipher(b, bao.CreateTransitKey(b, newKeyName()))}
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		b.Fatal(err)
	}
	lc, err := secrets.NewLocalCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	local := &unwraps{Cipher: lc}
	ctx := context.Background()
	for _, n := range []int{10, 100} {
		managers := map[string]*secrets.Manager{}
		for name, c := range map[string]secrets.Cipher{"transit": transit, "local": local} {
			m, err := secrets.New(secrets.NewMemoryStore(), c, &secrets.Config{KeyCacheSize: 1})
			if err != nil {
				b.Fatal(err)
			}
			for _, ws := range []string{"ws-a", "ws-b"} {
				for i := range n {
					if _, err := m.Set(ctx, ws, fmt.Sprintf("SECRET_%04d", i), []byte(fmt.Sprintf("%048d", i)), nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			managers[name] = m
		}
		next := 0 // the workspace not cached: kept across the runs of b.Loop
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			var transitT, localT time.Duration
			t0, l0 := transit.n.Load(), local.n.Load()
			i := 0
			for b.Loop() {
				ws := [2]string{"ws-a", "ws-b"}[next%2]
				next++
				i++
				start := time.Now()
				if env, err := managers["transit"].EnvFor(ctx, ws); err != nil || len(env) != n {
					b.Fatalf("transit: %d %v", len(env), err)
				}
				mid := time.Now()
				if env, err := managers["local"].EnvFor(ctx, ws); err != nil || len(env) != n {
					b.Fatalf("local: %d %v", len(env), err)
				}
				transitT += mid.Sub(start)
				localT += time.Since(mid)
			}
			if got := transit.n.Load() - t0; got != int64(i) {
				b.Fatalf("%d Transit unwraps in %d calls: not cold", got, i)
			}
			if got := local.n.Load() - l0; got != int64(i) {
				b.Fatalf("%d local unwraps in %d calls: not cold", got, i)
			}
			b.ReportMetric(float64(transitT.Nanoseconds())/float64(i), "transit-ns/op")
			b.ReportMetric(float64(localT.Nanoseconds())/float64(i), "local-ns/op")
			b.ReportMetric(float64(transitT)/float64(localT), "x-local")
		})
	}
}
