#!/bin/sh
# core.sleep: sleep for the given number of seconds.
set -eu
. "$(dirname "$0")/lib/params.sh"
attune_read_params
seconds=$(attune_param seconds)
message=$(attune_param message)
case "$seconds" in
'' | *[!0-9]*) printf 'seconds must be an integer 0-3600, got %s\n' "$seconds" >&2; exit 2 ;;
esac
if [ "$seconds" -gt 3600 ]; then
	printf 'seconds must be an integer 0-3600, got %s\n' "$seconds" >&2
	exit 2
fi
if [ -n "$message" ]; then
	printf '%s\n' "$message"
fi
sleep "$seconds"
