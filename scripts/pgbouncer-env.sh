# Sourced by scripts/pg-env.sh once its own test cluster runs: starts a
# private PgBouncer in TRANSACTION pooling mode in front of that cluster and
# exports DATABASE_URL_PGBOUNCER, the same role and database through it, so
# that the tests check the store behind a transaction-mode pooler (the setup
# most hosted Postgres offers).
#
#   - pgbouncer is installed with apt-get when missing and we are root (as
#     PostgreSQL is); SECRETS_PGBOUNCER names another binary;
#   - it runs as the cluster's owner (postgres when root: pgbouncer refuses
#     root), from the cluster's folder, on 127.0.0.1 only, at a free port
#     from 20000 to 49999 (never 6432);
#   - clients log in with the test role's password (scram-sha-256, from an
#     auth_file readable by the owner only), which PgBouncer also uses
#     towards the server;
#   - pool_mode = transaction with small pools, so that consecutive
#     transactions of one client land on different server connections;
#   - it is stopped by its process id, and its files go with the cluster's
#     folder, when the sourcing script exits.
#
# With DATABASE_URL_PGBOUNCER already set, nothing is started. When
# PgBouncer cannot be started, DATABASE_URL_PGBOUNCER stays unset: the
# PgBouncer tests then skip, or fail when CI is set.

# _pgb_start starts PgBouncer in front of the cluster in folder $1 that
# listens on 127.0.0.1:$2.
_pgb_start() {
	local dir=$1 port=$2 bin bport attempt started=''
	bin=${SECRETS_PGBOUNCER:-$(command -v pgbouncer || echo /usr/sbin/pgbouncer)}
	if [[ ! -x "$bin" ]] && [[ -z "${SECRETS_PGBOUNCER:-}" ]] && _pg_root && command -v apt-get >/dev/null; then
		_pg_say "installing pgbouncer with apt-get"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null) >&2 || true
		bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
	fi
	if [[ ! -x "$bin" ]]; then
		_pg_say "no pgbouncer found; install it (apt-get install pgbouncer) or set SECRETS_PGBOUNCER"
		return 1
	fi
	# auth_file: "user" "password"; plain text, as PgBouncer then logs in
	# to the server with it (scram-sha-256 there).
	printf '"secrets_test" "secrets_test"\n' >"$dir/pgbouncer.users"
	for attempt in 1 2 3 4 5; do
		bport=$((20000 + RANDOM % 30000))
		_pg_port_free "$bport" || continue
		cat >"$dir/pgbouncer.ini" <<-EOF
			; scripts/pgbouncer-env.sh
			[databases]
			secrets_test = host=127.0.0.1 port=$port dbname=secrets_test

			[pgbouncer]
			listen_addr = 127.0.0.1
			listen_port = $bport
			unix_socket_dir =
			auth_type = scram-sha-256
			auth_file = $dir/pgbouncer.users
			pool_mode = transaction
			default_pool_size = 20
			max_client_conn = 400
			logfile = $dir/pgbouncer.log
			pidfile = $dir/pgbouncer.pid
			log_connections = 0
			log_disconnections = 0
			log_stats = 0
		EOF
		if _pg_root; then
			chown postgres: "$dir/pgbouncer.ini" "$dir/pgbouncer.users" || return 1
		fi
		chmod 600 "$dir/pgbouncer.users"
		# -d: it forks, writes its pid file and returns once it listens.
		if _pg_as_owner "$bin" -q -d "$dir/pgbouncer.ini" 2>"$dir/pgbouncer.err"; then
			started=1
			break
		fi
	done
	if [[ -z "$started" ]]; then
		_pg_say "pgbouncer did not start; its log:"
		tail -n 20 "$dir/pgbouncer.err" "$dir/pgbouncer.log" >&2
		return 1
	fi
	# Registered after the cluster's stop, so it runs before it.
	at_exit "_pgb_stop $(_pg_quote "$dir")"
	export DATABASE_URL_PGBOUNCER="postgres://secrets_test:secrets_test@127.0.0.1:$bport/secrets_test?sslmode=disable"
	_pg_say "pgbouncer (transaction pooling) on 127.0.0.1:$bport ($("$bin" --version 2>/dev/null | head -n 1))"
}

# _pgb_stop stops the PgBouncer of folder $1, by the id in its pid file.
_pgb_stop() {
	local pid
	if [[ "${SECRETS_PG_KEEP:-}" == 1 ]]; then
		_pg_say "kept pgbouncer running too: export DATABASE_URL_PGBOUNCER='$DATABASE_URL_PGBOUNCER'"
		_pg_say "  stop it with: kill \$(cat $(_pg_quote "$1/pgbouncer.pid"))"
		return
	fi
	pid=$(cat "$1/pgbouncer.pid" 2>/dev/null) || return 0
	[[ "$pid" =~ ^[0-9]+$ ]] || return 0
	kill -INT "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}
