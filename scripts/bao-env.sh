# Sourced by scripts/test and scripts/bench: finds the OpenBao test tools
# (a packed OpenBao server and its dev-server script) and starts a
# throwaway dev server for the kms module's Transit tests.
#
# The tools are looked for in SECRETS_OPENBAO_DIR, by default
# ../shared/tools/openbao beside the repository. When found (openbao_found),
# SECRETS_OPENBAO_DIR is exported as an absolute path: the Go tests and
# benchmarks start dedicated servers with it (a server they can stop, a
# fresh one per benchmark).
#
# openbao_start starts one dev server (in memory, loopback only, Transit
# mounted at transit/) and sets, without exporting them, openbao_addr and
# openbao_token: scripts/test hands them to the kms module alone, as
# VAULT_ADDR and VAULT_TOKEN. The server is killed when the sourcing
# script exits. When the tools are missing or the server does not start,
# it says why and returns non-zero; the caller decides (scripts/test fails
# when CI is set and otherwise lets the Transit tests skip).
source "$(dirname "${BASH_SOURCE[0]}")/at-exit.sh"

_bao_say() { echo "bao-env: $*" >&2; }

openbao_addr=''
openbao_token=''
_bao_dir=${SECRETS_OPENBAO_DIR:-$(dirname "${BASH_SOURCE[0]}")/../../shared/tools/openbao}
_bao_found=''
if [[ -x "$_bao_dir/dev-server" ]]; then
	SECRETS_OPENBAO_DIR=$(cd "$_bao_dir" && pwd)
	export SECRETS_OPENBAO_DIR
	_bao_found=1
fi

# openbao_found reports whether the tools were found.
openbao_found() { [[ -n "$_bao_found" ]]; }

# _bao_stop kills the server with process ID $1 listening on port $2, waits
# until the port is closed, and removes its log $3.
_bao_stop() {
	local i
	# Only the server: should it be gone already, its PID may be reused.
	if [[ ! -r /proc/$1/cmdline ]] || tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'bao server'; then
		kill "$1" 2>/dev/null || true
	fi
	for i in $(seq 1 50); do
		(: <>"/dev/tcp/127.0.0.1/$2") 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$3"
}

openbao_start() {
	local out log
	if ! openbao_found; then
		_bao_say "no OpenBao test tools at ${_bao_dir} (set SECRETS_OPENBAO_DIR to the folder holding dev-server)"
		return 1
	fi
	if ! command -v curl >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		_bao_say "installing curl (dev-server needs it) with apt-get"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null) >&2 || true
	fi
	log=$(mktemp "${TMPDIR:-/tmp}/secrets-bao.XXXXXX") || return 1
	if ! out=$(BAO_LOG=$log "$SECRETS_OPENBAO_DIR/dev-server"); then
		_bao_say "the OpenBao dev server did not start; its log:"
		tail -n 20 "$log" >&2
		rm -f "$log"
		return 1
	fi
	# dev-server prints one line: export VAULT_ADDR=... VAULT_TOKEN=... BAO_PID=...
	if [[ ! "$out" =~ ^export\ VAULT_ADDR=(http://127\.0\.0\.1:([0-9]+))\ VAULT_TOKEN=([^ ]+)\ BAO_PID=([0-9]+)$ ]]; then
		_bao_say "unexpected output from dev-server"
		rm -f "$log"
		return 1
	fi
	openbao_addr=${BASH_REMATCH[1]}
	openbao_token=${BASH_REMATCH[3]}
	at_exit "_bao_stop ${BASH_REMATCH[4]} ${BASH_REMATCH[2]} '$log'"
	_bao_say "OpenBao dev server at $openbao_addr (pid ${BASH_REMATCH[4]})"
}
