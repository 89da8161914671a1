package secrets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestCommitPastDeadline: a write whose COMMIT waits for a synchronous
// standby (here one that never comes: synchronous_standby_names names
// nobody) while the caller's context ends is committed on the primary
// but not confirmed. The caller gets ErrDatabaseUnavailable ("may have
// been committed", which also matches its context's error), over both
// drivers: never success (lib/pq's cancel request cuts the wait short and
// the server answers "committed"), and never the context's error alone
// (pgx), which reads as "not written" and invites a second write. A read
// whose event waits so returns no value. The cluster is the test's own.
func TestCommitPastDeadline(t *testing.T) {
	t.Parallel()
	c := newCrashCluster(t, "")
	setup, s := c.open(t, "postgres", "")
	ctx := context.Background()
	cipher := newCipher(t)
	local := newManager(t, s, cipher, nil)
	drivers := []string{"postgres", "pgx"}
	for _, driver := range drivers {
		mustSet(t, local, "ws-"+driver, "TOKEN", "deadline-value-1")
	}
	// From now on every commit of the store waits for a standby that does
	// not come (the store commits its writes and events with
	// synchronous_commit on, whatever the session says).
	for _, q := range []string{"ALTER SYSTEM SET synchronous_standby_names = 'nobody'", "SELECT pg_reload_conf()"} {
		if _, err := setup.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the server to read synchronous_standby_names", func() bool {
		var v string
		return setup.Get(&v, "SHOW synchronous_standby_names") == nil && v == "nobody"
	})
	versions := func(ws string) (n int) {
		if err := setup.Get(&n, `SELECT count(*) FROM secrets.versions WHERE workspace = $1`, ws); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			ws := "ws-" + driver
			_, ps := c.open(t, driver, "") // Migrate finds the schema current: it only reads
			m := newManager(t, ps, cipher, nil)

			// Each call's context ends once its COMMIT waits for the
			// standby (the deadline a caller would have).
			cancelAtSyncRep := func() (context.Context, context.CancelFunc) {
				cctx, cancel := context.WithCancel(ctx)
				go func() {
					for cctx.Err() == nil {
						var n int
						if setup.Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'`) == nil && n > 0 {
							cancel()
							return
						}
						time.Sleep(5 * time.Millisecond)
					}
				}()
				return cctx, cancel
			}
			dctx, cancel := cancelAtSyncRep()
			_, err := m.Set(dctx, ws, "TOKEN", []byte("deadline-value-2"), nil)
			cancel()
			if !errors.Is(err, secrets.ErrDatabaseUnavailable) || !errors.Is(err, context.Canceled) {
				t.Errorf("Set whose COMMIT outlived its context: %v, want ErrDatabaseUnavailable and the context's error", err)
			}
			if n := versions(ws); n != 2 {
				t.Errorf("versions after the unconfirmed write: %d (it was committed on the primary)", n)
			}

			dctx, cancel = cancelAtSyncRep()
			env, err := m.EnvFor(dctx, ws)
			cancel()
			if err == nil || env != nil {
				t.Errorf("EnvFor whose event waited past its deadline: %d variables, %v", len(env), err)
			}
		})
	}
}
