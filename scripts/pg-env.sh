# Sourced by scripts/test and scripts/bench: makes sure DATABASE_URL names a
# reachable Postgres database, starting a local one when it can.
if [[ -z "${DATABASE_URL:-}" ]]; then
	pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
	if ! command -v pg_ctlcluster >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		echo "scripts: installing PostgreSQL with apt-get" >&2
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 || true
	fi
	if command -v pg_ctlcluster >/dev/null && ! pg_ready; then
		cluster=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1, $2}')
		if [[ -n "$cluster" ]]; then
			# shellcheck disable=SC2086
			pg_ctlcluster $cluster start >&2 || true
		fi
		for _ in $(seq 1 30); do pg_ready && break; sleep 0.5; done
	fi
	if pg_ready && [[ $(id -u) == 0 ]] && id postgres >/dev/null 2>&1; then
		as_pg() { (cd / && runuser -u postgres -- "$@"); }
		as_pg psql -q -h /var/run/postgresql -v ON_ERROR_STOP=1 postgres >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secrets_test') THEN
    CREATE ROLE secrets_test LOGIN PASSWORD 'secrets_test';
  END IF;
END $$;
SQL
		if ! as_pg psql -h /var/run/postgresql -tAc "SELECT 1 FROM pg_database WHERE datname = 'secrets_test'" postgres | grep -q 1; then
			as_pg createdb -h /var/run/postgresql -O secrets_test secrets_test
		fi
		export DATABASE_URL="postgres://secrets_test:secrets_test@127.0.0.1:5432/secrets_test?sslmode=disable"
		# The restart test may restart the cluster this script manages.
		cluster=$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 {print $1, $2; exit}')
		if [[ -n "$cluster" && -z "${SECRETS_TEST_PG_RESTART:-}" ]]; then
			export SECRETS_TEST_PG_RESTART="pg_ctlcluster $cluster restart"
		fi
	else
		echo "scripts: no local Postgres; set DATABASE_URL to run the Postgres tests" >&2
	fi
fi
