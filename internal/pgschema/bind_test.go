package pgschema

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
)

func TestCompileRewritesNames(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		params         []string
	}{
		{"in order of first appearance", `SELECT :b, :a`, `SELECT $1, $2`, []string{"b", "a"}},
		{"repeated parameter is one", `SELECT 1 WHERE x = :ws AND y = :n OR z = :ws`, `SELECT 1 WHERE x = $1 AND y = $2 OR z = $1`, []string{"ws", "n"}},
		{"cast after a parameter", `SELECT :names::text[], :n::int`, `SELECT $1::text[], $2::int`, []string{"names", "n"}},
		{"cast alone", `SELECT x::bytea, '{}'::text[]`, `SELECT x::bytea, '{}'::text[]`, nil},
		{"string literal with a colon", `SELECT ':not_a_param', 'it''s :x', :y`, `SELECT ':not_a_param', 'it''s :x', $1`, []string{"y"}},
		{"escape string", `SELECT E'\' :x', :y`, `SELECT E'\' :x', $1`, []string{"y"}},
		{"quoted identifier", `SELECT 1 AS "a:b", :c`, `SELECT 1 AS "a:b", $1`, []string{"c"}},
		{"line comment", "SELECT :a -- not :b\n, :c", "SELECT $1 -- not :b\n, $2", []string{"a", "c"}},
		{"nested block comment", `SELECT /* :x /* :y */ :z */ :a`, `SELECT /* :x /* :y */ :z */ $1`, []string{"a"}},
		{"dollar quotes", `SELECT $$ :x $$, $fn$ :y $fn$, :z`, `SELECT $$ :x $$, $fn$ :y $fn$, $1`, []string{"z"}},
		{"array slice", `SELECT a[1:2], :p`, `SELECT a[1:2], $1`, []string{"p"}},
		{"schema marker is text", `SELECT {{schema}}.f(:w)`, `SELECT {{schema}}.f($1)`, []string{"w"}},
		{"at sign in a literal", `split_part(s.name_key, '@', 1) = ANY(:names)`, `split_part(s.name_key, '@', 1) = ANY($1)`, []string{"names"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := Compile(c.name, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if q.SQL != c.want {
				t.Errorf("SQL\n got %s\nwant %s", q.SQL, c.want)
			}
			if !slices.Equal(q.Params(), c.params) {
				t.Errorf("params %q, want %q", q.Params(), c.params)
			}
		})
	}
}

func TestCompileRefuses(t *testing.T) {
	for _, in := range []string{
		`SELECT $1`,
		`SELECT :a, $2`,
		`SELECT 'open`,
		`SELECT "open`,
		`SELECT /* open`,
		`SELECT $fn$ open`,
		`SELECT E'\'`,
	} {
		if _, err := Compile("x", in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Compile(%q): %v, want ErrSyntax", in, err)
		}
	}
}

func TestArgs(t *testing.T) {
	q, err := Compile("q", `SELECT :b, :a, :b::text, ':c'`)
	if err != nil {
		t.Fatal(err)
	}
	args, err := q.Args(Params{"a": 1, "b": nil})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(args, []any{nil, 1}) {
		t.Errorf("args %v, want [<nil> 1]", args)
	}
	const secret = "s3cr3t-value"
	_, err = q.Args(Params{"a": secret})
	if !errors.Is(err, ErrMissingParam) || !strings.Contains(err.Error(), ":b") || strings.Contains(err.Error(), secret) {
		t.Errorf("missing parameter: %v", err)
	}
	_, err = q.Args(Params{"a": 1, "b": 2, "c": secret, "z": 3})
	if !errors.Is(err, ErrUnknownParam) || !strings.Contains(err.Error(), ":c") || strings.Contains(err.Error(), secret) {
		t.Errorf("unknown parameter: %v", err)
	}
	none, err := Compile("none", `SELECT 1`)
	if err != nil {
		t.Fatal(err)
	}
	if args, err := none.Args(nil); err != nil || len(args) != 0 {
		t.Errorf("no parameters: %v, %v", args, err)
	}
	if _, err := none.Args(Params{"x": 1}); !errors.Is(err, ErrUnknownParam) {
		t.Errorf("a parameter for a statement without: %v", err)
	}
}

// TestCompiledRunsOnPostgres runs a compiled statement with a repeated
// parameter, casts and colons in literals on a real server, through both
// drivers the store supports.
func TestCompiledRunsOnPostgres(t *testing.T) {
	dsn := testDSN(t)
	q, err := Compile("q", `SELECT :a::text || ':b' || E'\':x' || $$:y$$ AS "c:d", :n::int + :n, array_length(:arr::text[], 1)`)
	if err != nil {
		t.Fatal(err)
	}
	args, err := q.Args(Params{"a": "A", "n": 20, "arr": "{p,q,r}"})
	if err != nil {
		t.Fatal(err)
	}
	for _, driver := range []string{"postgres", "pgx"} {
		t.Run(driver, func(t *testing.T) {
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var s string
			var sum, n int
			if err := db.QueryRowContext(context.Background(), q.SQL, args...).Scan(&s, &sum, &n); err != nil {
				t.Fatal(err)
			}
			if s != "A:b':x:y" || sum != 40 || n != 3 {
				t.Errorf("got %q %d %d", s, sum, n)
			}
		})
	}
}

// testDSN is DATABASE_URL; without it t skips, unless CI is set (a CI run
// must never skip the Postgres tests).
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but DATABASE_URL is empty")
		}
		t.Skip("DATABASE_URL is not set; run scripts/test")
	}
	return dsn
}
