package secrets_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/dataspace/secrets/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Postgres tests read DATABASE_URL (scripts/test sets it). Without it they
// skip, unless CI is set: a CI run must never skip them.
func pgURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but DATABASE_URL is empty: the Postgres tests must run in CI (use scripts/test)")
		}
		t.Skip("DATABASE_URL is not set; run scripts/test to start a local Postgres")
	}
	return u
}

func openDB(t testing.TB, dsn string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(db); err != nil {
		db.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("Postgres unreachable in CI: %v", err)
		}
		t.Skipf("Postgres unreachable: %v", err)
	}
	db.SetMaxOpenConns(20)
	t.Cleanup(func() { db.Close() })
	return db
}

// ping runs a query: unlike db.Ping, queries are retried on a new
// connection when a pooled one died (a server restart, a killed backend).
func ping(db *sqlx.DB) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var one int
	return db.GetContext(ctx, &one, "SELECT 1")
}

var (
	sharedOnce sync.Once
	sharedPool *sqlx.DB
)

// pgDB returns a pool shared by the tests of this run.
func pgDB(t testing.TB) *sqlx.DB {
	t.Helper()
	dsn := pgURL(t)
	sharedOnce.Do(func() {
		db, err := sqlx.Open("postgres", dsn)
		if err == nil {
			db.SetMaxOpenConns(40)
			sharedPool = db
		}
	})
	if sharedPool == nil {
		t.Fatal("cannot open the shared pool")
	}
	if err := ping(sharedPool); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Postgres unreachable in CI: %v", err)
		}
		t.Skipf("Postgres unreachable: %v", err)
	}
	return sharedPool
}

