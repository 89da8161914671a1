# Sourced by scripts/test, scripts/bench and .ci/run: makes DATABASE_URL
# name a Postgres database for the tests and benchmarks.
#
# With DATABASE_URL set, that database is used as it is and the restart
# test is not armed (SECRETS_TEST_PG_RESTART is unset): the server is not
# ours to restart.
#
# Otherwise it starts a cluster of its own, new for this run:
#   - initdb into a new folder ${TMPDIR:-/tmp}/secrets-pg.XXXXXX, as the
#     postgres user when run as root (initdb refuses root), else as the
#     invoking user;
#   - pg_ctl start, listening on 127.0.0.1 at a free port from 20000 to
#     49999 (never 5432) and on a Unix socket inside that folder;
#   - the role secrets_test (with CREATEROLE, for the tests that act as
#     other roles) and its database secrets_test; DATABASE_URL exported;
#   - a second database of that role, secrets_test_c, whose LC_CTYPE is C
#     (lower() changes ASCII letters only), exported as
#     DATABASE_URL_C_LOCALE for the test of such databases;
#   - a PgBouncer in transaction pooling mode in front of it, exported as
#     DATABASE_URL_PGBOUNCER (scripts/pgbouncer-env.sh);
#   - SECRETS_TEST_PG_RESTART exported: `pg_ctl restart` of that folder, so
#     that TestPostgresRestart restarts this cluster and no other;
#   - SECRETS_TEST_PG_BIN exported: the folder of initdb and pg_ctl, with
#     which TestAuditSurvivesCrash makes a cluster of its own to crash (also
#     when DATABASE_URL is given);
#   - stopped and its folder removed when the sourcing script exits, unless
#     SECRETS_PG_KEEP=1: then it keeps running and the script prints how to
#     reach it and how to stop it.
# A new cluster per run rather than one reused across runs: initdb and
# start take under a second, two runs at once (two checkouts, a test run
# beside a benchmark) never share or restart each other's server, and no
# state survives from an earlier run. fsync stays on, as on a real server:
# the benchmarks compare the library with floors measured on this cluster.
# SECRETS_PG_FSYNC=off (which scripts/test sets) turns it off: a test run
# never crashes the machine, so nothing it reads back depends on a flush,
# and waiting for the disk at every commit is most of the Postgres tests'
# time. The tests of durability (TestAuditSurvivesCrash, the failover
# tests) make clusters of their own, with fsync on.
#
# PostgreSQL is installed with apt-get when missing and the script runs as
# root. SECRETS_PG_BIN names the folder of initdb and pg_ctl to use another
# installation. When no cluster can be started, DATABASE_URL stays unset:
# the Postgres tests then skip, or fail when CI is set.
source "$(dirname "${BASH_SOURCE[0]}")/at-exit.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pgbouncer-env.sh"

_pg_say() { echo "pg-env: $*" >&2; }

# _pg_quote prints its argument single-quoted for sh.
_pg_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

_pg_root() { [[ $(id -u) == 0 ]]; }

