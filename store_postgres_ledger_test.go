package secrets_test

import (
	"context"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// TestPostgresLedgerSweptOncePerPurge: DropEvents sweeps the ledger only
// in the call that drops fewer events than its limit, the last of a
// purge: the ledger has no index on its time, and a sweep for each batch
// of events scanned it whole each time (an SRE trial: 3.3 s to drop
// 100,000 events over a ledger of a million rows). What it sweeps is the
// same: a superseded entry that only dropped events could need.
func TestPostgresLedgerSweptOncePerPurge(t *testing.T) {
	db := pgDB(t)
	ctx := context.Background()
	s := newPGStore(t, db)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newManager(t, s, newCipher(t), &secrets.Config{Now: func() time.Time { return clock }})
	mustSet(t, m, "ws", "A", "v1")
	clock = clock.Add(time.Hour)
	mustSet(t, m, "ws", "A", "v2") // v1's ledger entry is superseded
	for range 3 {
		clock = clock.Add(time.Hour)
		if _, err := m.EnvFor(ctx, "ws"); err != nil {
			t.Fatal(err)
		}
	}
	ledger := func() int {
		t.Helper()
		var n int
		if err := db.Get(&n, "SELECT count(*) FROM "+pq.QuoteIdentifier(s.Schema())+".ledger WHERE workspace = 'ws'"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var events int
	if err := db.Get(&events, "SELECT count(*) FROM "+pq.QuoteIdentifier(s.Schema())+".audit"); err != nil {
		t.Fatal(err)
	}
	before := ledger()
	if before != 2 {
		t.Fatalf("%d ledger entries of ws, want 2", before)
	}
	later := clock.Add(60 * 24 * time.Hour)
	if n, err := s.DropEvents(ctx, later, events-1); err != nil || n != events-1 {
		t.Fatalf("DropEvents of all but one: %d, %v", n, err)
	}
	if got := ledger(); got != before {
		t.Fatalf("a call that dropped as many events as its limit swept the ledger: %d entries, want %d", got, before)
	}
	if n, err := s.DropEvents(ctx, later, events-1); err != nil || n != 1 {
		t.Fatalf("DropEvents of the last: %d, %v", n, err)
	}
	if got := ledger(); got != 1 {
		t.Fatalf("the last call left %d ledger entries of ws, want the current one", got)
	}
}
