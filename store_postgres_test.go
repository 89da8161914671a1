package secrets_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/storetest"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// TestPostgresStoreConformance runs the Store suite over lib/pq, over
// pgx's stdlib driver, over a pool whose default isolation is
// SERIALIZABLE, and over both drivers through PgBouncer in transaction
// pooling mode.
func TestPostgresStoreConformance(t *testing.T) {
	t.Parallel() // long, and shares nothing with the other parallel tests
	for _, p := range append(pgPools[:len(pgPools):len(pgPools)], bouncerPools...) {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel() // a schema of its own for each test
			db := p.db(t)
			storetest.Run(t, func(t *testing.T) secrets.Store { return newPGStore(t, db) })
		})
	}
}

// TestPostgresTamper changes ciphertexts with SQL, as someone with write
// access to the database would.
func TestPostgresTamper(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	c := newCipher(t)
	m := newManager(t, s, c, nil)
	for _, ws := range []string{"flip", "truncate", "rollback", "swap", "key", "keysrc"} {
		mustSet(t, m, ws, "TOKEN", ws+"-token-v1")
		mustSet(t, m, ws, "TOKEN", ws+"-token-v2")
		mustSet(t, m, ws, "OTHER", ws+"-other")
	}
	sch := pq.QuoteIdentifier(s.Schema())
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(strings.ReplaceAll(q, "S.", sch+"."), args...); err != nil {
			t.Fatal(err)
		}
	}
	cold := func() *secrets.Manager { return newManager(t, s, c, nil) }

	// A flipped byte, then flipped back.
	flip := `UPDATE S.secrets SET ciphertext = set_byte(ciphertext, 20, get_byte(ciphertext, 20) # 1)
		WHERE workspace = 'flip' AND name = 'OTHER'`
	exec(flip)
	expectDecryptFailure(t, cold(), "flip", "OTHER")
	exec(flip)
	if got := mustGet(t, cold(), "flip", "OTHER"); got != "flip-other" {
		t.Fatalf("restored: %q", got)
	}
	// Truncated.
	exec(`UPDATE S.secrets SET ciphertext = substring(ciphertext from 1 for 30) WHERE workspace = 'truncate' AND name = 'OTHER'`)
	expectDecryptFailure(t, cold(), "truncate", "OTHER")
	// Version 1 put back as the current version 2.
	exec(`UPDATE S.secrets v SET ciphertext = o.ciphertext FROM S.versions o
		WHERE v.workspace = 'rollback' AND v.name = 'TOKEN'
		  AND o.workspace = 'rollback' AND o.name = 'TOKEN' AND o.version = 1`)
	expectDecryptFailure(t, cold(), "rollback", "TOKEN")
	// A flipped byte in a past version: only that version fails.
	exec(`UPDATE S.versions SET ciphertext = set_byte(ciphertext, 30, get_byte(ciphertext, 30) # 4)
		WHERE workspace = 'flip' AND name = 'TOKEN' AND version = 1`)
	if _, err := cold().GetVersion(context.Background(), "flip", "TOKEN", 1); !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("GetVersion of a tampered past version: %v", err)
	}
	if got := mustGet(t, cold(), "flip", "TOKEN"); got != "flip-token-v2" {
		t.Fatalf("current version after tampering with the past: %q", got)
	}
	// Ciphertexts swapped between secrets: OTHER gets TOKEN's.
	exec(`UPDATE S.secrets v SET ciphertext = o.ciphertext FROM S.secrets o
		WHERE v.workspace = 'swap' AND v.name = 'OTHER' AND o.workspace = 'swap' AND o.name = 'TOKEN'`)
	expectDecryptFailure(t, cold(), "swap", "OTHER")
	// The write-only flag cleared on a write-only secret: its value fails
	// to decrypt rather than being revealed.
	if _, err := m.Set(context.Background(), "flip", "DEPLOY", []byte("write-only-canary"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE S.secrets SET flags = 0 WHERE workspace = 'flip' AND name = 'DEPLOY'`)
	exec(`UPDATE S.versions SET flags = 0 WHERE workspace = 'flip' AND name = 'DEPLOY'`)
	if s, err := cold().Get(context.Background(), "flip", "DEPLOY"); !errors.Is(err, secrets.ErrDecrypt) || s.Value.Len() != 0 {
		t.Fatalf("Get after clearing write-only: %v", err)
	}
	if text, err := cold().Export(context.Background(), "flip", nil); !errors.Is(err, secrets.ErrDecrypt) || strings.Contains(string(text), "write-only-canary") {
		t.Fatalf("Export after clearing write-only: %v", err)
	}
	// Another workspace's wrapped key: every secret of the workspace fails.
	exec(`UPDATE S.workspace_keys b SET wrapped = a.wrapped FROM S.workspace_keys a WHERE b.workspace = 'key' AND a.workspace = 'keysrc'`)
	env, err := cold().EnvFor(context.Background(), "key")
	var de *secrets.DecryptError
	if env != nil || !errors.As(err, &de) || len(de.Names) != 2 {
		t.Fatalf("EnvFor with a swapped key: %v %v", env, err)
	}
	// The untouched workspace still reads.
	if got := mustGet(t, cold(), "keysrc", "TOKEN"); got != "keysrc-token-v2" {
		t.Fatalf("untouched: %q", got)
	}
}

// TestPostgresRacingWriters: 32 editors do check-and-set updates of one
// secret. The final version is one plus the successful writes, and each
// successful write's value is in the history under its version.
func TestPostgresRacingWriters(t *testing.T) {
	for _, p := range pgPools {
		t.Run(p.String(), func(t *testing.T) { testRacingWriters(t, p) })
	}
}

func testRacingWriters(t *testing.T, p pgPool) {
	s := newPGStore(t, p.db(t))
	m := newManager(t, s, newCipher(t), &secrets.Config{KeepVersions: 1000})
	ctx := context.Background()
	mustSet(t, m, "ws", "TOKEN", "initial")
	const writers, tries = 32, 4
	var (
		mu   sync.Mutex
		wins = map[int64]string{}
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range tries {
				cur, err := m.Get(ctx, "ws", "TOKEN")
				if err != nil {
					t.Error(err)
					return
				}
				val := fmt.Sprintf("writer-%d-%d", w, i)
				meta, err := m.Set(ctx, "ws", "TOKEN", []byte(val), &secrets.SetOptions{IfRevision: cur.Revision})
				switch {
				case err == nil:
					mu.Lock()
					if prev, dup := wins[meta.Version]; dup {
						t.Errorf("version %d won twice: %s and %s", meta.Version, prev, val)
					}
					wins[meta.Version] = val
					mu.Unlock()
				case !errors.Is(err, secrets.ErrConflict):
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	cur, err := m.Get(ctx, "ws", "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != int64(len(wins))+1 {
		t.Fatalf("final version %d, want %d", cur.Version, len(wins)+1)
	}
	for v, val := range wins {
		got, err := m.GetVersion(ctx, "ws", "TOKEN", v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Value.Reveal()) != val {
			t.Fatalf("version %d holds %q, want %q", v, got.Value.Reveal(), val)
		}
	}
	if len(wins) < 2 {
		t.Fatalf("only %d successful writes: the race did not happen", len(wins))
	}
}

// TestPostgresReplicas: two Managers with separate pools on one database
// see each other's writes at once, and agree on one key per workspace
// when both create it at the same time: one over lib/pq, the other over
// pgx, connected directly or both through PgBouncer in transaction
// pooling mode.
func TestPostgresReplicas(t *testing.T) {
	t.Run("direct", func(t *testing.T) { testReplicas(t, pgPools[0], pgPools[1]) })
	t.Run("pgbouncer", func(t *testing.T) { testReplicas(t, bouncerPools[0], bouncerPools[1]) })
}

func testReplicas(t *testing.T, p1, p2 pgPool) {
	s1 := newPGStore(t, p1.open(t, 4))
	s2 := sameSchema(t, p2.open(t, 4), s1) // another replica, over pgx
	if err := s2.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := newCipher(t)
	r1, r2 := newManager(t, s1, c, nil), newManager(t, s2, c, nil)
	ctx := context.Background()

	for i := range 5 {
		mustSet(t, r1, "ws", "TOKEN", fmt.Sprint("from-r1-", i))
		if got := mustGet(t, r2, "ws", "TOKEN"); got != fmt.Sprint("from-r1-", i) {
			t.Fatalf("r2 sees %q", got)
		}
		mustSet(t, r2, "ws", "TOKEN", fmt.Sprint("from-r2-", i))
		env, err := r1.EnvFor(ctx, "ws")
		if err != nil || len(env) != 1 || env[0] != fmt.Sprint("TOKEN=from-r2-", i) {
			t.Fatalf("r1 EnvFor: %v %v", env, err)
		}
	}
	if _, err := r2.Delete(ctx, "ws", "TOKEN", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r1.Get(ctx, "ws", "TOKEN"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("r1 after r2's delete: %v", err)
	}

	// Both replicas create the first secrets of new workspaces at once.
	for i := range 10 {
		ws := fmt.Sprint("new-", i)
		var wg sync.WaitGroup
		for j, r := range []*secrets.Manager{r1, r2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := r.Set(ctx, ws, fmt.Sprint("S", j), []byte("v"), nil); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for _, r := range []*secrets.Manager{r1, r2} {
			if env, err := r.EnvFor(ctx, ws); err != nil || len(env) != 2 {
				t.Fatalf("%s: %v %v", ws, env, err)
			}
		}
	}
}

// TestPostgresKilledWrite kills the connection of a write half way through
// its statement (it has updated the secret's row and waits to insert the
// version row) and checks that nothing of it remains.
func TestPostgresKilledWrite(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	m := newManager(t, s, newCipher(t), nil)
	ctx := context.Background()
	mustSet(t, m, "ws", "TOKEN", "old-value")
	cur, err := s.Lookup(ctx, "ws", "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	sch := pq.QuoteIdentifier(s.Schema())
	snapshot := func() string {
		var rows []string
		err := db.Select(&rows, fmt.Sprintf(`SELECT to_jsonb(t)::text FROM (
			SELECT 'w' AS k, to_jsonb(w)::text AS r FROM %[1]s.workspaces w UNION ALL
			SELECT 's', to_jsonb(s)::text FROM %[1]s.secrets s UNION ALL
			SELECT 'l', to_jsonb(l)::text FROM %[1]s.ledger l UNION ALL
			SELECT 'a', to_jsonb(a)::text FROM %[1]s.audit a WHERE outcome = 'ok' AND action <> 'reveal' UNION ALL
			SELECT 'v', to_jsonb(v)::text FROM %[1]s.versions v) t ORDER BY 1`, sch))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(rows, "\n")
	}
	before := snapshot()

	// A blocker holds the key the write's version row will need.
	blocker, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	_, err = blocker.Exec(fmt.Sprintf(`INSERT INTO %s.versions (workspace, secret_id, version, name, flags, format, ciphertext,
		key_id, env_size, written, written_by)
		VALUES ('ws', $1, $2, 'TOKEN', 0, 2, '\x00', 0, 0, now(), '')`, sch), cur.SecretID, cur.Current.Version+1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := m.Set(ctx, "ws", "TOKEN", []byte("new-value"), nil)
		done <- err
	}()
	// database/sql retries a statement whose connection died on a new
	// connection; each retry blocks on the blocker too, and is killed too.
	var setErr error
	kills := 0
	for waiting := true; waiting; {
		select {
		case setErr = <-done:
			waiting = false
		default:
			pid, ok := blockedBackend(t, db, "put_secret")
			if !ok {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if _, err := db.Exec("SELECT pg_terminate_backend($1)", pid); err != nil {
				t.Fatal(err)
			}
			kills++
		}
	}
	if err := blocker.Rollback(); err != nil {
		t.Fatal(err)
	}
	if kills == 0 || setErr == nil {
		t.Fatalf("%d kills; Set returned %v, want an error", kills, setErr)
	}
	t.Logf("killed %d attempts; Set: %v", kills, setErr)
	var pe *pq.Error
	if errors.As(setErr, &pe) {
		t.Fatalf("a *pq.Error reached the caller: %v", setErr)
	}
	if got := snapshot(); got != before {
		t.Fatalf("the killed write left rows behind:\nbefore:\n%s\nafter:\n%s", before, got)
	}
	if got := mustGet(t, m, "ws", "TOKEN"); got != "old-value" {
		t.Fatalf("after the killed write: %q", got)
	}
	mustSet(t, m, "ws", "TOKEN", "next-value") // the pool recovers
}

// TestPostgresRestart restarts the server (when scripts/test says how) or
// else kills every connection of the pool, and checks that the Manager
// serves again without being rebuilt.
func TestPostgresRestart(t *testing.T) {
	db := pgPools[0].open(t, 4) // a pool of its own: its connections die
	s := newPGStore(t, db)
	m := newManager(t, s, newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "before-restart")
	// Fill the pool with idle connections.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); mustGet(t, m, "ws", "TOKEN") }()
	}
	wg.Wait()

	if cmd := os.Getenv("SECRETS_TEST_PG_RESTART"); cmd != "" {
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("restart: %v: %s", err, out)
		}
		t.Logf("restarted Postgres with %q", cmd)
		waitReachable(t)
	} else {
		admin := pgDB(t)
		if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE usename = current_user AND pid <> pg_backend_pid() AND datname = current_database()`); err != nil {
			t.Fatal(err)
		}
		t.Log("SECRETS_TEST_PG_RESTART unset: killed every other connection instead of restarting")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A job first: its read (a simple query over lib/pq) meets a
	// connection the server closed and runs again on another.
	env, err := m.EnvFor(ctx, "ws")
	if err != nil || len(env) != 1 || env[0] != "TOKEN=before-restart" {
		t.Fatalf("first job after the restart: %d variables, %v", len(env), err)
	}
	got, err := m.Get(ctx, "ws", "TOKEN")
	if err != nil {
		t.Fatalf("first reveal after the restart: %v", err)
	}
	if string(got.Value.Reveal()) != "before-restart" {
		t.Fatalf("after restart: %q", got.Value.Reveal())
	}
	if _, err := m.Set(ctx, "ws", "TOKEN", []byte("after-restart"), nil); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
}