# _pg_as_owner runs a command as the cluster's owner.
_pg_as_owner() {
	if _pg_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# _pg_bindir prints the folder holding initdb and pg_ctl.
_pg_bindir() {
	local d
	if [[ -n "${SECRETS_PG_BIN:-}" ]]; then
		[[ -x "$SECRETS_PG_BIN/initdb" ]] && echo "$SECRETS_PG_BIN"
		return
	fi
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		# Links to the programs (as in /usr/local/bin) lead to their folder.
		dirname "$(readlink -f "$(command -v initdb)")"
		return
	fi
	# Debian keeps them out of PATH, one folder per major version.
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || true
	[[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]] && echo "$d"
}

# _pg_port_free reports whether nothing listens on 127.0.0.1:$1.
_pg_port_free() { ! (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# _pg_stop stops the cluster in folder $2 with the pg_ctl of folder $1 and
# removes the folder, unless SECRETS_PG_KEEP=1.
_pg_stop() {
	if [[ "${SECRETS_PG_KEEP:-}" == 1 && -f "$2/data/postmaster.pid" ]]; then
		_pg_say "kept the test cluster running (SECRETS_PG_KEEP=1):"
		_pg_say "  export DATABASE_URL='$DATABASE_URL'"
		_pg_say "  export DATABASE_URL_C_LOCALE='$DATABASE_URL_C_LOCALE'"
		_pg_say "  stop it with: $_pg_stop_cmd && rm -rf $(_pg_quote "$2")"
		return
	fi
	if [[ -f "$2/data/postmaster.pid" ]]; then
		_pg_as_owner "$1/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null 2>&1 ||
			_pg_say "could not stop the cluster in $2"
	fi
	rm -rf "$2"
}

# _pg_start starts the cluster and exports DATABASE_URL and
# SECRETS_TEST_PG_RESTART; it returns non-zero, having said why, when it
# cannot.
_pg_start() {
	local bin base dir port locale psql started='' attempt
	bin=$(_pg_bindir) || true
	if [[ -z "$bin" ]] && _pg_root && command -v apt-get >/dev/null; then
		_pg_say "installing PostgreSQL with apt-get"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 || true
		bin=$(_pg_bindir) || true
	fi
	if [[ -z "$bin" ]]; then
		_pg_say "no PostgreSQL server programs (initdb, pg_ctl) found; install PostgreSQL, or set SECRETS_PG_BIN or DATABASE_URL"
		return 1
	fi
	if _pg_root && ! id postgres >/dev/null 2>&1; then
		_pg_say "running as root, but there is no postgres user to run the cluster as"
		return 1
	fi

	# The socket's path must fit in 107 bytes, and the postgres user must
	# reach the folder.
	base=${TMPDIR:-/tmp}
	if ((${#base} > 64)) || { _pg_root && ! runuser -u postgres -- test -x "$base" 2>/dev/null; }; then
		base=/tmp
	fi
	dir=$(mktemp -d "$base/secrets-pg.XXXXXX") || return 1
	at_exit "_pg_stop $(_pg_quote "$bin") $(_pg_quote "$dir")"
	if _pg_root; then
		chown postgres: "$dir" || return 1
	fi

	locale=--no-locale
	if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
		locale=--locale=C.UTF-8
	fi
	if ! _pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 "$locale" \
		--auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1; then
		_pg_say "initdb failed:"
		cat "$dir/initdb.log" >&2
		return 1
	fi
	# Several pools at once (the tests open a pool each, up to 40
	# connections) need more than the default 100.
	cat >>"$dir/data/postgresql.conf" <<-EOF

		# scripts/pg-env.sh
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir'
		max_connections = 300
	EOF
	if [[ "${SECRETS_PG_FSYNC:-on}" == off ]]; then
		echo "fsync = off" >>"$dir/data/postgresql.conf"
	fi
	for attempt in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 30000))
		_pg_port_free "$port" || continue
		echo "port = $port" >>"$dir/data/postgresql.conf"
		if _pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null; then
			started=1
			break
		fi
		# Most likely another process took the port: try another.
	done
	if [[ -z "$started" ]]; then
		_pg_say "the test cluster did not start; its log:"
		tail -n 20 "$dir/log" >&2
		return 1
	fi
	_pg_stop_cmd="$(_pg_quote "$bin/pg_ctl") -D $(_pg_quote "$dir/data") -m fast -w stop"
	if _pg_root; then
		_pg_stop_cmd="cd / && runuser -u postgres -- $_pg_stop_cmd"
	fi

	psql=$bin/psql
	[[ -x "$psql" ]] || psql=psql
	if ! "$psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE secrets_test LOGIN CREATEROLE PASSWORD 'secrets_test'" \
		-c "CREATE DATABASE secrets_test OWNER secrets_test" \
		-c "CREATE DATABASE secrets_test_c OWNER secrets_test TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'" >&2; then
		_pg_say "could not create the secrets_test role and databases"
		return 1
	fi
	export DATABASE_URL="postgres://secrets_test:secrets_test@127.0.0.1:$port/secrets_test?sslmode=disable"
	export DATABASE_URL_C_LOCALE="postgres://secrets_test:secrets_test@127.0.0.1:$port/secrets_test_c?sslmode=disable"
	# -l: the restarted postmaster must not keep the test's output pipe open.
	SECRETS_TEST_PG_RESTART="$(_pg_quote "$bin/pg_ctl") restart -D $(_pg_quote "$dir/data") -m fast -w -t 60 -l $(_pg_quote "$dir/log")"
	if _pg_root; then
		SECRETS_TEST_PG_RESTART="cd / && runuser -u postgres -- $SECRETS_TEST_PG_RESTART"
	fi
	export SECRETS_TEST_PG_RESTART
	export SECRETS_TEST_PG_BIN="$bin"
	if [[ -z "${DATABASE_URL_PGBOUNCER:-}" ]] && ! _pgb_start "$dir" "$port"; then
		_pg_say "no pgbouncer: the PgBouncer tests skip (and fail when CI is set)"
	fi
	_pg_say "test cluster on 127.0.0.1:$port, folder $dir ($("$bin/postgres" --version 2>/dev/null | awk '{print $3}'))"
}

if [[ -n "${DATABASE_URL:-}" ]]; then
	if [[ -n "${SECRETS_TEST_PG_RESTART:-}" ]]; then
		_pg_say "DATABASE_URL is set: not restarting that server (SECRETS_TEST_PG_RESTART unset)"
	fi
	unset SECRETS_TEST_PG_RESTART
	# The crash test makes a cluster of its own with these programs.
	SECRETS_TEST_PG_BIN=$(_pg_bindir) && export SECRETS_TEST_PG_BIN || unset SECRETS_TEST_PG_BIN
elif ! _pg_start; then
	unset DATABASE_URL SECRETS_TEST_PG_RESTART
	_pg_say "no database: the Postgres tests skip (and fail when CI is set)"
fi
