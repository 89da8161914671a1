package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// TestGrantsOffline: grants prints exactly secrets.PostgresGrants for
// --schema and the roles, with a database URL that nothing answers: it
// connects to nothing. Bad or missing names are usage errors that print
// nothing on stdout.
func TestGrantsOffline(t *testing.T) {
	t.Parallel()
	e := &env{t: t, dir: t.TempDir(), actor: "ops:test", url: "postgres://u:Sup3rSecretPw@127.0.0.1:1/none?sslmode=disable", schema: "store_x"}
	want, err := secrets.PostgresGrants("store_x", "owner", "app")
	if err != nil {
		t.Fatal(err)
	}
	if r := e.run(call{noKey: true}, "grants", "--migrator", "owner", "--runtime", "app").want(t, 0); r.stdout != want || r.stderr != "" {
		t.Fatalf("grants printed:\n%s\nstderr: %s\nwant:\n%s", r.stdout, r.stderr, want)
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"grants", "--migrator", "owner"}, "--runtime"},
		{[]string{"grants", "--runtime", "app"}, "--migrator"},
		{[]string{"grants", "--migrator", "app", "--runtime", "app"}, "two roles"},
		{[]string{"grants", "--migrator", "pg_owner", "--runtime", "app"}, "pg_"},
		{[]string{"--schema", "Bad-Schema", "grants", "--migrator", "owner", "--runtime", "app"}, "schema"},
		{[]string{"grants", "--migrator", "owner", "--runtime", "app", "extra"}, ""},
	} {
		if r := e.run(call{noKey: true}, c.args...).wantErr(t, 2, c.says); r.stdout != "" {
			t.Fatalf("%v printed: %s", c.args, r.stdout)
		}
	}
}

// TestGrantsRuntimeRole: the SQL of grants, applied as the migration role,
// lets a runtime role run migrate (which then changes nothing) and the
// commands; on a schema never migrated its migrate fails, naming the
// privilege it lacks and the migration role.
func TestGrantsRuntimeRole(t *testing.T) {
	e := newEnv(t)
	db, err := sqlx.Open("postgres", e.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // after the role's cleanup below
	var b [6]byte
	rand.Read(b[:])
	role, password := "cli_runtime_"+hex.EncodeToString(b[:]), hex.EncodeToString(b[:])+"Pw"
	for _, q := range []string{"CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'", "GRANT " + role + " TO CURRENT_USER"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, q := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := db.Exec(q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	var me string
	if err := db.Get(&me, "SELECT current_user"); err != nil {
		t.Fatal(err)
	}
	sql := e.run(call{noKey: true}, "grants", "--migrator", me, "--runtime", role).want(t, 0).stdout
	if _, err := db.Exec(sql); err != nil {
		t.Fatalf("the SQL of grants: %v\n%s", err, sql)
	}

	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, password)
	as := call{env: []string{"DATABASE_URL=" + u.String()}}
	if r := e.run(as, "migrate").want(t, 0); !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("migrate as the runtime role: %s", r.stdout)
	}
	e.run(call{stdin: "v1", env: as.env}, "set", "ws", "TOKEN").want(t, 0)
	if r := e.run(as, "get", "ws", "TOKEN").want(t, 0); r.stdout != "v1" {
		t.Fatalf("get as the runtime role: %q", r.stdout)
	}

	never := call{noKey: true, env: append(as.env, "SECRETS_SCHEMA="+e.schema+"_never")}
	r := e.run(never, "migrate").wantErr(t, 1, "CREATE on database", role, "migration role")
	if strings.Contains(r.stderr, password) {
		t.Fatal("the error shows the password")
	}
}

// TestMigrateSaysWhatItDid: migrate names the versions it went from and
// to (a trial found "is up to date" printed after creating a schema).
func TestMigrateSaysWhatItDid(t *testing.T) {
	e := newEnv(t) // created, as newEnv checks
	db, err := sqlx.Open("postgres", e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var latest int64
	if err := db.Get(&latest, "SELECT max(version_id) FROM "+pq.QuoteIdentifier(e.schema)+".goose_db_version"); err != nil {
		t.Fatal(err)
	}
	if r := e.ctl("", "migrate").want(t, 0); r.stdout != fmt.Sprintf("schema %s is up to date (version %d)\n", e.schema, latest) {
		t.Fatalf("migrate of a current schema: %q", r.stdout)
	}
	// Undo the last migration by hand (migration 12 creates an index if
	// it is missing, which the repeated migration finds) to stand for a
	// schema an earlier release left.
	if latest != 12 {
		t.Fatalf("the newest migration is %d: undo it here as this test undoes 12", latest)
	}
	sch := pq.QuoteIdentifier(e.schema)
	if _, err := db.Exec("DELETE FROM " + sch + ".goose_db_version WHERE version_id = 12"); err != nil {
		t.Fatal(err)
	}
	if r := e.ctl("", "migrate").want(t, 0); r.stdout != fmt.Sprintf("schema %s migrated from version 11 to 12\n", e.schema) {
		t.Fatalf("migrate of a schema one behind: %q", r.stdout)
	}
	e.ctl("v", "set", "ws", "TOKEN").want(t, 0)
	if r := e.ctl("", "get", "ws", "TOKEN").want(t, 0); r.stdout != "v" {
		t.Fatalf("get after the migration: %q", r.stdout)
	}
}
