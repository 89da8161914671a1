package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/internal/pgschema"
	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"
)

// TestPostgresUpgrade makes the database that the first release left
// behind (migration 1 only) with realistic data: secrets with several
// versions, write-only and file secrets, a soft-deleted and a destroyed
// one, audit events, three key generations. A replica of this release
// refuses to serve it; it then migrates to the head and reads, rotates
// and reads everything again. Every later migration is covered by it.
func TestPostgresUpgrade(t *testing.T) {
	db := pgDB(t)
	ctx := secrets.WithActor(context.Background(), "user:upgrade")
	s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: randomSchema("up_")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); dropSchema(t, db, s.Schema()) })
	if v, err := s.SchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("SchemaVersion of no schema: %d, %v", v, err)
	}
	if err := secrets.MigrateTo(ctx, s, 1); err != nil {
		t.Fatalf("migrate to version 1: %v", err)
	}
	var version int64
	if err := db.Get(&version, "SELECT max(version_id) FROM "+pq.QuoteIdentifier(s.Schema())+".goose_db_version"); err != nil || version != 1 {
		t.Fatalf("schema at version %d (%v), want 1", version, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != 1 {
		t.Fatalf("SchemaVersion at version 1: %d, %v", v, err)
	}

	// This release calls put_secret with the count and its limit
	// (migration 9); at version 1 a shim of that signature writes through
	// version 1's put_secret, so that the data below is what version 1's
	// functions wrote. It goes before the migration, which makes the real
	// one.
	sch := pq.QuoteIdentifier(s.Schema())
	args := make([]string, 40)
	for i := range args {
		args[i] = fmt.Sprintf("$%d", i+1)
	}
	db.MustExec(`CREATE FUNCTION ` + sch + `.put_secret(
		p_single boolean, INOUT total bigint, INOUT state bigint, INOUT key_gen bigint,
		p_workspace text, p_secret_id text, p_expect bigint, p_new_version boolean, p_destroy boolean,
		p_check boolean, p_key_gen bigint, p_keep bigint, p_max_env bigint,
		p_name text, p_revision bigint, p_created timestamptz, p_created_by text,
		p_updated timestamptz, p_updated_by text, p_description text, p_expires timestamptz,
		p_rotate_by timestamptz, p_deleted timestamptz, p_deleted_by text,
		p_version bigint, p_flags smallint, p_format smallint, p_ciphertext bytea, p_key_id bigint,
		p_env_size bigint, p_fingerprint bytea, p_written timestamptz, p_written_by text,
		p_rs_versions bigint[], p_rs_names text[], p_rs_flags smallint[], p_rs_formats smallint[],
		p_rs_cts bytea[], p_rs_key_ids bigint[], p_rs_env bigint[], INOUT n_secrets bigint, p_max_secrets bigint
	) LANGUAGE sql AS $$ SELECT p.total, p.state, p.key_gen, 0::bigint FROM ` + sch + `.put_secret(` + strings.Join(args, ", ") + `) p $$`)

	var now atomic.Int64
	now.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMicro())
	clock := func() time.Time { return time.UnixMicro(now.Load()) }
	cipher := newCipher(t)
	m := newManager(t, s, cipher, &secrets.Config{Now: clock, KeepVersions: 3})

	// Realistic data written through the schema of version 1.
	want := map[string]map[string]string{} // workspace -> name -> current value
	for w := range 3 {
		ws := fmt.Sprintf("ws-%d", w)
		want[ws] = map[string]string{}
		for i := range 6 {
			name := fmt.Sprintf("TOKEN_%d", i)
			for v := range i%4 + 1 { // 1 to 4 versions; KeepVersions prunes past 3
				val := fmt.Sprintf("value-%s-%s-v%d", ws, name, v+1)
				if _, err := m.Set(ctx, ws, name, []byte(val), nil); err != nil {
					t.Fatal(err)
				}
				want[ws][name] = val
			}
		}
		if _, err := m.Set(ctx, ws, "DEPLOY_KEY", []byte("-----BEGIN KEY-----\nabc\n-----END KEY-----\n"),
			&secrets.SetOptions{Info: &secrets.Info{WriteOnly: true, File: true, Description: "deploy"}}); err != nil {
			t.Fatal(err)
		}
		want[ws]["DEPLOY_KEY"] = "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
		gone := mustSet(t, m, ws, "GONE", "soon deleted")
		if _, err := m.Delete(ctx, ws, "GONE", &secrets.WriteOptions{IfRevision: gone.Revision}); err != nil {
			t.Fatal(err)
		}
		destroyed := mustSet(t, m, ws, "DESTROYED", "soon destroyed")
		if err := m.Destroy(ctx, ws, "DESTROYED", &secrets.WriteOptions{IfRevision: destroyed.Revision}); err != nil {
			t.Fatal(err)
		}
		// A job's inject event as the release of version 1 recorded it,
		// in the statement that read (this release reads through a
		// function of migration 6).
		if _, err := db.Exec(`INSERT INTO `+pq.QuoteIdentifier(s.Schema())+`.audit (at, actor, action, workspace, state, names, outcome, detail)
			SELECT now(), 'user:upgrade', 'inject', workspace, state, NULL, 'ok', '' FROM `+pq.QuoteIdentifier(s.Schema())+`.workspaces
			WHERE workspace = $1`, ws); err != nil {
			t.Fatal(err)
		}
		// Three key generations: the first key, and two rotations, the
		// second of them for one workspace only. A rotation's event,
		// recorded after it, needs a column of a later migration: the
		// rotation is made and says its event was not recorded.
		if _, err := m.RotateKey(ctx, ws, nil); err != nil && !errors.Is(err, secrets.ErrAudit) {
			t.Fatal(err)
		}
		if w == 0 {
			if _, err := m.RotateKey(ctx, ws, nil); err != nil && !errors.Is(err, secrets.ErrAudit) {
				t.Fatal(err)
			}
		}
	}
	// The audit trail as rows: the new code's Events needs the new
	// columns, which the migration adds.
	auditRows := func() []string {
		t.Helper()
		var rows []string
		err := db.Select(&rows, `SELECT concat_ws('|', id, at, actor, action, workspace, state, names, versions, outcome, detail)
			FROM `+pq.QuoteIdentifier(s.Schema())+`.audit ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	eventsBefore := auditRows()
	if len(eventsBefore) < 20 {
		t.Fatalf("only %d events before the upgrade", len(eventsBefore))
	}

	// A replica of this release on the schema of version 1 (started
	// without Migrate) reads nothing: its jobs fail, naming Migrate. A
	// replica of the previous release reads throughout a migration
	// (TestPostgresOldReplicaDuringMigration).
	replica := newManager(t, sameSchema(t, pgPools[1].open(t, 2), s), cipher, &secrets.Config{Now: clock})
	if env, err := replica.EnvFor(ctx, "ws-1"); err == nil || env != nil || !strings.Contains(err.Error(), "call Migrate") {
		t.Fatalf("EnvFor before Migrate: %d variables, %v; want none and an error naming Migrate", len(env), err)
	}
	db.MustExec(`DROP FUNCTION ` + sch + `.put_secret(boolean, bigint, bigint, bigint, text, text, bigint, boolean, boolean,
		boolean, bigint, bigint, bigint, text, bigint, timestamptz, text, timestamptz, text, text, timestamptz,
		timestamptz, timestamptz, text, bigint, smallint, smallint, bytea, bigint, bigint, bytea, timestamptz, text,
		bigint[], text[], smallint[], smallint[], bytea[], bigint[], bigint[], bigint, bigint)`)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate to the head: %v", err)
	}
	if _, err := replica.EnvFor(ctx, "ws-1"); err != nil {
		t.Fatalf("EnvFor after Migrate: %v", err)
	}
	steps, err := pgschema.Steps(`"x"`)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&version, "SELECT max(version_id) FROM "+pq.QuoteIdentifier(s.Schema())+".goose_db_version"); err != nil || version != steps[len(steps)-1].Version {
		t.Fatalf("schema at version %d (%v) after Migrate, want %d", version, err, steps[len(steps)-1].Version)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != version {
		t.Fatalf("SchemaVersion after Migrate: %d, %v", v, err)
	}

	// Everything reads back, by every path; then every workspace rotates
	// and reads back again.
	check := func(stage string) {
		t.Helper()
		for ws, secretsOf := range want {
			env, err := m.EnvFor(ctx, ws)
			if err != nil {
				t.Fatalf("%s: EnvFor(%s): %v", stage, ws, err)
			}
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			if d := cmp.Diff(secretsOf, got); d != "" {
				t.Fatalf("%s: EnvFor(%s) (-want +got):\n%s", stage, ws, d)
			}
			for name, val := range secretsOf {
				if name == "DEPLOY_KEY" {
					if _, err := m.Get(ctx, ws, name); err == nil {
						t.Fatalf("%s: a write-only secret was revealed", stage)
					}
					continue
				}
				vs, err := m.Versions(ctx, ws, name)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vs {
					sec, err := m.GetVersion(ctx, ws, name, v.Version)
					if err != nil {
						t.Fatalf("%s: GetVersion(%s, %s, %d): %v", stage, ws, name, v.Version, err)
					}
					wantV := fmt.Sprintf("value-%s-%s-v%d", ws, name, v.Version)
					if !bytes.Equal(sec.Value.Reveal(), []byte(wantV)) {
						t.Fatalf("%s: %s %s version %d does not read back", stage, ws, name, v.Version)
					}
					if v.Current && wantV != val {
						t.Fatalf("%s: %s %s: current version %d, want the value %q", stage, ws, name, v.Version, val)
					}
				}
			}
			deleted, err := m.List(ctx, ws, &secrets.ListOptions{Deleted: true})
			if err != nil || len(deleted.Secrets) != 1 || deleted.Secrets[0].Name != "GONE" {
				t.Fatalf("%s: deleted secrets of %s: %v, %v", stage, ws, deleted.Secrets, err)
			}
		}
	}
	check("after the upgrade")
	eventsAfter := auditRows()
	if len(eventsAfter) < len(eventsBefore) {
		t.Fatalf("%d events before the upgrade, %d after", len(eventsBefore), len(eventsAfter))
	}
	if d := cmp.Diff(eventsBefore, eventsAfter[:len(eventsBefore)]); d != "" {
		t.Fatalf("the events recorded before the upgrade changed (-before +after):\n%s", d)
	}
	// And they read through Events, the ledger's deliveries included.
	evs, err := m.Events(ctx, secrets.EventQuery{Action: secrets.ActionInject, Workspace: "ws-2", Limit: 10})
	if err != nil || len(evs) == 0 || len(evs[0].Secrets) != 7 {
		t.Fatalf("the inject events from before the upgrade: %+v, %v", evs, err)
	}
	for ws := range want {
		if _, err := m.RotateKey(ctx, ws, nil); err != nil {
			t.Fatalf("RotateKey(%s) after the upgrade: %v", ws, err)
		}
	}
	check("after a rotation")
	if _, err := m.Undelete(ctx, "ws-0", "GONE", nil); err == nil {
		// Undelete without a revision is refused or applied; either way
		// the secret must read back when it applied.
		if sec, err := m.Get(ctx, "ws-0", "GONE"); err != nil || string(sec.Value.Reveal()) != "soon deleted" {
			t.Fatalf("an undeleted secret does not read back: %v", err)
		}
	}
	// Migration 0004: scoped and protected secrets, next to the old ones,
	// go only to the jobs they are for; the event names the environment.
	if _, err := m.Set(ctx, "ws-1", "TOKEN_0@production", []byte("prod-after-upgrade"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
		t.Fatal(err)
	}
	job, err := m.Prepare(ctx, "ws-1", &secrets.PrepareOptions{Environment: "production", Protected: true, Names: []string{"TOKEN_0"}, Base: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	job.Close()
	if d := cmp.Diff([]string{"TOKEN_0=prod-after-upgrade"}, []string(job.Env)); d != "" {
		t.Fatalf("a protected production job after the upgrade (-want +got):\n%s", d)
	}
	delete(want, "ws-0")
	delete(want, "ws-2")
	check("with a scoped, protected secret beside them")
	evs, err = m.Events(ctx, secrets.EventQuery{Action: secrets.ActionInject, Workspace: "ws-1", Newest: true, Limit: 10})
	prod := 0
	for _, e := range evs {
		if e.Environment == "production" && e.Protected {
			prod++
		}
	}
	if err != nil || len(evs) < 2 || evs[0].Environment != "" || prod != 1 {
		t.Fatalf("events after the upgrade (one of a protected production job): %+v, %v", evs, err)
	}
	// Migration 0007: the master key the first release registered is not
	// retired; after a move to a new key it can be, and then a Manager
	// still configured with it makes no workspace key.
	if keys, err := s.MasterKeys(ctx); err != nil || len(keys) != 1 || keys[0].ID != cipher.ID() || !keys[0].Retired.IsZero() {
		t.Fatalf("the master keys after the upgrade: %+v, %v", keys, err)
	}
	next := newCipher(t)
	moved := newManager(t, s, next, &secrets.Config{Now: clock, DecryptOnly: []secrets.Cipher{cipher}, AddMasterKey: true})
	if _, err := moved.Rewrap(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := moved.RetireMasterKey(ctx, cipher.ID()); err != nil {
		t.Fatalf("RetireMasterKey after the upgrade: %v", err)
	}
	if _, err := m.Set(ctx, "ws-new", "TOKEN", []byte("x"), nil); !errors.Is(err, secrets.ErrMasterKey) {
		t.Fatalf("a new workspace under the retired master key: %v", err)
	}
	if env, err := moved.EnvFor(ctx, "ws-1"); err != nil || len(env) != 7 {
		t.Fatalf("EnvFor under the new master key: %d variables, %v", len(env), err)
	}
	upgradeSecretCount(ctx, t, next, clock, s)
}

// TestPostgresFunctionsPinSearchPath: every function of the schema runs
// with search_path pg_catalog, pg_temp, whatever migration made it. A
// migration that replaces a function without SET search_path fails here.
func TestPostgresFunctionsPinSearchPath(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	var rows []struct {
		Name   string `db:"name"`
		Config string `db:"config"`
	}
	err := db.Select(&rows, `SELECT p.oid::regprocedure::text AS name, coalesce(array_to_string(p.proconfig, ';'), '') AS config
		FROM pg_proc p WHERE p.pronamespace = $1::regnamespace ORDER BY 1`, pq.QuoteIdentifier(s.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 6 {
		t.Fatalf("found %d functions in the schema; the query is broken", len(rows))
	}
	for _, r := range rows {
		if r.Config != "search_path=pg_catalog, pg_temp" {
			t.Errorf("%s runs with %q, want search_path=pg_catalog, pg_temp", r.Name, r.Config)
		}
	}
}

// TestPostgresSearchPathHijack: a role that may create objects in public
// defines public.nextval(text), which an untyped literal prefers to
// pg_catalog.nextval(regclass), and records who called it. The store's
// functions never call it: not on Set, RotateKey, Destroy, Purge or
// DeleteWorkspace. A control function without a pinned search_path shows
// that the trap catches what it should.
func TestPostgresSearchPathHijack(t *testing.T) {
	db := pgDB(t)
	ctx := context.Background()
	s := newPGStore(t, db)
	schema := pq.QuoteIdentifier(s.Schema())
	attacker := randomSchema("attacker_")
	trap := randomSchema("trap_")
	conn, err := db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE ROLE " + attacker)
	exec("GRANT " + attacker + " TO CURRENT_USER") // so that SET ROLE may act as it
	exec("GRANT CREATE, USAGE ON SCHEMA public TO " + attacker)
	exec("CREATE TABLE public." + trap + " (arg text, by_user text)")
	exec("GRANT INSERT ON public." + trap + " TO PUBLIC")
	t.Cleanup(func() {
		for _, q := range []string{
			"DROP FUNCTION IF EXISTS public.nextval(text)",
			"DROP TABLE IF EXISTS public." + trap,
			"REVOKE ALL ON SCHEMA public FROM " + attacker,
			"DROP ROLE IF EXISTS " + attacker,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	exec("SET ROLE " + attacker)
	exec(`CREATE FUNCTION public.nextval(arg text) RETURNS bigint LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO public.` + trap + ` VALUES (arg, current_user);
			RETURN pg_catalog.nextval(arg::regclass);
		END $$`)
	exec("RESET ROLE")
	caught := func() int {
		t.Helper()
		var n int
		// Only this test's schema: other tests' own trigger functions may
		// call nextval meanwhile.
		if err := db.Get(&n, "SELECT count(*) FROM public."+trap+" WHERE arg LIKE '%' || $1 || '%'", s.Schema()); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var now atomic.Int64
	now.Store(time.Now().UnixMicro())
	m := newManager(t, s, newCipher(t), &secrets.Config{Now: func() time.Time { return time.UnixMicro(now.Load()) }})
	actx := secrets.WithActor(ctx, "user:1")
	meta := mustSet(t, m, "ws", "TOKEN", "v1")
	if _, err := m.Set(actx, "ws", "TOKEN", []byte("v2"), &secrets.SetOptions{IfRevision: meta.Revision}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Import(actx, "ws", []byte("A=1\nB=2\n"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RotateKey(actx, "ws", nil); err != nil {
		t.Fatal(err)
	}
	b := mustSet(t, m, "ws", "GONE", "x")
	if err := m.Destroy(actx, "ws", "GONE", &secrets.WriteOptions{IfRevision: b.Revision}); err != nil {
		t.Fatal(err)
	}
	a, err := m.Meta(actx, "ws", "A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Delete(actx, "ws", "A", &secrets.WriteOptions{IfRevision: a.Revision}); err != nil {
		t.Fatal(err)
	}
	now.Add((90 * 24 * time.Hour).Microseconds())
	if r, err := m.Purge(actx); err != nil || r.Destroyed == 0 {
		t.Fatalf("Purge: %+v, %v (want a destroyed secret)", r, err)
	}
	if err := m.DeleteWorkspace(actx, "ws"); err != nil {
		t.Fatal(err)
	}
	if n := caught(); n != 0 {
		t.Fatalf("the store's functions called public.nextval(text) %d times", n)
	}

	// The control: the same call from a function of the schema that does
	// not pin its search_path is caught.
	exec(`CREATE FUNCTION ` + schema + `.unpinned() RETURNS bigint LANGUAGE plpgsql AS $$
		BEGIN RETURN nextval('` + schema + `.states'); END $$`)
	if _, err := db.Exec("SELECT " + schema + ".unpinned()"); err != nil {
		t.Fatal(err)
	}
	if n := caught(); n != 1 {
		t.Fatalf("the control call was caught %d times, want 1: the trap does not work", n)
	}
}

// upgradeSecretCount: after migration 9, the secrets written before it
// count towards Config.MaxSecrets, deleted ones included: ws-2 of
// TestPostgresUpgrade holds 8 secrets (7 live, GONE deleted), all written
// through version 1, and is counted at its first write since.
func upgradeSecretCount(ctx context.Context, t *testing.T, cipher secrets.Cipher, clock func() time.Time, s *secrets.PostgresStore) {
	t.Helper()
	capped := newManager(t, s, cipher, &secrets.Config{Now: clock, KeepVersions: 3, MaxSecrets: 8})
	// put_batch counts a workspace not counted yet, as put_secret does.
	if _, err := capped.Import(ctx, "ws-2", []byte("ONE_MORE=x\n"), nil); !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("an import of a ninth secret into a workspace of 8 from before the upgrade, MaxSecrets 8: %v", err)
	}
	if _, err := capped.Set(ctx, "ws-2", "ONE_MORE", []byte("x"), nil); !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("a ninth secret, MaxSecrets 8: %v", err)
	}
	if _, err := capped.Set(ctx, "ws-2", "TOKEN_0", []byte("updated"), nil); err != nil {
		t.Fatalf("an update at the limit: %v", err)
	}
	if err := capped.Destroy(ctx, "ws-2", "GONE", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := capped.Set(ctx, "ws-2", "ONE_MORE", []byte("x"), nil); err != nil {
		t.Fatalf("a secret in the room the deleted one's destruction made: %v", err)
	}
	if _, err := capped.Set(ctx, "ws-2", "TWO_MORE", []byte("x"), nil); !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("a ninth secret again: %v", err)
	}
}
