package secrets

import "context"

// MigrateTo applies the store's migrations up to version to, as an
// earlier release would have left the database.
func MigrateTo(ctx context.Context, s *PostgresStore, to int64) error { return s.migrate(ctx, to) }

// PostgresQueries exposes the store's hot read queries to the external
// tests, which check their plans.
func PostgresQueries(s *PostgresStore) map[string]string {
	return map[string]string{"Lookup": s.q.lookup.SQL, "List": s.q.list.SQL, "History": s.q.history.SQL}
}

// ExecLimit exposes the room execve gives arguments and environment.
func ExecLimit() int64 { return execLimit() }

// TransientSQLStates are the SQLSTATEs the Postgres store retries.
var TransientSQLStates = []string{sqlstateSerialization, sqlstateDeadlock}