// TestPostgresReadAfterKilledConnections: thirty times, the server closes
// every idle connection of a replica's pool (as a restart or failover
// does); the next job and the next reveal each succeed, on another
// connection, and every job has its inject event. Whether lib/pq sees
// such a connection's end as the server's FATAL answer (which
// database/sql retries) or as a reset (which it does not: the store runs
// the read again with parameters) varies from try to try, so one round
// would not show the store's part.
func TestPostgresReadAfterKilledConnections(t *testing.T) {
	db := pgPools[0].open(t, 4)
	m := newManager(t, newPGStore(t, db), newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "v")
	admin := pgDB(t)
	ctx := context.Background()
	for round := range 30 {
		// Hold the pool's four connections at once, note their servers'
		// process IDs, give them back idle, and have the server end them.
		var pids []int
		var conns []*sql.Conn
		for try := 0; len(conns) < 4; try++ {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var pid int
			if err := c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				// One the last round ended that no call has used since.
				c.Raw(func(any) error { return driver.ErrBadConn }) // drop it from the pool
				c.Close()
				if try > 20 {
					t.Fatal(err)
				}
				continue
			}
			pids, conns = append(pids, pid), append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
		if _, err := admin.Exec("SELECT pg_terminate_backend(p) FROM unnest($1::int[]) p", pq.Array(pids)); err != nil {
			t.Fatal(err)
		}
		env, err := m.EnvFor(ctx, "ws")
		if err != nil || len(env) != 1 || env[0] != "TOKEN=v" {
			t.Fatalf("round %d: the job after the connections ended: %d variables, %v", round, len(env), err)
		}
		if _, err := m.Get(ctx, "ws", "TOKEN"); err != nil {
			t.Fatalf("round %d: the reveal after the connections ended: %v", round, err)
		}
		// Every job that returned values has its event (one that ran
		// twice may have two, never none).
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject})
		if err != nil || len(evs) < round+1 {
			t.Fatalf("round %d: %d inject events (%v), want at least %d", round, len(evs), err, round+1)
		}
	}
}

