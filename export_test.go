package secrets

// PostgresQueries exposes the store's read queries to the external tests,
// which check their plans.
func PostgresQueries(s *PostgresStore) (current, lookup string) { return s.q.current, s.q.lookup }

// PostgresEnvAudited exposes the audited EnvFor query.
func PostgresEnvAudited(s *PostgresStore) string { return s.q.envAuditedRelaxed }
