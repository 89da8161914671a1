package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/dataspace/secrets/storetest"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// runtimeRole creates a LOGIN role with no privilege of its own, dropped
// (with what was granted to it) when the test ends, and returns the pools
// of both drivers that connect as it.
func runtimeRole(t *testing.T, admin *sqlx.DB) []pgPool {
	t.Helper()
	role := randomSchema("runtime_")
	password := randomSchema("pw_")
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'",
		"GRANT " + role + " TO CURRENT_USER", // so that DROP OWNED BY may act for it
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		for _, q := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := admin.Exec(q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	return []pgPool{{driver: "postgres", user: role, password: password}, {driver: "pgx", user: role, password: password}}
}

// grant applies what PostgresGrants prints for schema, with the test's
// own role (which owns the schema and migrated it) as the migration role.
func grant(t testing.TB, admin *sqlx.DB, schema, runtime string) {
	t.Helper()
	var me string
	if err := admin.Get(&me, "SELECT current_user"); err != nil {
		t.Fatal(err)
	}
	sql, err := secrets.PostgresGrants(schema, me, runtime)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(sql); err != nil {
		t.Fatalf("the grants of PostgresGrants failed: %v\n%s", err, sql)
	}
	// No function of the schema is left to PUBLIC, those of the last
	// migrations included.
	var open []string
	if err := admin.Select(&open, `SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = $1 AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')`, schema); err != nil {
		t.Fatal(err)
	}
	if len(open) > 0 {
		t.Fatalf("PUBLIC may still execute %v", open)
	}
}

// runtimeStore returns a store over pool p (the runtime role) on a new
// schema that the test's role migrated and granted as PostgresGrants
// says; its Migrate has run, as every replica's does at start.
func runtimeStore(t testing.TB, admin, db *sqlx.DB, role string) *secrets.PostgresStore {
	t.Helper()
	owner := newPGStore(t, admin)
	grant(t, admin, owner.Schema(), role)
	s := sameSchema(t, db, owner)
	before := versionRows(t, admin, s.Schema())
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate as the runtime role on a current schema: %v", err)
	}
	if after := versionRows(t, admin, s.Schema()); after != before {
		t.Fatalf("Migrate as the runtime role recorded versions: %d rows, then %d", before, after)
	}
	return s
}

// versionRows counts the rows of the schema's goose_db_version.
func versionRows(t testing.TB, db *sqlx.DB, schema string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, "SELECT count(*) FROM "+pq.QuoteIdentifier(schema)+".goose_db_version"); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPostgresRuntimeRoleConformance runs the Store suite as a role that
// has only what PostgresGrants gives the runtime role, over both drivers.
func TestPostgresRuntimeRoleConformance(t *testing.T) {
	t.Parallel() // long, and shares nothing with the other parallel tests
	admin := pgDB(t)
	for _, p := range runtimeRole(t, admin) {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel() // a schema of its own for each test
			db := p.open(t, 12)
			storetest.Run(t, func(t *testing.T) secrets.Store { return runtimeStore(t, admin, db, p.user) })
		})
	}
}

