package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app"
	"github.com/attune-system/attune/modules/app/apptest"
	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/runtimeenv/envtest"
)

// TestPackRuntimesThroughTheWorker: Python actions of two packs pinning
// different versions of one library each run in their own pack's virtualenv,
// and a Node.js action runs with its pack's node_modules — executed through
// the API by a real worker.
func TestPackRuntimesThroughTheWorker(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) { c.DefaultExecutionTimeoutSeconds = 300 }})
	st := openStore(t, inst.Config.Database.URL)
	svc, err := packsvc.New(packsvc.Options{Store: st, PacksDir: inst.Config.PacksBaseDir})
	require.NoError(t, err)
	for _, dir := range []string{envtest.PythonPack(t, "pyone", "1.0"), envtest.PythonPack(t, "pytwo", "2.0"), envtest.NodePack(t, "nodey")} {
		_, err := svc.Register(context.Background(), dir, packsvc.RegisterOptions{SkipEnvs: true})
		require.NoError(t, err)
	}
	c := newSpecClient(t, inst.URL)
	status, login := c.call("login", nil, map[string]any{"login": inst.Config.Security.AdminLogin, "password": inst.Config.Security.AdminPassword})
	require.Equal(t, 200, status, login)
	c.token = login["data"].(map[string]any)["access_token"].(string)

	for action, want := range map[string]string{"pyone.hello": "1.0", "pytwo.hello": "2.0", "nodey.n": "true"} {
		status, created := c.call("executeAction", nil, map[string]any{"action_ref": action, "parameters": map[string]any{}})
		require.Equal(t, 201, status, created)
		id := int64(created["data"].(map[string]any)["id"].(float64))
		deadline := time.Now().Add(4 * time.Minute) // the first run builds the environment
		for {
			_, ex := c.call("getExecution", map[string]string{"id": itoa(id)}, nil)
			d := ex["data"].(map[string]any)
			if d["status"] == "completed" {
				res, _ := json.Marshal(d["result"])
				require.Contains(t, string(res), want, "%s ran with its own environment", action)
				break
			}
			require.NotContains(t, []string{"failed", "timeout", "abandoned", "cancelled"}, d["status"], "%s: %v", action, d["result"])
			require.True(t, time.Now().Before(deadline), "%s still %v", action, d["status"])
			time.Sleep(100 * time.Millisecond)
		}
	}
}
