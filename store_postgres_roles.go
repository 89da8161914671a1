package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3/database"
)

// PostgresGrants returns the SQL that splits a store's rights between a
// migration role and a runtime role, for schema. The migration role owns
// the schema and everything in it and runs Migrate (secretsctl migrate);
// the runtime role is the one every replica connects as: USAGE on the
// schema, SELECT, INSERT, UPDATE and DELETE on its tables but SELECT
// only on goose_db_version, USAGE on its sequences and EXECUTE on its
// functions, and default privileges that give the same on what later
// migrations create. Its Migrate then only reads whether the schema is
// current, and returns [ErrMigratePrivilege] when it is not.
//
// The store's functions run with the caller's rights (SECURITY INVOKER),
// so EXECUTE on them gives nothing the table grants do not; the script
// still revokes PUBLIC's default EXECUTE on those that exist and grants
// it to the runtime role by name, so that no other role may call them
// even with USAGE on the schema, and the grants hold where PUBLIC's
// defaults were revoked. A function a later migration adds is executable
// by PUBLIC until the script runs again (revoking that default for good
// would change the migration role outside the schema). Nothing outside
// the schema is changed.
//
// Run the SQL as the migration role (or a superuser) after the first
// Migrate: it names the schema's tables. Running it again changes
// nothing. The error is [ErrInvalidIdentifier] for a name it cannot use.
func PostgresGrants(schema, migrator, runtime string) (string, error) {
	if !schemaName.MatchString(schema) {
		return "", errorf(ErrInvalidIdentifier, "schema name %q is not a lower-case SQL identifier", schema)
	}
	for _, r := range []struct{ what, name string }{{"migration role", migrator}, {"runtime role", runtime}} {
		if err := checkRole(r.name); err != nil {
			return "", errorf(ErrInvalidIdentifier, "%s: %s", r.what, err.Error())
		}
	}
	if migrator == runtime {
		return "", errorf(ErrInvalidIdentifier, "the migration and runtime roles are both %q: the split needs two roles", migrator)
	}
	s, m, r := pq.QuoteIdentifier(schema), pq.QuoteIdentifier(migrator), pq.QuoteIdentifier(runtime)
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("-- Roles of the secrets store in schema %s (PostgresGrants, secretsctl grants).", s)
	line("-- %s owns the schema and everything in it, and runs Migrate. It needs", m)
	line("-- CREATE on the database for the first Migrate, unless an administrator")
	line("-- creates the schema for it first: CREATE SCHEMA %s AUTHORIZATION %s;", s, m)
	line("-- %s is the role every replica connects as (LOGIN): it reads and writes", r)
	line("-- through the store, and its Migrate only checks that the schema is current.")
	line("-- Run this as %s (or a superuser) after the first Migrate; again, it changes nothing.", m)
	line("GRANT USAGE ON SCHEMA %s TO %s;", s, r)
	line("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %s TO %s;", s, r)
	line("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %s.goose_db_version FROM %s;", s, r)
	line("GRANT USAGE ON ALL SEQUENCES IN SCHEMA %s TO %s;", s, r)
	line("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA %s FROM PUBLIC;", s)
	line("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %s TO %s;", s, r)
	line("-- What later migrations create:")
	line("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %s;", m, s, r)
	line("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT USAGE ON SEQUENCES TO %s;", m, s, r)
	line("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT EXECUTE ON FUNCTIONS TO %s;", m, s, r)
	return b.String(), nil
}

// checkRole says why name cannot be a role of PostgresGrants, or nil.
func checkRole(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > 63:
		return errors.New("over 63 bytes")
	case !utf8.ValidString(name):
		return errors.New("not UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("holds a control character")
	case strings.HasPrefix(strings.ToLower(name), "pg_"):
		return fmt.Errorf("%q starts with pg_, which Postgres reserves", name)
	case strings.EqualFold(name, "public"):
		return errors.New(`"public" is every role, not one`)
	}
	return nil
}

// pgSchemaState is what Migrate reads of the schema before it changes
// anything: the catalog, and goose_db_version when the role may read it.
type pgSchemaState struct {
	schema   bool           // the schema exists
	table    bool           // goose_db_version exists
	readable bool           // and the role may read it (USAGE on the schema, SELECT on it)
	applied  map[int64]bool // the versions recorded, when readable
	role     string         // current_user
}

