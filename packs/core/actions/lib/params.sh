# shellcheck shell=sh
# Helpers for core shell actions. Parameters arrive on stdin in dotenv form
# (sorted `key='value'` lines, single quotes written as '\'' ). They are
# parsed as data with awk and never passed to eval, so shell metacharacters
# in values are inert.

# attune_read_params stores stdin for attune_param. Call it once.
attune_read_params() {
	ATTUNE_PARAMS_RAW=$(cat; printf x)
	ATTUNE_PARAMS_RAW=${ATTUNE_PARAMS_RAW%x}
}

# attune_param NAME prints the decoded value of NAME (empty when absent).
attune_param() {
	printf '%s' "$ATTUNE_PARAMS_RAW" | awk -v want="$1" '
	BEGIN { RS = "\001" }
	{
		s = $0; n = length(s); i = 1
		while (i <= n) {
			rest = substr(s, i); eq = index(rest, "=")
			if (eq == 0) break
			key = substr(s, i, eq - 1); i += eq; val = ""
			if (substr(s, i, 1) == "\047") {
				i++
				while (i <= n) {
					c = substr(s, i, 1)
					if (c == "\047") {
						if (substr(s, i, 4) == "\047\\\047\047") { val = val "\047"; i += 4; continue }
						i++; break
					}
					val = val c; i++
				}
				while (i <= n && substr(s, i, 1) != "\n") i++
			} else {
				while (i <= n && substr(s, i, 1) != "\n") { val = val substr(s, i, 1); i++ }
			}
			i++
			if (key == want) { printf "%s", val; exit }
		}
	}'
}
