package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/store"
)

// fixture is a pack under construction: pack.yaml plus files.
func fixture(ref string, files map[string]string) map[string]string {
	out := map[string]string{"pack.yaml": fmt.Sprintf("ref: %s\nlabel: %s\ndescription: e2e fixture\nversion: 1.0.0\n", ref, ref)}
	for k, v := range files {
		out[k] = v
	}
	return out
}

// shellAction is the YAML of a shell action running actions/<name>.sh.
func shellAction(ref, name, extra string) string {
	return fmt.Sprintf("ref: %s\nlabel: %s\nrunner_type: shell\nentry_point: %s.sh\nparameter_format: json\n%s", ref, name, name, extra)
}

// timerRule is the YAML of a rule from a core timer to action.
func timerRule(ref, trigger, params, action, actionParams string, enabled bool) string {
	if actionParams == "" {
		actionParams = "{}"
	}
	return fmt.Sprintf("ref: %s\nlabel: r\ntrigger_ref: %s\ntrigger_params: %s\naction_ref: %s\naction_params: %s\nenabled: %t\n",
		ref, trigger, params, action, actionParams, enabled)
}

// count runs a count(*) query.
func count(t *testing.T, st *store.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, st.Pool().QueryRow(t.Context(), sql, args...).Scan(&n))
	return n
}

// withStatus filters executions by status.
func withStatus(exs []store.Execution, status string) []store.Execution {
	var out []store.Execution
	for _, ex := range exs {
		if ex.Status == status {
			out = append(out, ex)
		}
	}
	return out
}

// terminal reports whether status is final.
func terminal(status string) bool {
	switch status {
	case "completed", "failed", "timeout", "cancelled", "abandoned":
		return true
	}
	return false
}

// waitExecution waits until execution id reaches a terminal status.
func waitExecution(t *testing.T, st *store.Store, id int64, d time.Duration) store.Execution {
	t.Helper()
	var ex store.Execution
	waitFor(t, d, fmt.Sprintf("execution %d to finish", id), func() bool {
		var err error
		ex, err = st.ExecutionGet(t.Context(), id)
		require.NoError(t, err)
		return terminal(ex.Status)
	})
	return ex
}

// resultMap decodes an execution result.
func resultMap(t *testing.T, ex store.Execution) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(ex.Result, &m), string(ex.Result))
	return m
}

// routeMissing reports whether the API has no such route. Callers only use
// it where the resource is known to exist, so a 404 cannot mean "no such
// rule/trigger".
func routeMissing(status int, _ []byte) bool {
	return status == http.StatusNotFound || status == http.StatusMethodNotAllowed
}

// execute starts actionRef with params through POST /api/v1/executions/execute
// when the API has it; otherwise (the endpoint is not built yet) through the
// closest real path: a pack with a date/time timer rule firing 3 s ahead.
// It returns the execution id.
func execute(t *testing.T, c cluster, cl *client, actionRef string, params map[string]any) int64 {
	t.Helper()
	status, raw := cl.do(t, "POST", "/api/v1/executions/execute", map[string]any{"action_ref": actionRef, "parameters": params})
	if !routeMissing(status, raw) {
		require.Equal(t, http.StatusCreated, status, string(raw))
		var ex struct {
			ID int64 `json:"id"`
		}
		require.NoError(t, json.Unmarshal(unwrap(raw), &ex))
		return ex.ID
	}
	ref := fmt.Sprintf("once%d", time.Now().UnixNano())
	p, err := json.Marshal(params)
	require.NoError(t, err)
	fireAt := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
	c.RegisterPack(t, writePack(t, fixture(ref, map[string]string{
		"rules/once.yaml": timerRule(ref+".once", "core.datetimetimer", fmt.Sprintf("{fire_at: %q}", fireAt), actionRef, string(p), true),
	})))
	var id int64
	waitFor(t, 30*time.Second, "the one-shot rule's execution", func() bool {
		err := c.Store().Pool().QueryRow(t.Context(), `SELECT x.id FROM execution x JOIN enforcement e ON e.id = x.enforcement
			WHERE e.rule_ref = $1`, ref+".once").Scan(&id)
		return err == nil
	})
	return id
}

// readFile returns the content of path, or "" when it does not exist yet.
func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// lines splits non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// enableWebhook enables the webhook of triggerRef and returns its receiver path;
// it skips the test when the webhook endpoints are not in the API yet.
func enableWebhook(t *testing.T, cl *client, triggerRef string) string {
	t.Helper()
	status, raw := cl.do(t, "POST", "/api/v1/triggers/"+triggerRef+"/webhooks/enable", nil)
	if routeMissing(status, raw) { // the trigger exists: a 404 means the route does not
		t.Skipf("POST /api/v1/triggers/{ref}/webhooks/enable is not in the API (%d %s)", status, raw)
	}
	require.Contains(t, []int{200, 201}, status, string(raw))
	var w struct {
		WebhookKey string `json:"webhook_key"`
	}
	require.NoError(t, json.Unmarshal(unwrap(raw), &w), string(raw))
	require.NotEmpty(t, w.WebhookKey)
	return "/api/v1/webhooks/" + w.WebhookKey
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
