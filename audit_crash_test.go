package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
)

// crashCluster is a Postgres cluster of one test's own, reached over a
// Unix socket only, that the test may crash: stopping the shared test
// cluster would break the tests running beside it.
type crashCluster struct {
	bin, dir string
	opts     string // more server options for pg_ctl -o, as "-c name=value ..."
}

// newCrashCluster makes and starts the cluster, as the postgres user when
// the test runs as root (initdb refuses root). It needs SECRETS_TEST_PG_BIN
// (scripts/pg-env.sh exports it); without it the test skips, or fails when
// CI is set. opts are more server options ("-c name=value ...").
func newCrashCluster(t *testing.T, opts string) *crashCluster {
	t.Helper()
	c := newClusterDir(t, opts)
	if out, err := c.run(t, "initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	c.start(t)
	return c
}

// newClusterDir makes the folder of a cluster, owned by the user the
// cluster runs as, and arranges for the cluster to be stopped and the
// folder removed when the test ends; it makes no cluster in it.
func newClusterDir(t *testing.T, opts string) *crashCluster {
	t.Helper()
	bin := os.Getenv("SECRETS_TEST_PG_BIN")
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but SECRETS_TEST_PG_BIN is empty: use scripts/test")
		}
		t.Skip("SECRETS_TEST_PG_BIN is not set; run scripts/test")
	}
	dir, err := os.MkdirTemp("", "secrets-crash-")
	if err != nil {
		t.Fatal(err)
	}
	c := &crashCluster{bin: bin, dir: dir, opts: opts}
	t.Cleanup(func() {
		c.run(t, "pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *crashCluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of the cluster's programs, as its owner.
func (c *crashCluster) run(t *testing.T, prog string, args ...string) ([]byte, error) {
	t.Helper()
	argv := append([]string{filepath.Join(c.bin, prog)}, args...)
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

func (c *crashCluster) start(t *testing.T) {
	t.Helper()
	// fsync and synchronous_commit stay on, as on a real server.
	out, err := c.run(t, "pg_ctl", "-D", c.data(), "-w", "-t", "60", "-l", filepath.Join(c.dir, "log"),
		"-o", "-c listen_addresses='' -c unix_socket_directories="+c.dir+" -c port=5432 "+c.opts, "start")
	if err != nil {
		t.Fatalf("pg_ctl start: %v: %s", err, out)
	}
}

func (c *crashCluster) dsn() string {
	return fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres sslmode=disable", c.dir)
}

// open returns a pool of driver onto the cluster (params: more connection
// parameters, " key=value ..."), closed when the test ends, and the store
// of its default schema, migrated.
func (c *crashCluster) open(t *testing.T, driver, params string) (*sqlx.DB, *secrets.PostgresStore) {
	t.Helper()
	db, err := sqlx.Open(driver, c.dsn()+params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := secrets.NewPostgresStore(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, s
}

// reachable waits until db answers again after the cluster's restart.
func reachable(t *testing.T, db *sqlx.DB) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ping(db) != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the crashed cluster did not come back")
		}
	}
}

// TestAuditSurvivesCrash: in the default configuration, every read that
// returned (EnvFor, Get, Export, Diff, List, and EnvFor of a workspace with
// a parent, in turn) has its event after the database is stopped hard
// right after the call, twelve times. The same
// with AuditRelaxed may lose an injection's event, which the test reports
// as the control. The cluster is its own, so the test runs beside others.
func TestAuditSurvivesCrash(t *testing.T) {
	t.Parallel()
	c := newCrashCluster(t, "")
	db, s := c.open(t, "postgres", "")
	ctx := context.Background()
	cipher := newCipher(t)
	// Each round one read: EnvFor, Get, Export, Diff, List, and EnvFor of
	// a workspace with a parent (its event recorded after the read).
	parents := func(_ context.Context, ws string) ([]string, error) {
		if strings.HasSuffix(ws, "-5") || strings.HasSuffix(ws, "-11") {
			return []string{"group-" + ws}, nil
		}
		return nil, nil
	}
	run := func(mode secrets.AuditReads, rounds int, every bool) (kept, total int) {
		m := newManager(t, s, cipher, &secrets.Config{AuditReads: mode, Parents: parents})
		for i := range rounds {
			ws := fmt.Sprintf("ws-%d-%d", mode, i)
			mustSet(t, m, ws, "TOKEN", "crash-test-value")
			mustSet(t, m, "group-"+ws, "GROUP_TOKEN", "crash-group-value")
			actx := secrets.WithActor(ctx, "job:"+ws)
			var err error
			switch kind := i % 6; {
			case !every || kind == 0 || kind == 5:
				var env []string
				if env, err = m.EnvFor(actx, ws); err == nil && len(env) != 1+kind/5 {
					t.Fatalf("EnvFor of round %d: %d variables", i, len(env))
				}
			case kind == 1:
				_, err = m.Get(actx, ws, "TOKEN")
			case kind == 2:
				_, err = m.Export(actx, ws, nil)
			case kind == 3:
				_, err = m.Diff(actx, ws, []byte("TOKEN=other-value\n"), nil)
			case kind == 4:
				_, err = m.List(actx, ws, nil)
			}
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			c.stop(t) // at once, as a power cut would: nothing else commits in between
			if i == 0 {
				// A stopped database is ErrDatabaseUnavailable (a connection
				// lost, then refused).
				if _, err := m.EnvFor(secrets.WithActor(ctx, "probe"), ws); !errors.Is(err, secrets.ErrDatabaseUnavailable) {
					t.Fatalf("EnvFor with the database stopped: %v, want ErrDatabaseUnavailable", err)
				}
			}
			c.start(t)
			reachable(t, db)
			evs, err := m.Events(ctx, secrets.EventQuery{Actor: "job:" + ws, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			kept += len(evs)
			total++
		}
		return kept, total
	}
	if kept, total := run(secrets.AuditBestEffort, 12, true); kept != total {
		t.Fatalf("default configuration: %d of %d read events survived a crash right after the reads", kept, total)
	} else {
		t.Logf("default configuration: %d of %d read events survived", kept, total)
	}
	kept, total := run(secrets.AuditRelaxed, 3, false)
	t.Logf("control, AuditRelaxed: %d of %d injection events survived a crash right after the read", kept, total)
}
