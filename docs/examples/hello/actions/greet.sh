#!/bin/sh
# hello.greet: reads one JSON line on stdin and prints one JSON object.
# Parameters are data: they are only ever handed to python3's json module,
# never evaluated by the shell.
set -eu
exec python3 -c '
import json, sys
p = json.loads(sys.stdin.readline())
print(json.dumps({"greeting": "%s, %s!" % (p.get("greeting", "Hello"), p["name"])}))
'
