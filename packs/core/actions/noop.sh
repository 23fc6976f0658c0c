#!/bin/sh
# core.noop: do nothing and exit with the requested code.
set -eu
. "$(dirname "$0")/lib/params.sh"
attune_read_params
message=$(attune_param message)
code=$(attune_param exit_code)
case "$code" in
'') code=0 ;;
*[!0-9]*) printf 'exit_code must be an integer 0-255, got %s\n' "$code" >&2; exit 2 ;;
esac
if [ "$code" -gt 255 ]; then
	printf 'exit_code must be an integer 0-255, got %s\n' "$code" >&2
	exit 2
fi
if [ -n "$message" ]; then
	printf '%s\n' "$message"
fi
exit "$code"
