package secrets_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// compare runs lib and floor alternately, b.N times each, and reports
// both times and their ratio. Interleaving them puts both under the same
// machine conditions, so the ratio is stable even when absolute times are
// not.
func compare(b *testing.B, lib, floor func() error) {
	b.Helper()
	b.ReportAllocs()
	var libT, floorT time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := lib(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := floor(); err != nil {
			b.Fatal(err)
		}
		libT += t1.Sub(t0)
		floorT += time.Since(t1)
	}
	b.ReportMetric(float64(libT.Nanoseconds())/float64(b.N), "lib-ns/op")
	b.ReportMetric(float64(floorT.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(libT)/float64(floorT), "x-floor")
}

// plainAEAD is the floor's crypto: AES-256-GCM from the standard library,
// with ciphertexts of the same sizes as the library's values.
type plainAEAD struct {
	aead cipher.AEAD
	cts  [][]byte
}

func newPlainAEAD(b *testing.B, n, size int) *plainAEAD {
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	p := &plainAEAD{aead: a}
	for range n {
		nonce := make([]byte, a.NonceSize())
		rand.Read(nonce)
		p.cts = append(p.cts, a.Seal(nonce, nonce, make([]byte, size), nil))
	}
	return p
}

func (p *plainAEAD) decryptAll() error {
	ns := p.aead.NonceSize()
	for _, ct := range p.cts {
		if _, err := p.aead.Open(nil, ct[:ns], ct[ns:], nil); err != nil {
			return err
		}
	}
	return nil
}

const benchValueSize = 48

func fill(b *testing.B, m *secrets.Manager, ws string, n int) {
	ctx := context.Background()
	val := make([]byte, benchValueSize)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	for i := range n {
		if _, err := m.Set(ctx, ws, fmt.Sprintf("SECRET_%04d", i), val, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// readModes are the two ways reads can be audited that the read
// benchmarks compare: the default (each read recorded in the statement
// that reads) and AuditWritesOnly.
var readModes = []struct {
	name string
	cfg  *secrets.Config
}{
	{"default", nil},
	{"writes-only", &secrets.Config{AuditReads: secrets.AuditWritesOnly}},
}

// BenchmarkEnvForPostgres: EnvFor with a warm key cache against one plain
// SELECT of the same rows plus plain AES-GCM decryption of each value:
// "default" with the default configuration (the read audited in the
// statement that reads), "writes-only" with AuditReads: AuditWritesOnly.
// The default runs also report the size of one inject event: event-B is
// the audit row (pg_column_size), audit-B/event the growth of the audit
// table with its indexes per event.
func BenchmarkEnvForPostgres(b *testing.B) {
	db := pgDB(b)
	ctx := context.Background()
	c := newCipher(b)
	for _, mode := range readModes {
		s := newPGStore(b, db)
		m := newManager(b, s, c, mode.cfg)
		sch := pq.QuoteIdentifier(s.Schema())
		// The floor reads what decryption needs (secret ID, name, version
		// for the associated data; the ciphertext), in the order EnvFor
		// returns, through a prepared statement, as the store does.
		plain, err := db.Preparex(fmt.Sprintf(`SELECT secret_id, name, version, ciphertext FROM %s.secrets
			WHERE workspace = $1 AND deleted IS NULL ORDER BY name COLLATE "C"`, sch))
		if err != nil {
			b.Fatal(err)
		}
		defer plain.Close()
		for _, n := range []int{10, 100, 1000} {
			ws := fmt.Sprint("bench-", n)
			fill(b, m, ws, n)
			floorAEAD := newPlainAEAD(b, n, benchValueSize)
			if _, err := m.EnvFor(ctx, ws); err != nil { // warm the key cache
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%d", mode.name, n), func(b *testing.B) {
				size := func() (events, bytes int64) {
					db.QueryRowx(fmt.Sprintf(`SELECT count(*), pg_total_relation_size('%s.audit') FROM %[1]s.audit`, sch)).Scan(&events, &bytes)
					return events, bytes
				}
				e0, b0 := size()
				compare(b, func() error {
					_, err := m.EnvFor(ctx, ws)
					return err
				}, func() error {
					return floorRead(ctx, plain, ws, floorAEAD)
				})
				if mode.cfg != nil {
					return
				}
				e1, b1 := size()
				var row float64
				db.Get(&row, fmt.Sprintf(`SELECT avg(pg_column_size(a.*)) FROM %s.audit a WHERE workspace = $1 AND action = 'inject'`, sch), ws)
				if e1 <= e0 {
					b.Fatalf("no inject event recorded (%d events before, %d after)", e0, e1)
				}
				b.ReportMetric(row, "event-B")
				b.ReportMetric(float64(b1-b0)/float64(e1-e0), "audit-B/event")
			})
		}
	}
}

// floorRead is the floor of a workspace read: the rows, then AES-GCM.
// ws is the statement's one argument: the workspace, or an array of them.
func floorRead(ctx context.Context, plain *sqlx.Stmt, ws any, floorAEAD *plainAEAD) error {
	rows, err := plain.QueryContext(ctx, ws)
	if err != nil {
		return err
	}
	var id, name string
	var version int64
	var ct []byte
	for rows.Next() {
		if err := rows.Scan(&id, &name, &version, &ct); err != nil {
			rows.Close()
			return err
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return floorAEAD.decryptAll()
}

// BenchmarkEnvForConcurrent: 16 goroutines calling EnvFor (default
// configuration, 100 secrets, 16 workspaces) against 16 goroutines doing
// the durable floor's read (with a one-row event committed synchronously)
// and the floor's read, each over a pool of 16 connections, as a host sizes
// it for 16 concurrent jobs. Compare the sub-benchmarks' ns/op: the
// floor's over the library's is the throughput ratio.
func BenchmarkEnvForConcurrent(b *testing.B) {
	db := pgPools[0].open(b, 16)
	s := newPGStore(b, db)
	c := newCipher(b)
	m := newManager(b, s, c, nil)
	ctx := context.Background()
	plain, err := db.Preparex(fmt.Sprintf(`SELECT secret_id, name, version, ciphertext FROM %s.secrets
		WHERE workspace = $1 AND deleted IS NULL ORDER BY name COLLATE "C"`, pq.QuoteIdentifier(s.Schema())))
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	for w := range 16 {
		fill(b, m, fmt.Sprint("ws-", w), 100)
		if _, err := m.EnvFor(ctx, fmt.Sprint("ws-", w)); err != nil {
			b.Fatal(err)
		}
	}
	parallel := max(1, 16/runtime.GOMAXPROCS(0))
	prepared, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: s.Schema(), PreparedStatements: true})
	if err != nil {
		b.Fatal(err)
	}
	defer prepared.Close()
	// "lib": the default configuration (unnamed statements, safe behind
	// PgBouncer); "lib-prepared": PostgresConfig.PreparedStatements, for
	// direct connections; "lib-unaudited": reads not audited
	// (AuditWritesOnly), against the floor's throughput.
	for _, lib := range []struct {
		name string
		m    *secrets.Manager
	}{{"lib", m}, {"lib-prepared", newManager(b, prepared, c, nil)},
		{"lib-unaudited", newManager(b, s, c, &secrets.Config{AuditReads: secrets.AuditWritesOnly})}} {
		lm := lib.m
		b.Run(lib.name, func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism(parallel)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ws := fmt.Sprint("ws-", next.Add(1)%16)
				for pb.Next() {
					if _, err := lm.EnvFor(ctx, ws); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	aead := newPlainAEAD(b, 100, benchValueSize) // GCM is safe for concurrent use
	// The durable floor: the read and a one-row event in one statement,
	// committed synchronously, as the default EnvFor's event is.
	durable := durableFloor(b, db, s)
	b.Run("durable-floor", func(b *testing.B) {
		var next atomic.Int64
		b.SetParallelism(parallel)
		b.RunParallel(func(pb *testing.PB) {
			ws := fmt.Sprint("ws-", next.Add(1)%16)
			for pb.Next() {
				if err := floorRead(ctx, durable, ws, aead); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("floor", func(b *testing.B) {
		var next atomic.Int64
		b.SetParallelism(parallel)
		b.RunParallel(func(pb *testing.PB) {
			ws := fmt.Sprint("ws-", next.Add(1)%16)
			for pb.Next() {
				if err := floorRead(ctx, plain, ws, aead); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkEnvForMemory: EnvFor on the memory store against a plain map
// read plus AES-GCM decryption of each value.
func BenchmarkEnvForMemory(b *testing.B) {
	m := newManager(b, secrets.NewMemoryStore(), newCipher(b), &secrets.Config{MaxEnvBytes: -1, AuditReads: secrets.AuditWritesOnly})
	ctx := context.Background()
	for _, n := range []int{10, 100, 1000} {
		ws := fmt.Sprint("bench-", n)
		fill(b, m, ws, n)
		floorAEAD := newPlainAEAD(b, n, benchValueSize)
		table := map[string][][]byte{ws: floorAEAD.cts}
		if _, err := m.EnvFor(ctx, ws); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			compare(b, func() error {
				_, err := m.EnvFor(ctx, ws)
				return err
			}, func() error {
				floorAEAD.cts = table[ws]
				return floorAEAD.decryptAll()
			})
		})
	}
}

// BenchmarkSetPostgres: Set (an update of one secret) against a plain
// INSERT of a ciphertext of the same size.
func BenchmarkSetPostgres(b *testing.B) {
	db := pgDB(b)
	s := newPGStore(b, db)
	m := newManager(b, s, newCipher(b), nil)
	ctx := context.Background()
	fill(b, m, "ws", 1)
	floorTable := pq.QuoteIdentifier(s.Schema()) + ".floor_insert"
	if _, err := db.Exec("CREATE TABLE " + floorTable + " (id bigserial PRIMARY KEY, workspace text, name text, ciphertext bytea)"); err != nil {
		b.Fatal(err)
	}
	insert, err := db.Preparex("INSERT INTO " + floorTable + " (workspace, name, ciphertext) VALUES ($1, $2, $3)")
	if err != nil {
		b.Fatal(err)
	}
	defer insert.Close()
	ct := make([]byte, benchValueSize+33)
	val := []byte(fmt.Sprintf("%0*d", benchValueSize, 42))
	compare(b, func() error {
		_, err := m.Set(ctx, "ws", "SECRET_0000", val, nil)
		return err
	}, func() error {
		_, err := insert.ExecContext(ctx, "ws", "SECRET_0000", ct)
		return err
	})
}

// unaudited drops the audit events of writes: the baseline for measuring
// what auditing costs (a Manager never writes without them).
type unaudited struct{ secrets.Store }

func (u unaudited) Put(ctx context.Context, ws ...secrets.Write) error {
	for i := range ws {
		ws[i].Audit = nil
	}
	return u.Store.Put(ctx, ws...)
}

func (u unaudited) Env(ctx context.Context, ws string, q secrets.EnvQuery) (secrets.Snapshot, error) {
	q.Audit = nil
	return u.Store.Env(ctx, ws, q)
}

// BenchmarkAuditOverhead: Set and EnvFor (100 secrets) on Postgres with
// auditing (the write's event in its statement; a recorded inject event
// with 100 fingerprints) against the same calls without it.
func BenchmarkAuditOverhead(b *testing.B) {
	db := pgDB(b)
	s := newPGStore(b, db)
	c := newCipher(b)
	audited := newManager(b, s, c, &secrets.Config{MaxEnvBytes: -1, AuditKey: newAuditKey(b)})
	plain := newManager(b, unaudited{s}, c, &secrets.Config{MaxEnvBytes: -1, AuditReads: secrets.AuditWritesOnly})
	ctx := context.Background()
	fill(b, audited, "ws", 100)
	val := []byte(fmt.Sprintf("%0*d", benchValueSize, 7))
	b.Run("Set", func(b *testing.B) {
		compare(b, func() error {
			_, err := audited.Set(ctx, "ws", "SECRET_0000", val, nil)
			return err
		}, func() error {
			_, err := plain.Set(ctx, "ws", "SECRET_0001", val, nil)
			return err
		})
	})
	b.Run("EnvFor", func(b *testing.B) {
		compare(b, func() error {
			_, err := audited.EnvFor(ctx, "ws")
			return err
		}, func() error {
			_, err := plain.EnvFor(ctx, "ws")
			return err
		})
	})
}

// BenchmarkEnvForDurable: EnvFor in the default configuration, whose
// inject event is flushed before it returns, against the durable floor:
// one prepared statement that reads the same rows and inserts a one-row
// event, committed synchronously, plus plain AES-GCM of each value. It is
// the least a durable, audited read can do.
func BenchmarkEnvForDurable(b *testing.B) {
	db := pgDB(b)
	ctx := context.Background()
	s := newPGStore(b, db)
	m := newManager(b, s, newCipher(b), nil)
	floor := durableFloor(b, db, s)
	for _, n := range []int{10, 100, 1000} {
		ws := fmt.Sprint("durable-", n)
		fill(b, m, ws, n)
		floorAEAD := newPlainAEAD(b, n, benchValueSize)
		if _, err := m.EnvFor(ctx, ws); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			compare(b, func() error {
				_, err := m.EnvFor(ctx, ws)
				return err
			}, func() error {
				return floorRead(ctx, floor, ws, floorAEAD)
			})
		})
	}
}

// durableFloor prepares the durable floor of a workspace read: one
// statement that reads the rows EnvFor decrypts and inserts a one-row
// event, committed synchronously. The statement is closed when b ends.
func durableFloor(b *testing.B, db *sqlx.DB, s *secrets.PostgresStore) *sqlx.Stmt {
	st, err := db.Preparex(fmt.Sprintf(`WITH a AS (INSERT INTO %s.audit (at, actor, action, workspace, outcome, detail)
		VALUES (now(), 'floor', 'inject', $1, 'ok', ''))
		SELECT secret_id, name, version, ciphertext FROM %[1]s.secrets
		WHERE workspace = $1 AND deleted IS NULL ORDER BY name COLLATE "C"`, pq.QuoteIdentifier(s.Schema())))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
