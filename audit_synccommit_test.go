package secrets_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dataspace/secrets"
)

// TestSyncCommitOffPinned: a role or database whose synchronous_commit is
// off (here the connections' own setting, as ALTER ROLE ... SET would
// give) does not void the default configuration's durability: a write
// that returned, and a job's and a reveal's events, each survive the
// database stopped hard right after the call. The store pins
// synchronous_commit to on for the transactions that commit them (a
// trial: without it, EnvFor and Get returned values whose events the crash
// lost). The WAL writer waits 10 s, so nothing but the commit itself
// flushes in between. The cluster is the test's own.
func TestSyncCommitOffPinned(t *testing.T) {
	t.Parallel()
	c := newCrashCluster(t, "-c wal_writer_delay=10000")
	db, s := c.open(t, "postgres", " synchronous_commit=off")
	ctx := context.Background()
	m := newManager(t, s, newCipher(t), nil)
	restart := func() {
		t.Helper()
		c.stop(t)
		c.start(t)
		reachable(t, db)
	}
	for i := range 3 {
		ws := fmt.Sprint("ws-", i)
		mustSet(t, m, ws, "TOKEN", "sync-off-value-1")
		restart()
		if vs, err := m.Versions(ctx, ws, "TOKEN"); err != nil || len(vs) != 1 {
			t.Fatalf("round %d: the write that returned is gone after the crash: %d versions, %v", i, len(vs), err)
		}
		actx := secrets.WithActor(ctx, "job:"+ws)
		if _, err := m.EnvFor(actx, ws); err != nil {
			t.Fatal(err)
		}
		restart()
		if _, err := m.Get(actx, ws, "TOKEN"); err != nil {
			t.Fatal(err)
		}
		restart()
		evs, err := m.Events(ctx, secrets.EventQuery{Actor: "job:" + ws, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []secrets.Action
		for _, e := range evs {
			got = append(got, e.Action)
		}
		if len(got) != 2 {
			t.Errorf("round %d: events after the crashes %v, want the reveal's and the job's", i, got)
		}
	}
}