// TestPostgresRuntimeRoleManager: the Manager's lifecycle as the runtime
// role, and that the role has no more than PostgresGrants says.
func TestPostgresRuntimeRoleManager(t *testing.T) {
	admin := pgDB(t)
	for _, p := range runtimeRole(t, admin) {
		t.Run(p.String(), func(t *testing.T) {
			ctx := secrets.WithActor(context.Background(), "user:1")
			db := p.open(t, 4)
			s := runtimeStore(t, admin, db, p.user)
			var now atomic.Int64
			now.Store(time.Now().UnixMicro())
			m := newManager(t, s, newCipher(t), &secrets.Config{
				Now:            func() time.Time { return time.UnixMicro(now.Load()) },
				AuditKey:       newAuditKey(t),
				EventRetention: 24 * time.Hour,
			})
			meta := mustSet(t, m, "ws", "TOKEN", "v1")
			if _, err := m.Set(ctx, "ws", "TOKEN", []byte("v2"), &secrets.SetOptions{IfRevision: meta.Revision}); err != nil {
				t.Fatal(err)
			}
			mustSet(t, m, "ws", "GONE", "x")
			if sec, err := m.Get(ctx, "ws", "TOKEN"); err != nil || string(sec.Value.Reveal()) != "v2" {
				t.Fatalf("Get: %v", err)
			}
			if env, err := m.EnvFor(ctx, "ws"); err != nil || len(env) != 2 {
				t.Fatalf("EnvFor: %d variables, %v", len(env), err)
			}
			if r, err := m.RotateKey(ctx, "ws", nil); err != nil || r.Reencrypted == 0 {
				t.Fatalf("RotateKey: %+v, %v", r, err)
			}
			if sec, err := m.Get(ctx, "ws", "TOKEN"); err != nil || string(sec.Value.Reveal()) != "v2" {
				t.Fatalf("Get after RotateKey: %v", err)
			}
			gone, err := m.Meta(ctx, "ws", "GONE")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Delete(ctx, "ws", "GONE", &secrets.WriteOptions{IfRevision: gone.Revision}); err != nil {
				t.Fatal(err)
			}
			now.Add((90 * 24 * time.Hour).Microseconds())
			if r, err := m.Purge(ctx); err != nil || r.Destroyed != 1 || r.EventsDropped == 0 {
				t.Fatalf("Purge: %+v, %v (want a destroyed secret and dropped events)", r, err)
			}
			if _, err := m.EnvFor(ctx, "ws"); err != nil {
				t.Fatal(err)
			}
			if evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws"}); err != nil || len(evs) == 0 {
				t.Fatalf("Events: %d, %v", len(evs), err)
			}
			if err := m.DeleteWorkspace(ctx, "ws"); err != nil {
				t.Fatal(err)
			}

			// No more than the grants: no DDL, no writing the versions.
			sch := pq.QuoteIdentifier(s.Schema())
			for _, q := range []string{
				"CREATE TABLE " + sch + ".intruder (x int)",
				"INSERT INTO " + sch + ".goose_db_version (version_id, is_applied) VALUES (99, true)",
				"DELETE FROM " + sch + ".goose_db_version",
				"ALTER TABLE " + sch + ".secrets ADD COLUMN intruder int",
				"TRUNCATE " + sch + ".audit",
			} {
				if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "42501") && !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner") {
					t.Errorf("%s as the runtime role: %v (want permission denied)", q, err)
				}
			}
		})
	}
}

