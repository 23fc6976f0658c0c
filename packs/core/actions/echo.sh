#!/bin/sh
# core.echo: print the message, optionally upper-cased.
set -eu
. "$(dirname "$0")/lib/params.sh"
attune_read_params
message=$(attune_param message)
if [ "$(attune_param uppercase)" = "true" ]; then
	message=$(printf '%s' "$message" | tr '[:lower:]' '[:upper:]')
fi
printf '%s\n' "$message"
