package secrets_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// benchRows is how many secret rows the scale benchmarks load:
// SECRETS_BENCH_ROWS (scripts/bench sets 1,000,000), else 20,000, so that
// CI's single pass stays quick.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("SECRETS_BENCH_ROWS")); err == nil && n >= 1000 {
		return n
	}
	return 20000
}

// loadWorkspaces fills a Postgres store with n workspaces of per secrets
// each, as a Manager would have written them (real wrapped keys, real
// ciphertexts bound to their rows, a ledger entry each), but through
// COPY, which is far faster than a million Sets.
func loadWorkspaces(b *testing.B, db *sqlx.DB, s *secrets.PostgresStore, c secrets.Cipher, prefix string, n, per int) {
	b.Helper()
	ctx := context.Background()
	// Keys and ciphertexts come from a Manager over a memory store, one
	// workspace at a time, then are copied in bulk.
	tx, err := db.Beginx()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	q := pq.QuoteIdentifier(s.Schema())
	cpSecrets, err := tx.Prepare(`COPY ` + q + `.secrets (workspace, secret_id, name_key, name, revision, created, created_by,
		updated, updated_by, version, flags, format, ciphertext, key_id, env_size, written, written_by) FROM STDIN`)
	if err != nil {
		b.Fatal(err)
	}
	var rows [][]any
	var keys []secrets.WrappedKey
	val := []byte(fmt.Sprintf("%0*d", benchValueSize, 5))
	for w := range n {
		ws := fmt.Sprintf("%s-%06d", prefix, w)
		mem := secrets.NewMemoryStore()
		m, err := secrets.New(mem, c, &secrets.Config{MaxEnvBytes: -1, MaxSecrets: -1, AuditReads: secrets.AuditWritesOnly})
		if err != nil {
			b.Fatal(err)
		}
		for i := range per {
			if _, err := m.Set(ctx, ws, fmt.Sprintf("SECRET_%04d", i), val, nil); err != nil {
				b.Fatal(err)
			}
		}
		es, _ := mem.List(ctx, ws, secrets.ListQuery{Limit: per, Values: true})
		for _, e := range es {
			v := e.Current
			rows = append(rows, []any{e.Workspace, e.SecretID, lower(e.Name), e.Name, e.Revision, e.Created, e.CreatedBy,
				e.Updated, e.UpdatedBy, v.Version, 0, v.Format, v.Ciphertext, int64(v.KeyID), v.EnvSize, v.Written, v.WrittenBy})
		}
		k, _ := mem.Key(ctx, ws)
		keys = append(keys, k)
		if len(rows) >= 50000 || w == n-1 {
			for _, r := range rows {
				if _, err := cpSecrets.Exec(r...); err != nil {
					b.Fatal(err)
				}
			}
			rows = rows[:0]
		}
	}
	if _, err := cpSecrets.Exec(); err != nil {
		b.Fatal(err)
	}
	cpSecrets.Close()
	cpKeys, err := tx.Prepare(`COPY ` + q + `.workspace_keys (workspace, cipher_id, wrapped, generation, updated) FROM STDIN`)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		if _, err := cpKeys.Exec(k.Workspace, k.CipherID, k.Ciphertext, 1, k.Updated); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := cpKeys.Exec(); err != nil {
		b.Fatal(err)
	}
	cpKeys.Close()
	for _, stmt := range []string{
		`INSERT INTO ` + q + `.versions (workspace, secret_id, version, name, flags, format, ciphertext, key_id, env_size, written, written_by)
			SELECT workspace, secret_id, version, name, flags, format, ciphertext, key_id, env_size, written, written_by FROM ` + q + `.secrets
			WHERE workspace LIKE '` + prefix + `-%'`,
		`INSERT INTO ` + q + `.ledger (workspace, secret_id, state, at, name, version, write_only)
			SELECT workspace, secret_id, 1, written, name, version, false FROM ` + q + `.secrets WHERE workspace LIKE '` + prefix + `-%'`,
		`INSERT INTO ` + q + `.workspaces (workspace, env_size, state, key_gen) SELECT workspace, sum(env_size), 1, 1 FROM ` + q + `.secrets
			WHERE workspace LIKE '` + prefix + `-%' GROUP BY workspace`,
		`SELECT setval('` + q + `.states', 1)`,
	} {
		if _, err := tx.Exec(stmt); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	for _, t := range []string{"secrets", "versions", "workspaces", "workspace_keys", "ledger"} {
		db.MustExec("ANALYZE " + q + "." + t)
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// BenchmarkScale: EnvFor and Set on a workspace of 100 secrets in a table
// of 1,000 rows against the same on a table of benchRows() rows
// (1,000,000 with scripts/bench), alternated in one run. x-floor is the
// large table's time over the small one's.
func BenchmarkScale(b *testing.B) {
	db := pgDB(b)
	c := newCipher(b)
	small, big := newPGStore(b, db), newPGStore(b, db)
	start := time.Now()
	loadWorkspaces(b, db, small, c, "small", 10, 100)
	loadWorkspaces(b, db, big, c, "big", benchRows()/100, 100)
	b.Logf("loaded %d + %d rows in %v", 1000, benchRows(), time.Since(start).Round(time.Millisecond))
	cfg := &secrets.Config{MaxEnvBytes: -1, MaxSecrets: -1, AuditReads: secrets.AuditWritesOnly, KeyCacheSize: 100000, AddMasterKey: true}
	ms, mb := newManager(b, small, c, cfg), newManager(b, big, c, cfg)
	ctx := context.Background()
	// The workspace read is in the middle of the big table.
	wsSmall, wsBig := "small-000005", fmt.Sprintf("big-%06d", benchRows()/200)
	for _, m := range []*secrets.Manager{ms, mb} {
		for _, ws := range []string{wsSmall, wsBig} {
			m.EnvFor(ctx, ws) // warm the key caches
		}
	}
	b.Run("EnvFor", func(b *testing.B) {
		compare(b, func() error {
			_, err := mb.EnvFor(ctx, wsBig)
			return err
		}, func() error {
			_, err := ms.EnvFor(ctx, wsSmall)
			return err
		})
	})
	val := []byte(fmt.Sprintf("%0*d", benchValueSize, 6))
	b.Run("Set", func(b *testing.B) {
		compare(b, func() error {
			_, err := mb.Set(ctx, wsBig, "SECRET_0042", val, nil)
			return err
		}, func() error {
			_, err := ms.Set(ctx, wsSmall, "SECRET_0042", val, nil)
			return err
		})
	})
}

// BenchmarkEnvForColdKey: EnvFor of 100 secrets when the workspace key is
// not cached (one master-key unwrap added; with a KMS, add its round
// trip), against the warm path.
func BenchmarkEnvForColdKey(b *testing.B) {
	db := pgDB(b)
	s := newPGStore(b, db)
	c := newCipher(b)
	warm := newManager(b, s, c, &secrets.Config{MaxEnvBytes: -1, MaxSecrets: -1, AuditReads: secrets.AuditWritesOnly})
	// A cache of one entry, alternated between two workspaces: every call
	// misses.
	cold := newManager(b, s, c, &secrets.Config{MaxEnvBytes: -1, MaxSecrets: -1, AuditReads: secrets.AuditWritesOnly, KeyCacheSize: 1})
	fill(b, warm, "ws-a", 100)
	fill(b, warm, "ws-b", 100)
	ctx := context.Background()
	var i atomic.Int64
	compare(b, func() error {
		ws := "ws-a"
		if i.Add(1)%2 == 0 {
			ws = "ws-b"
		}
		_, err := cold.EnvFor(ctx, ws)
		return err
	}, func() error {
		_, err := warm.EnvFor(ctx, "ws-a")
		return err
	})
}

// BenchmarkSetConcurrent: 16 editors setting secrets of their own
// workspaces at once, against 16 concurrent plain INSERTs of ciphertexts
// of the same size. Compare the two sub-benchmarks' ns/op.
func BenchmarkSetConcurrent(b *testing.B) {
	db := pgPools[0].open(b, 16) // a pool sized for 16 writers, as a host would

	s := newPGStore(b, db)
	m := newManager(b, s, newCipher(b), nil)
	ctx := context.Background()
	for w := range 16 {
		fill(b, m, fmt.Sprint("ws-", w), 1)
	}
	table := pq.QuoteIdentifier(s.Schema()) + ".floor_insert"
	db.MustExec("CREATE TABLE " + table + " (id bigserial PRIMARY KEY, workspace text, name text, ciphertext bytea)")
	insert, err := db.Preparex("INSERT INTO " + table + " (workspace, name, ciphertext) VALUES ($1, $2, $3)")
	if err != nil {
		b.Fatal(err)
	}
	defer insert.Close()
	val := []byte(fmt.Sprintf("%0*d", benchValueSize, 9))
	ct := make([]byte, benchValueSize+33)
	parallel := max(1, 16/runtime.GOMAXPROCS(0))
	b.Run("lib", func(b *testing.B) {
		var next atomic.Int64
		b.SetParallelism(parallel)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ws := fmt.Sprint("ws-", next.Add(1)%16)
			for pb.Next() {
				if _, err := m.Set(ctx, ws, "SECRET_0000", val, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("floor", func(b *testing.B) {
		b.SetParallelism(parallel)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := insert.ExecContext(ctx, "ws", "SECRET_0000", ct); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkMemoryStoreFootprint: the heap a MemoryStore holding
// benchRows() secrets (one version each) takes, against the raw bytes of
// their ciphertexts (x-raw).
func BenchmarkMemoryStoreFootprint(b *testing.B) {
	n := benchRows()
	ctx := context.Background()
	c := newCipher(b)
	m := newManager(b, secrets.NewMemoryStore(), c, &secrets.Config{MaxEnvBytes: -1, MaxSecrets: -1})
	// One real ciphertext; the store copies it into each row.
	fill(b, m, "seed", 1)
	var before, after runtime.MemStats
	for range b.N {
		s := secrets.NewMemoryStore()
		runtime.GC()
		runtime.ReadMemStats(&before)
		raw := 0
		for i := range n {
			ws := fmt.Sprintf("ws-%05d", i/100)
			id, name := fmt.Sprintf("%032x", i), fmt.Sprintf("SECRET_%04d", i%100)
			v := secrets.Version{Workspace: ws, SecretID: id, Name: name, Version: 1, Format: 2,
				Ciphertext: make([]byte, benchValueSize+33), KeyID: 1, EnvSize: int64(benchValueSize + 13),
				Written: time.Now(), WrittenBy: "user:1"}
			e := secrets.Entry{Workspace: ws, SecretID: id, Name: name, Revision: 1, Created: time.Now(), CreatedBy: "user:1",
				Updated: time.Now(), UpdatedBy: "user:1", Current: v}
			raw += len(v.Ciphertext)
			if err := s.Put(ctx, secrets.Write{Entry: e, NewVersion: true, Keep: 10}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(raw), "x-raw")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/secret")
		runtime.KeepAlive(s)
	}
}

// BenchmarkRotateKey: rotating the data key of a workspace of 1,000
// secrets with 3 versions each (3,000 versions re-encrypted per rotation),
// on Postgres. Reports versions re-encrypted per second.
func BenchmarkRotateKey(b *testing.B) {
	db := pgDB(b)
	s := newPGStore(b, db)
	m := newManager(b, s, newCipher(b), &secrets.Config{MaxEnvBytes: -1, MaxSecrets: -1, AuditReads: secrets.AuditWritesOnly})
	ctx := context.Background()
	val := []byte(fmt.Sprintf("%0*d", benchValueSize, 3))
	for i := range 1000 {
		for range 3 {
			if _, err := m.Set(ctx, "ws", fmt.Sprintf("SECRET_%04d", i), val, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	total := 0
	start := time.Now()
	for range b.N {
		res, err := m.RotateKey(ctx, "ws", nil)
		if err != nil {
			b.Fatal(err)
		}
		total += res.Reencrypted
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "versions/s")
}