// TestPostgresRuntimeRoleMigrateBehind: the runtime role's Migrate on a
// schema that is behind, or missing, fails with ErrMigratePrivilege,
// naming what it lacks, and changes nothing; once the migration role has
// migrated, the same call succeeds and changes nothing.
func TestPostgresRuntimeRoleMigrateBehind(t *testing.T) {
	admin := pgDB(t)
	ctx := context.Background()
	for _, p := range runtimeRole(t, admin) {
		t.Run(p.String(), func(t *testing.T) {
			owner, err := secrets.NewPostgresStore(admin, &secrets.PostgresConfig{Schema: randomSchema("t_")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dropSchema(t, admin, owner.Schema()) })
			runtime := sameSchema(t, p.open(t, 2), owner)

			// Missing: the role may not create the schema.
			err = runtime.Migrate(ctx)
			var pe *secrets.MigratePrivilegeError
			if !errors.Is(err, secrets.ErrMigratePrivilege) || !errors.As(err, &pe) {
				t.Fatalf("Migrate of a missing schema as the runtime role: %v (want ErrMigratePrivilege)", err)
			}
			if !strings.Contains(pe.Missing, "CREATE on database") || pe.Role != p.user || pe.Version != 0 || pe.Want < 3 || pe.Schema != owner.Schema() {
				t.Fatalf("the error: %+v", pe)
			}
			var exists bool
			if err := admin.Get(&exists, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", owner.Schema()); err != nil || exists {
				t.Fatalf("the schema exists after a refused Migrate: %v, %v", exists, err)
			}

			// Behind: version 2, not granted yet: the role cannot read the
			// schema's version, and the error says to run the grants
			// rather than that the schema is at version 0 (a trial found
			// that).
			if err := secrets.MigrateTo(ctx, owner, 2); err != nil {
				t.Fatal(err)
			}
			err = runtime.Migrate(ctx)
			if !errors.As(err, &pe) || !errors.Is(err, secrets.ErrMigratePrivilege) || !pe.Unreadable {
				t.Fatalf("Migrate of a schema not granted: %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "PostgresGrants") || !strings.Contains(msg, "may not read the version") || strings.Contains(msg, "version 0") {
				t.Fatalf("the error: %q", msg)
			}
			// A read as the role not granted says which grants it needs.
			if _, err := runtime.Lookup(ctx, "ws", "TOKEN"); err == nil || !strings.Contains(err.Error(), "lacks a privilege") || !strings.Contains(err.Error(), "PostgresGrants") {
				t.Fatalf("a read without the grants: %v", err)
			}

			// Behind: version 2, granted as PostgresGrants says.
			grant(t, admin, owner.Schema(), p.user)
			before := versionRows(t, admin, owner.Schema())
			err = runtime.Migrate(ctx)
			if !errors.As(err, &pe) || !errors.Is(err, secrets.ErrMigratePrivilege) {
				t.Fatalf("Migrate of a schema behind as the runtime role: %v (want ErrMigratePrivilege)", err)
			}
			steps, serr := pgschema.Steps(`"x"`)
			if serr != nil {
				t.Fatal(serr)
			}
			latest := int64(len(steps))
			if pe.Version != 2 || pe.Want != latest || !strings.Contains(pe.Missing, "CREATE on schema") || !strings.Contains(pe.Missing, "ownership") {
				t.Fatalf("the error: %+v", pe)
			}
			msg := err.Error()
			for _, s := range []string{p.user, owner.Schema(), "version 2", fmt.Sprintf("needs %d", latest), "migration role"} {
				if !strings.Contains(msg, s) {
					t.Errorf("the error %q does not say %q", msg, s)
				}
			}
			if strings.Contains(msg, p.password) {
				t.Fatal("the error holds the password")
			}
			if after := versionRows(t, admin, owner.Schema()); after != before {
				t.Fatalf("a refused Migrate recorded versions: %d rows, then %d", before, after)
			}
			var cols int
			if err := admin.Get(&cols, `SELECT count(*) FROM information_schema.columns
				WHERE table_schema = $1 AND table_name = 'audit' AND column_name = 'parents'`, owner.Schema()); err != nil || cols != 0 {
				t.Fatalf("a refused Migrate applied version 3: %d, %v", cols, err)
			}

			// The migration role migrates; the runtime role's Migrate is a
			// no-op, and the store works (version 3's column included).
			if err := owner.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			before = versionRows(t, admin, owner.Schema())
			if err := runtime.Migrate(ctx); err != nil {
				t.Fatalf("Migrate as the runtime role after the migration: %v", err)
			}
			if after := versionRows(t, admin, owner.Schema()); after != before {
				t.Fatalf("the runtime role's Migrate recorded versions: %d rows, then %d", before, after)
			}
			m := newManager(t, runtime, newCipher(t), nil)
			mustSet(t, m, "ws", "A", "1")
			if env, err := m.EnvFor(secrets.WithActor(ctx, "job:1"), "ws"); err != nil || len(env) != 1 {
				t.Fatalf("EnvFor: %v, %v", env, err)
			}
		})
	}
}

// TestPostgresGrantsInvalid: names PostgresGrants cannot use.
func TestPostgresGrantsInvalid(t *testing.T) {
	for _, c := range [][3]string{
		{"Bad-Schema", "mig", "app"},
		{"", "mig", "app"},
		{"secrets", "", "app"},
		{"secrets", "mig", ""},
		{"secrets", "mig", "mig"},
		{"secrets", "pg_monitor", "app"},
		{"secrets", "mig", "PUBLIC"},
		{"secrets", "mig", "a\nb"},
		{"secrets", "mig", "\xff"},
		{"secrets", strings.Repeat("m", 64), "app"},
	} {
		if sql, err := secrets.PostgresGrants(c[0], c[1], c[2]); !errors.Is(err, secrets.ErrInvalidIdentifier) || sql != "" {
			t.Errorf("PostgresGrants(%q, %q, %q): %v (want ErrInvalidIdentifier and nothing)", c[0], c[1], c[2], err)
		}
	}
	sql, err := secrets.PostgresGrants("s", `Mig "x"`, "app")
	if err != nil || !strings.Contains(sql, `"Mig ""x"""`) {
		t.Fatalf("a quoted role: %v\n%s", err, sql)
	}
}

// TestPostgresRuntimeRoleMigrateRace: replicas of the runtime role call
// Migrate while the migration role migrates a schema from version 2: each
// call either succeeds (it saw the schema current) or fails with
// ErrMigratePrivilege, never another error; after the migration, every
// call succeeds.
func TestPostgresRuntimeRoleMigrateRace(t *testing.T) {
	admin := pgDB(t)
	ctx := context.Background()
	p := runtimeRole(t, admin)[1]
	owner, err := secrets.NewPostgresStore(admin, &secrets.PostgresConfig{Schema: randomSchema("t_")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropSchema(t, admin, owner.Schema()) })
	if err := secrets.MigrateTo(ctx, owner, 2); err != nil {
		t.Fatal(err)
	}
	grant(t, admin, owner.Schema(), p.user)
	db := p.open(t, 8)
	errs := make(chan error, 8*20)
	done := make(chan struct{})
	for range 8 {
		r := sameSchema(t, db, owner)
		go func() {
			defer func() { done <- struct{}{} }()
			for range 20 {
				errs <- r.Migrate(ctx)
			}
		}()
	}
	if err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for range 8 {
		<-done
	}
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, secrets.ErrMigratePrivilege) {
			t.Fatalf("Migrate as the runtime role during a migration: %v", err)
		}
	}
	if err := sameSchema(t, db, owner).Migrate(ctx); err != nil {
		t.Fatalf("Migrate as the runtime role after the migration: %v", err)
	}
}
