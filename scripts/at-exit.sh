# Sourced by the scripts: one EXIT trap that runs every cleanup registered
# with at_exit, last registered first, so that pg-env.sh, bao-env.sh and the
# script sourcing them can each stop what they started without replacing
# the others' trap. INT, TERM and HUP exit through it too, so Ctrl-C stops
# the servers a script started.
#
#   at_exit 'rm -f "$log"'        # the string is evaluated at exit
if [[ -z "${_secrets_at_exit:-}" ]]; then
	_secrets_at_exit=1
	_secrets_exit_hooks=()
	at_exit() { _secrets_exit_hooks+=("$1"); }
	_secrets_run_exit_hooks() {
		local i
		for ((i = ${#_secrets_exit_hooks[@]} - 1; i >= 0; i--)); do
			eval "${_secrets_exit_hooks[i]}" || true
		done
		_secrets_exit_hooks=()
	}
	trap _secrets_run_exit_hooks EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
fi