func waitReachable(t *testing.T) {
	t.Helper()
	for range 100 {
		db, err := sqlx.Open("postgres", pgURL(t))
		if err == nil {
			err = db.Ping()
			db.Close()
			if err == nil {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("Postgres did not come back")
}

// TestPostgresHoldsNoPlaintext writes known values, then reads every row
// of every table of the schema, as text and as raw bytes, and looks for
// the values (raw, hex, base64), the master key material, and NAME=value.
func TestPostgresHoldsNoPlaintext(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	keyJSON, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(keyJSON)
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, s, c, nil)
	values := map[string]string{
		"AUTH_TOKEN":  "PLAINTEXT-CANARY-auth-0123456789",
		"DB_PASSWORD": "PLAINTEXT-CANARY-db-password-xyz",
		"PEM":         string(pemKey()),
	}
	for n, v := range values {
		mustSet(t, m, "ws", n, v)
		mustSet(t, m, "ws2", n, v)
		if _, err := m.EnvFor(context.Background(), "ws"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Rename(context.Background(), "ws2", "AUTH_TOKEN", "RENAMED", nil); err != nil {
		t.Fatal(err)
	}
	material := keyMaterial(t, keyJSON)
	keyBytes, _ := base64.StdEncoding.DecodeString(material)

	var needles [][]byte
	for n, v := range values {
		for _, form := range []string{v, n + "=" + v} {
			needles = append(needles, []byte(form), []byte(hex.EncodeToString([]byte(form))),
				[]byte(base64.StdEncoding.EncodeToString([]byte(form))))
		}
	}
	needles = append(needles, keyBytes[2:], []byte(hex.EncodeToString(keyBytes[2:])), []byte(material))
	// The workspaces' data keys, stored only wrapped by the master key;
	// each workspace has its own (no key of ws is one of ws2's).
	byWS := map[string][][]byte{}
	for _, ws := range []string{"ws", "ws2"} {
		keys, err := secrets.DataKeys(context.Background(), s, c, ws)
		if err != nil || len(keys) == 0 {
			t.Fatalf("data keys of %s: %d, %v", ws, len(keys), err)
		}
		for _, k := range keys {
			if len(k) != 32 {
				t.Fatalf("a data key of %d bytes", len(k))
			}
			needles = append(needles, k, []byte(hex.EncodeToString(k)), []byte(base64.StdEncoding.EncodeToString(k)))
		}
		byWS[ws] = keys
	}
	for _, k := range byWS["ws"] {
		for _, k2 := range byWS["ws2"] {
			if bytes.Equal(k, k2) {
				t.Fatal("ws and ws2 share a data key")
			}
		}
	}

	var tables []string
	if err := db.Select(&tables, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, s.Schema()); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 7 {
		t.Fatalf("only %d tables in the schema: %v", len(tables), tables)
	}
	var haystack bytes.Buffer
	for _, tbl := range tables {
		q := pq.QuoteIdentifier(s.Schema()) + "." + pq.QuoteIdentifier(tbl)
		var rows []string
		if err := db.Select(&rows, "SELECT to_jsonb(t)::text FROM "+q+" t"); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			haystack.WriteString(r)
		}
	}
	var raws [][]byte
	if err := db.Select(&raws, `SELECT ciphertext FROM `+pq.QuoteIdentifier(s.Schema())+`.versions
		UNION ALL SELECT wrapped FROM `+pq.QuoteIdentifier(s.Schema())+`.workspace_keys
		UNION ALL SELECT check_value FROM `+pq.QuoteIdentifier(s.Schema())+`.master_keys`); err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		haystack.Write(r)
	}
	if haystack.Len() < 1000 {
		t.Fatalf("dump is only %d bytes: nothing was read", haystack.Len())
	}
	for i, n := range needles {
		if bytes.Contains(haystack.Bytes(), n) {
			t.Fatalf("the database holds needle %d (of %d: values, pairs, key material) in the clear", i, len(needles))
		}
	}
	// The scan can find things: the names are there.
	if !bytes.Contains(haystack.Bytes(), []byte("DB_PASSWORD")) {
		t.Fatal("the dump does not even hold the names; the scan is broken")
	}
}
