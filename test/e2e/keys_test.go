package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app/apptest"
)

// TestActionsShareStateThroughKeys covers T2.3 and T1.6: action A writes an
// encrypted key of its pack through the API with its execution token; action
// B then receives it, decrypted, among its parameters on stdin; a key that
// does not exist arrives as null, not as an error.
func TestActionsShareStateThroughKeys(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	inst := apptest.Start(t, apptest.Options{})
	st := openStore(t, inst.Config.Database.URL)
	dir := writePack(t, map[string]string{
		"pack.yaml":          "ref: kvp\nlabel: KV\ndescription: keys between actions\nversion: 1.0.0\n",
		"actions/write.yaml": "ref: kvp.write\nlabel: W\nrunner_type: shell\nentry_point: write.sh\n",
		"actions/write.sh": `#!/bin/sh
exec curl -sS -f -X POST "$ATTUNE_API_URL/api/v1/keys" -H "Authorization: Bearer $ATTUNE_API_TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"local_ref":"greeting","owner_type":"pack","owner":"kvp","value":"hello from A","encrypted":true}'
`,
		"actions/read.yaml": "ref: kvp.read\nlabel: R\nrunner_type: shell\nentry_point: read.sh\n" +
			"parameter_format: dotenv\noutput_format: json\nparameters:\n  greeting: {type: string}\n  missing_one: {type: string}\n",
		// It reports what it received without printing the secret (which
		// the worker would mask anyway).
		"actions/read.sh": `#!/bin/sh
params=$(cat)
case "$params" in *"greeting='hello from A'"*) match=true ;; *) match=false ;; esac
case "$params" in *missing_one=?*) missing=set ;; *) missing=empty ;; esac
printf '{"match": %s, "missing_one": "%s"}\n' "$match" "$missing"
`,
	})
	registerPack(t, st, inst.Config.PacksBaseDir, dir)

	c := newSpecClient(t, inst.URL)
	status, login := c.call("login", nil, map[string]any{"login": inst.Config.Security.AdminLogin, "password": inst.Config.Security.AdminPassword})
	require.Equal(t, 200, status, login)
	c.token = login["data"].(map[string]any)["access_token"].(string)
	run := func(action string) map[string]any {
		status, created := c.call("executeAction", nil, map[string]any{"action_ref": action, "parameters": map[string]any{}})
		require.Equal(t, 201, status, created)
		id := int64(created["data"].(map[string]any)["id"].(float64))
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, ex := c.call("getExecution", map[string]string{"id": itoa(id)}, nil)
			d := ex["data"].(map[string]any)
			if d["status"] == "completed" {
				return d["result"].(map[string]any)
			}
			require.NotContains(t, []string{"failed", "timeout", "abandoned", "cancelled"}, d["status"], "%s: %v", action, d["result"])
			require.True(t, time.Now().Before(deadline), "%s still %v", action, d["status"])
			time.Sleep(50 * time.Millisecond)
		}
	}
	run("kvp.write")

	var stored string
	require.NoError(t, st.Pool().QueryRow(context.Background(),
		`SELECT value::text FROM key WHERE ref = 'pack.kvp.greeting' AND encrypted`).Scan(&stored))
	require.NotContains(t, stored, "hello from A", "encrypted at rest")

	res := run("kvp.read")
	params, _ := json.Marshal(res["data"])
	require.JSONEq(t, `{"match": true, "missing_one": "empty"}`, string(params),
		"the key arrives decrypted on stdin; a parameter with no key is null (empty), not an error")
}