func randomSchema(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newPGStore returns a migrated store in a schema of its own, dropped
// when the test ends.
func newPGStore(t testing.TB, db *sqlx.DB) *secrets.PostgresStore {
	t.Helper()
	s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: randomSchema("t_")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	t.Cleanup(func() { s.Close(); dropSchema(t, db, s.Schema()) })
	return s
}

func dropSchema(t testing.TB, db *sqlx.DB, schema string) {
	if _, err := db.Exec("DROP SCHEMA IF EXISTS " + pq.QuoteIdentifier(schema) + " CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}

func TestPostgresStoreConformance(t *testing.T) {
	db := pgDB(t)
	storetest.Run(t, func(t *testing.T) secrets.Store { return newPGStore(t, db) })
}

// TestPostgresManager runs the Manager's main paths on Postgres: every
// value shape, versions, rename, rollback, delete, EnvFor.
func TestPostgresManager(t *testing.T) {
	s := newPGStore(t, pgDB(t))
	m := newManager(t, s, newCipher(t), &secrets.Config{KeepVersions: 3})
	ctx := secrets.WithActor(context.Background(), "user:pg")
	shapes := valueShapes()
	for name, val := range shapes {
		if _, err := m.Set(ctx, "ws", name, val); err != nil {
			t.Fatalf("Set(%s): %v", name, err)
		}
	}
	for name, val := range shapes {
		got, err := m.Get(ctx, "ws", name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Value.Reveal(), val) || got.UpdatedBy != "user:pg" {
			t.Fatalf("%s: value or actor differs", name)
		}
	}
	env, err := m.EnvFor(ctx, "ws")
	if err != nil || len(env) != len(shapes) {
		t.Fatalf("EnvFor: %d entries, %v", len(env), err)
	}
	for i := range 4 {
		mustSet(t, m, "ws", "EMPTY", fmt.Sprint("v", i))
	}
	vs, err := m.Versions(ctx, "ws", "EMPTY")
	if err != nil || len(vs) != 3 || vs[0].Version != 5 {
		t.Fatalf("Versions: %+v %v", vs, err)
	}
	if _, err := m.Rollback(ctx, "ws", "EMPTY", 3); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, m, "ws", "EMPTY"); got != "v1" {
		t.Fatalf("after rollback: %q", got)
	}
	if _, err := m.Rename(ctx, "ws", "EMPTY", "RENAMED"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "ws", "RENAMED"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, "ws", "RENAMED"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	// The budget is enforced by the database too.
	small := newManager(t, s, newCipher(t), &secrets.Config{MaxEnvBytes: 100})
	mustSet(t, small, "budget", "A", strings.Repeat("a", 60))
	if _, err := small.Set(ctx, "budget", "B", []byte(strings.Repeat("b", 60))); !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("over the budget: %v", err)
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
	s := newPGStore(t, pgDB(t))
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
				meta, err := m.SetIf(ctx, "ws", "TOKEN", []byte(val), cur.Version)
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
// when both create it at the same time.
func TestPostgresReplicas(t *testing.T) {
	dsn := pgURL(t)
	s1 := newPGStore(t, openDB(t, dsn))
	s2, err := secrets.NewPostgresStore(openDB(t, dsn), &secrets.PostgresConfig{Schema: s1.Schema()})
	if err != nil {
		t.Fatal(err)
	}
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
	if err := r2.Delete(ctx, "ws", "TOKEN"); err != nil {
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
				if _, err := r.Set(ctx, ws, fmt.Sprint("S", j), []byte("v")); err != nil {
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

// blockedBackend returns the backend, if any, whose query contains marker
// and which waits for a lock.
func blockedBackend(t *testing.T, db *sqlx.DB, marker string) (int, bool) {
	t.Helper()
	var pids []int
	err := db.Select(&pids, `SELECT pid FROM pg_stat_activity
		WHERE query LIKE '%' || $1 || '%' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`, marker)
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != 1 {
		return 0, false
	}
	return pids[0], true
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
	_, err = blocker.Exec(fmt.Sprintf(`INSERT INTO %s.versions (workspace, secret_id, version, name, ciphertext,
		key_id, env_size, created, created_by, updated, updated_by)
		VALUES ('ws', $1, $2, 'TOKEN', '\x00', 0, 0, now(), '', now(), '')`, sch), cur.SecretID, cur.Version+1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := m.Set(ctx, "ws", "TOKEN", []byte("new-value"))
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
			pid, ok := blockedBackend(t, db, "put_version")
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
	db := openDB(t, pgURL(t)) // a pool of its own: its connections die
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
	got, err := m.Get(ctx, "ws", "TOKEN")
	if err != nil {
		t.Fatalf("first call after the restart: %v", err)
	}
	if string(got.Value.Reveal()) != "before-restart" {
		t.Fatalf("after restart: %q", got.Value.Reveal())
	}
	if _, err := m.Set(ctx, "ws", "TOKEN", []byte("after-restart")); err != nil {
		t.Fatalf("write after the restart: %v", err)
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

	var tables []string
	if err := db.Select(&tables, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, s.Schema()); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 4 {
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
		UNION ALL SELECT wrapped FROM `+pq.QuoteIdentifier(s.Schema())+`.workspace_keys`); err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		haystack.Write(r)
	}
	if haystack.Len() < 1000 {
		t.Fatalf("dump is only %d bytes: nothing was read", haystack.Len())
	}
	for _, n := range needles {
		if bytes.Contains(haystack.Bytes(), n) {
			t.Fatalf("the database holds %.30q in the clear", n)
		}
	}
	// The scan can find things: the names are there.
	if !bytes.Contains(haystack.Bytes(), []byte("DB_PASSWORD")) {
		t.Fatal("the dump does not even hold the names; the scan is broken")
	}
}

// TestPostgresMigrations: run twice, from several replicas at once, and
// next to host tables of the same names, which stay untouched.
func TestPostgresMigrations(t *testing.T) {
	dsn := pgURL(t)
	admin := pgDB(t)
	ctx := context.Background()

	// The host's own tables, with names like ours, first in search_path.
	host := randomSchema("host_")
	t.Cleanup(func() { dropSchema(t, admin, host) })
	for _, q := range []string{
		"CREATE SCHEMA " + host,
		"CREATE TABLE " + host + ".secrets (id int PRIMARY KEY, note text)",
		"CREATE TABLE " + host + ".versions (id int PRIMARY KEY)",
		"CREATE TABLE " + host + ".goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp DEFAULT now())",
		"INSERT INTO " + host + ".secrets VALUES (1, 'host row')",
		"INSERT INTO " + host + ".goose_db_version (version_id, is_applied) VALUES (0, true), (20240101, true)",
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	hostState := func() string {
		var rows []string
		err := admin.Select(&rows, `SELECT table_name || ':' || (xpath('/row/c/text()',
			query_to_xml('SELECT count(*) AS c FROM '||quote_ident(table_schema)||'.'||quote_ident(table_name), false, true, '')))[1]::text
			FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, host)
		if err != nil {
			t.Fatal(err)
		}
		var versions []string
		if err := admin.Select(&versions, "SELECT version_id::text FROM "+host+".goose_db_version ORDER BY id"); err != nil {
			t.Fatal(err)
		}
		return strings.Join(rows, ",") + "|" + strings.Join(versions, ",")
	}
	before := hostState()

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", host)
	u.RawQuery = q.Encode()
	hostPool := openDB(t, u.String())

	schema := randomSchema("mig_")
	t.Cleanup(func() { dropSchema(t, admin, schema) })
	var wg sync.WaitGroup
	var fails atomic.Int32
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := secrets.NewPostgresStore(hostPool, &secrets.PostgresConfig{Schema: schema})
			if err == nil {
				err = s.Migrate(ctx)
			}
			if err != nil {
				fails.Add(1)
				t.Errorf("concurrent Migrate: %v", err)
			}
		}()
	}
	wg.Wait()
	s, err := secrets.NewPostgresStore(hostPool, &secrets.PostgresConfig{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if after := hostState(); after != before {
		t.Fatalf("Migrate changed the host's tables:\nbefore %s\nafter  %s", before, after)
	}
	var applied []int64
	if err := admin.Select(&applied, "SELECT version_id FROM "+schema+".goose_db_version WHERE version_id > 0 ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	steps, err := pgschema.Steps(`"x"`)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, st := range steps {
		want = append(want, st.Version)
	}
	if d := cmp.Diff(want, applied); d != "" {
		t.Fatalf("migration versions recorded (-want +got):\n%s", d)
	}
	// The store works through the host's pool.
	m := newManager(t, s, newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "v")

	if _, err := secrets.NewPostgresStore(admin, &secrets.PostgresConfig{Schema: "Bad-Name; DROP"}); err == nil {
		t.Fatal("an invalid schema name was accepted")
	}
}

// TestPostgresErrors: driver errors never reach the caller, and neither
// does the connection string's password.
func TestPostgresErrors(t *testing.T) {
	dsn := pgURL(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("secrets_test", "wrong-password-canary")
	bad, err := sqlx.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	s, err := secrets.NewPostgresStore(bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = s.Migrate(ctx)
	if err == nil {
		t.Fatal("Migrate with a wrong password succeeded")
	}
	_, lerr := s.Lookup(ctx, "ws", "A")
	for _, e := range []error{err, lerr} {
		var pe *pq.Error
		if errors.As(e, &pe) {
			t.Errorf("a *pq.Error reached the caller: %v", e)
		}
		if strings.Contains(e.Error(), "wrong-password-canary") {
			t.Errorf("the error shows the password: %v", e)
		}
	}

	// A schema that was never migrated.
	unmigrated, err := secrets.NewPostgresStore(pgDB(t), &secrets.PostgresConfig{Schema: randomSchema("none_")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = unmigrated.Current(ctx, "ws")
	var pe *pq.Error
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("Current on an unmigrated schema: %v", err)
	}
}

// TestPostgresQueriesUseIndexes checks the plans of the hot reads on a
// table of many workspaces: no sequential scan.
func TestPostgresQueriesUseIndexes(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	sch := pq.QuoteIdentifier(s.Schema())
	_, err := db.Exec(fmt.Sprintf(`
		INSERT INTO %[1]s.secrets (workspace, secret_id, name_key, version, name, ciphertext, key_id, env_size,
				created, created_by, updated, updated_by)
			SELECT 'ws' || w, 'id' || n, 'name_' || n, 1, 'NAME_' || n, '\x01', 1, 10, now(), '', now(), ''
			FROM generate_series(1, 300) w, generate_series(1, 50) n;
		INSERT INTO %[1]s.versions (workspace, secret_id, version, name, ciphertext, key_id, env_size, created, created_by, updated, updated_by)
			SELECT workspace, secret_id, 1, name, ciphertext, 1, 10, now(), '', now(), '' FROM %[1]s.secrets;
		ANALYZE %[1]s.secrets; ANALYZE %[1]s.versions;`, sch))
	if err != nil {
		t.Fatal(err)
	}
	current, lookup := secrets.PostgresQueries(s)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"Current": {current, []any{"ws7"}},
		"Lookup":  {lookup, []any{"ws7", "name_3"}},
	} {
		// Parameters as a prepared statement gets them, then the plan.
		tx, err := db.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("PREPARE plan_q AS " + q.sql); err != nil {
			t.Fatal(err)
		}
		args := make([]string, len(q.args))
		for i, a := range q.args {
			args[i] = pq.QuoteLiteral(a.(string))
		}
		var plan []string
		err = tx.Select(&plan, "EXPLAIN EXECUTE plan_q("+strings.Join(args, ", ")+")")
		tx.Exec("DEALLOCATE plan_q")
		tx.Rollback()
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "\n")
		if strings.Contains(p, "Seq Scan") || !strings.Contains(p, "Index") {
			t.Errorf("%s does not use an index:\n%s", name, p)
		}
	}
}
