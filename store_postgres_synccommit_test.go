package secrets_test

import (
	"context"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/storetest"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// TestPostgresEveryCommitPinned runs the Store suite over connections
// whose synchronous_commit is local (as ALTER ROLE ... SET would give), with
// a deferred trigger on every table of the store's schema that refuses to
// commit a change unless the transaction's synchronous_commit is on (the
// pin) or off (the relaxed statements, which ask for it). So every
// statement of the store that changes a row, master keys, Purge's and the
// fingerprint backfill's included, commits with its flush awaited, or
// says it does not. TestSyncCommitOffPinned shows what that is for, with a
// crash, for a write, a job and a reveal.
func TestPostgresEveryCommitPinned(t *testing.T) {
	t.Parallel()
	p := pgPool{driver: "postgres", params: "synchronous_commit=local"}
	db := p.db(t)
	var setting string
	if err := db.Get(&setting, "SHOW synchronous_commit"); err != nil || setting != "local" {
		t.Fatalf("the pool's synchronous_commit: %q, %v", setting, err)
	}
	storetest.Run(t, func(t *testing.T) secrets.Store {
		s := newPGStore(t, db)
		if n := checkPinned(t, db, s.Schema()); n < 5 {
			t.Fatalf("%d tables in the schema", n)
		}
		return s
	})
	// The check is in force: a change committed without the pin fails,
	// one of the store's passes.
	t.Run("check", func(t *testing.T) {
		s := newPGStore(t, db)
		checkPinned(t, db, s.Schema())
		_, err := db.Exec(`INSERT INTO ` + pq.QuoteIdentifier(s.Schema()) + `.master_keys (cipher_id, check_value, added)
			VALUES ('x', '\x00', now())`)
		if err == nil {
			t.Fatal("an unpinned insert committed")
		}
		if err := s.AddMasterKey(context.Background(), secrets.MasterKey{ID: "tink-local:1", Check: []byte{1}}, true); err != nil {
			t.Fatalf("AddMasterKey: %v", err)
		}
	})
}

// checkPinned puts on every table of schema a deferred trigger that fails
// the commit of a change unless the transaction's synchronous_commit is on
// or off, and returns the number of tables.
func checkPinned(t *testing.T, db *sqlx.DB, schema string) int {
	t.Helper()
	sch := pq.QuoteIdentifier(schema)
	var tables []string
	if err := db.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, schema); err != nil {
		t.Fatal(err)
	}
	stmt := `CREATE FUNCTION ` + sch + `.pinned() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF current_setting('synchronous_commit') NOT IN ('on', 'off') THEN
				RAISE EXCEPTION 'commit without the pin: % of %', TG_OP, TG_TABLE_NAME;
			END IF;
			RETURN NULL;
		END $$`
	for _, tb := range tables {
		stmt += `; CREATE CONSTRAINT TRIGGER pinned AFTER INSERT OR UPDATE OR DELETE ON ` + sch + "." + pq.QuoteIdentifier(tb) +
			` DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ` + sch + `.pinned()`
	}
	if _, err := db.Exec(stmt); err != nil {
		t.Fatal(err)
	}
	return len(tables)
}