// readSchemaState reads the state of the schema with no privilege but
// those it checks first, so that the runtime role may run it.
func (s *PostgresStore) readSchemaState(ctx context.Context, tx *sqlx.Tx, versions database.Store) (pgSchemaState, error) {
	var st pgSchemaState
	row := tx.QueryRowxContext(ctx, `SELECT n.oid IS NOT NULL, c.oid IS NOT NULL,
			coalesce(pg_catalog.has_schema_privilege(n.oid, 'USAGE') AND pg_catalog.has_table_privilege(c.oid, 'SELECT'), false),
			current_user
		FROM (SELECT 1) one
		LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1
		LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = 'goose_db_version'`, s.schema)
	if err := row.Scan(&st.schema, &st.table, &st.readable, &st.role); err != nil {
		return st, err
	}
	st.applied = map[int64]bool{}
	if !st.readable {
		return st, nil
	}
	list, err := versions.ListMigrations(ctx, tx)
	if err != nil {
		return st, err
	}
	seen := map[int64]bool{}
	for _, m := range list { // newest first: the latest record of a version wins
		if !seen[m.Version] {
			seen[m.Version] = true
			st.applied[m.Version] = m.IsApplied
		}
	}
	return st, nil
}

// versionTable is goose's record of the schema's migrations.
func (s *PostgresStore) versionTable() (database.Store, error) {
	return database.NewStore(database.DialectPostgres, s.schema+".goose_db_version")
}

// SchemaVersion returns the newest migration recorded as applied to the
// store's schema: 0 for a schema not made yet, or one whose records this
// role may not read. Errors are described as the store's others are.
func (s *PostgresStore) SchemaVersion(ctx context.Context) (int64, error) {
	versions, err := s.versionTable()
	if err != nil {
		return 0, wrapf(err, "schema version")
	}
	var v int64
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		st, err := s.readSchemaState(ctx, tx, versions)
		v = st.version()
		return err
	})
	return v, pgErr(ctx, "schema version", err)
}

// version is the highest version recorded as applied.
func (st pgSchemaState) version() int64 {
	var v int64
	for k, ok := range st.applied {
		if ok && k > v {
			v = k
		}
	}
	return v
}

// current reports whether every version up to want is recorded.
func (st pgSchemaState) current(want int64) bool {
	if !st.readable {
		return false
	}
	for v := int64(1); v <= want; v++ {
		if !st.applied[v] {
			return false
		}
	}
	return true
}

// mayMigrate returns a *MigratePrivilegeError when the role lacks what
// migrating the schema from st needs: CREATE on the database for a new
// schema; otherwise USAGE and CREATE on the schema and the ownership of
// everything in it, which ALTER and CREATE OR REPLACE need.
func (s *PostgresStore) mayMigrate(ctx context.Context, tx *sqlx.Tx, st pgSchemaState, want int64) error {
	var missing []string
	if !st.schema {
		var ok bool
		var db string
		if err := tx.QueryRowxContext(ctx, `SELECT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'), pg_catalog.current_database()`).Scan(&ok, &db); err != nil {
			return err
		}
		if !ok {
			missing = append(missing, "CREATE on database "+pq.QuoteIdentifier(db))
		}
	} else {
		var usage, create bool
		var objects []string
		if err := tx.QueryRowxContext(ctx, `SELECT pg_catalog.has_schema_privilege($1, 'USAGE'), pg_catalog.has_schema_privilege($1, 'CREATE')`, s.schema).Scan(&usage, &create); err != nil {
			return err
		}
		if !usage {
			missing = append(missing, "USAGE on schema "+pq.QuoteIdentifier(s.schema))
		}
		if !create {
			missing = append(missing, "CREATE on schema "+pq.QuoteIdentifier(s.schema))
		}
		if err := tx.SelectContext(ctx, &objects, `SELECT o FROM (
				SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view ' ELSE 'table ' END
					|| pg_catalog.format('%I.%I', n.nspname, c.relname) AS o
				FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
					AND NOT pg_catalog.pg_has_role(c.relowner, 'USAGE')
				UNION ALL
				SELECT 'function ' || p.oid::pg_catalog.regprocedure::text
				FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
				WHERE n.nspname = $1 AND NOT pg_catalog.pg_has_role(p.proowner, 'USAGE')
			) x ORDER BY o`, s.schema); err != nil {
			return err
		}
		if len(objects) > 0 {
			m := "the ownership of " + objects[0]
			if len(objects) > 1 {
				m += fmt.Sprintf(" and %d more objects of the schema", len(objects)-1)
			}
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &MigratePrivilegeError{Schema: s.schema, Role: st.role, Version: st.version(), Want: want, Missing: strings.Join(missing, ", "),
		Unreadable: st.table && !st.readable}
}
