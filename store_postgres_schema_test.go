package secrets_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

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
	hostPool := pgPool{driver: "postgres"}.openDSN(t, u.String())

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

// TestPostgresQueriesUseIndexes checks the plans of the hot reads on a
// table of many workspaces, after ANALYZE and before it: no sequential
// scan.
func TestPostgresQueriesUseIndexes(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	sch := pq.QuoteIdentifier(s.Schema())
	_, err := db.Exec(fmt.Sprintf(`
		INSERT INTO %[1]s.secrets (workspace, secret_id, name_key, name, revision, created, created_by, updated, updated_by,
				version, flags, format, ciphertext, key_id, env_size, written, written_by)
			SELECT 'ws' || w, 'id' || n, 'name_' || n, 'NAME_' || n, 1, now(), '', now(), '', 1, 0, 2, '\x01', 1, 10, now(), ''
			FROM generate_series(1, 300) w, generate_series(1, 50) n;
		INSERT INTO %[1]s.versions (workspace, secret_id, version, name, flags, format, ciphertext, key_id, env_size, written, written_by)
			SELECT workspace, secret_id, 1, name, 0, 2, ciphertext, 1, 10, now(), '' FROM %[1]s.secrets;
		INSERT INTO %[1]s.workspaces (workspace, env_size, state, key_gen) SELECT DISTINCT workspace, 500, 1, 1 FROM %[1]s.secrets;
		INSERT INTO %[1]s.workspaces (workspace, env_size, state, key_gen) SELECT 'empty' || w, 0, 1, 1 FROM generate_series(1, 20000) w;
		ANALYZE %[1]s.secrets; ANALYZE %[1]s.versions; ANALYZE %[1]s.workspaces;`, sch))
	if err != nil {
		t.Fatal(err)
	}
	args := map[string][]string{
		"Lookup": {"'ws7'", "'name_3'"}, "History": {"'ws7'", "'id3'"},
		"List": {"'ws7'", "false", "''", "'%%'", "100"},
		// A Diff's read of its text's names, in a workspace of 50.
		"ListNames": {"'ws7'", "'{name_3,name_9}'", "false", "''", "'%%'", "3"},
		// The statements of the read functions (migration 6), as the
		// database holds them, their parameters numbered.
		"env_read":    {"'ws7'", "NULL"},
		"env_audited": {"'ws7'", "NULL", "false", "now()", "'a'", "'inject'", "'ok'", "''"},
		"env_levels":  {"ARRAY['ws7', 'ws8']", "NULL"},
	}
	queries := secrets.PostgresQueries(s)
	for _, fn := range []string{"env_read", "env_audited", "env_levels"} {
		queries[fn] = functionQuery(t, db, s.Schema(), fn)
	}
	for name, q := range queries {
		if !strings.HasPrefix(q, "(") {
			q = " AS " + q
		}
		// Parameters as a prepared statement gets them, then the plan.
		tx, err := db.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("PREPARE plan_q" + q); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		err = tx.Select(&plan, "EXPLAIN EXECUTE plan_q("+strings.Join(args[name], ", ")+")")
		tx.Exec("DEALLOCATE plan_q")
		tx.Rollback()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := strings.Join(plan, "\n")
		if strings.Contains(p, "Seq Scan") || !strings.Contains(p, "Index") {
			t.Errorf("%s does not use an index:\n%s", name, p)
		}
	}
}

// functionQuery returns the query of the function fn's RETURN QUERY, as
// the database holds it, with its parameters written $1, $2, ...,
// preceded by their types: "(text, text[]) AS SELECT ...", for PREPARE.
func functionQuery(t *testing.T, db *sqlx.DB, schema, fn string) string {
	t.Helper()
	var src string
	var names, types pq.StringArray
	err := db.QueryRow(`SELECT p.prosrc, p.proargnames[1:p.pronargs],
			ARRAY(SELECT format_type(x, NULL) FROM unnest(p.proargtypes) x)
		FROM pg_proc p WHERE p.pronamespace = $1::regnamespace AND p.proname = $2`,
		pq.QuoteIdentifier(schema), fn).Scan(&src, &names, &types)
	if err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	_, body, ok := strings.Cut(src, "RETURN QUERY")
	if !ok {
		t.Fatalf("%s has no RETURN QUERY:\n%s", fn, src)
	}
	body, _, _ = strings.Cut(body, ";\nEND")
	for i := range names {
		body = regexp.MustCompile(`\b`+names[i]+`\b`).ReplaceAllString(body, fmt.Sprintf("$$%d", i+1))
	}
	return "(" + strings.Join(types, ", ") + ") AS " + body
}
