package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// T1.8: an action exiting 1 fails; exit code and stderr are captured; no retry.
func scenarioFailingAction(t *testing.T, c cluster) {
	cl := login(t, c)
	c.RegisterPack(t, writePack(t, fixture("t18", map[string]string{
		"actions/fail.yaml": shellAction("t18.fail", "fail", ""),
		"actions/fail.sh":   "#!/bin/sh\ncat >/dev/null\necho 'disk on fire' >&2\nexit 1\n",
	})))
	ex := waitExecution(t, c.Store(), execute(t, c, cl, "t18.fail", map[string]any{}), 30*time.Second)
	require.Equal(t, "failed", ex.Status)
	r := resultMap(t, ex)
	require.EqualValues(t, 1, r["exit_code"])
	require.Contains(t, r["error"], "disk on fire", "stderr captured")
	require.NotNil(t, ex.StartedAt, "it ran (requested → scheduled → running → failed)")
	time.Sleep(2 * time.Second)
	require.Len(t, executionsOf(t, c.Store(), "t18.fail"), 1, "no retry")
	require.Zero(t, ex.RetryCount)
}

// T2.8: max_retries 2 — fails twice (state file), succeeds on the third
// attempt; retries count up and link to the original.
func scenarioRetries(t *testing.T, c cluster) {
	cl := login(t, c)
	state := filepath.Join(t.TempDir(), "count")
	c.RegisterPack(t, writePack(t, fixture("t28", map[string]string{
		"actions/flaky.yaml": shellAction("t28.flaky", "flaky", "max_retries: 2\n"),
		"actions/flaky.sh": "#!/bin/sh\ncat >/dev/null\nn=$(cat " + state + " 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > " + state +
			"\nif [ $n -lt 3 ]; then echo \"attempt $n fails\" >&2; exit 1; fi\necho ok\n",
	})))
	first := execute(t, c, cl, "t28.flaky", map[string]any{})
	waitFor(t, 60*time.Second, "a completed retry", func() bool {
		return len(withStatus(executionsOf(t, c.Store(), "t28.flaky"), "completed")) == 1
	})
	exs := executionsOf(t, c.Store(), "t28.flaky")
	require.Len(t, exs, 3, "original + 2 retries")
	byRetry := map[int32]int64{}
	for _, ex := range exs {
		byRetry[ex.RetryCount] = ex.ID
		if ex.ID == first {
			require.Equal(t, "failed", ex.Status)
			require.Zero(t, ex.RetryCount)
			continue
		}
		require.NotNil(t, ex.OriginalExecution, "retry %d links to the original", ex.ID)
		require.Equal(t, first, *ex.OriginalExecution)
		require.EqualValues(t, 2, ex.MaxRetries)
		if ex.RetryCount == 2 {
			require.Equal(t, "completed", ex.Status)
		} else {
			require.Equal(t, "failed", ex.Status)
		}
	}
	require.Len(t, byRetry, 3, "retry counts 0, 1, 2")
	require.Equal(t, "3\n", readFile(state))
}

// T2.9: a 2 s timeout on a sleep-60 action → status timeout, process gone.
func scenarioTimeout(t *testing.T, c cluster) {
	cl := login(t, c)
	pidFile := filepath.Join(t.TempDir(), "pid")
	c.RegisterPack(t, writePack(t, fixture("t29", map[string]string{
		"actions/slow.yaml": shellAction("t29.slow", "slow", "timeout: 2\n"),
		"actions/slow.sh":   "#!/bin/sh\ncat >/dev/null\nsleep 60 &\necho $! > " + pidFile + "\nwait\n",
	})))
	begin := time.Now()
	ex := waitExecution(t, c.Store(), execute(t, c, cl, "t29.slow", map[string]any{}), 40*time.Second)
	require.Equal(t, "timeout", ex.Status)
	require.Less(t, time.Since(begin), 30*time.Second)
	require.Contains(t, fmt.Sprint(resultMap(t, ex)["error"]), "2")
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(pidFile)))
	require.NoError(t, err)
	waitFor(t, 5*time.Second, "the action's child to be gone (no zombie)", func() bool {
		return syscall.Kill(pid, 0) != nil // a zombie would still answer
	})
}

// T3.13: core.http_request without url fails before dispatch with
// "Missing required parameter: url".
func scenarioMissingParameter(t *testing.T, c cluster) {
	cl := login(t, c)
	status, raw := cl.do(t, "POST", "/api/v1/executions/execute",
		map[string]any{"action_ref": "core.http_request", "parameters": map[string]any{"method": "GET"}})
	if !routeMissing(status, raw) && status >= 400 {
		require.Contains(t, string(raw), "Missing required parameter: url", "rejected synchronously")
		return
	}
	var id int64
	if routeMissing(status, raw) {
		id = execute(t, c, cl, "core.http_request", map[string]any{"method": "GET"})
	} else {
		id = execute(t, c, cl, "core.http_request", map[string]any{"method": "POST"})
	}
	ex := waitExecution(t, c.Store(), id, 30*time.Second)
	require.Equal(t, "failed", ex.Status)
	require.Contains(t, string(ex.Result), "Missing required parameter: url")
	require.Nil(t, ex.Worker, "never dispatched to a worker")
	require.Nil(t, ex.StartedAt)
}

// T3.20: an encrypted pack key reaches the action on stdin and nowhere
// else: not its environ or cmdline, not the result, not any process log.
func scenarioSecretOnStdin(t *testing.T, c cluster) {
	cl := login(t, c)
	dir := t.TempDir()
	secret := "s3cr3t-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	c.RegisterPack(t, writePack(t, fixture("t320", map[string]string{
		"actions/peek.yaml": shellAction("t320.peek", "peek", ""),
		"actions/peek.sh": "#!/bin/sh\ncat > " + dir + "/stdin\necho $$ > " + dir + "/pid.tmp\nmv " + dir + "/pid.tmp " + dir +
			"/pid\nsleep 3\necho finished\n",
	})))
	cl.call(t, "POST", "/api/v1/keys", map[string]any{"local_ref": "api_secret", "value": secret, "encrypted": true,
		"owner_type": "pack", "owner": "t320"}, 201, nil)
	id := execute(t, c, cl, "t320.peek", map[string]any{})
	var pid int
	waitFor(t, 30*time.Second, "the action's pid", func() bool {
		var err error
		pid, err = strconv.Atoi(strings.TrimSpace(readFile(dir + "/pid")))
		return err == nil
	})
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	require.NoError(t, err, "the action is still running")
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err)
	require.NotContains(t, string(environ), secret)
	require.NotContains(t, string(cmdline), secret)
	require.Contains(t, readFile(dir+"/stdin"), secret, "delivered on stdin")
	ex := waitExecution(t, c.Store(), id, 30*time.Second)
	require.Equal(t, "completed", ex.Status)
	require.NotContains(t, string(ex.Result), secret)
	require.NotContains(t, string(ex.Config), secret)
	require.NotContains(t, c.Logs(), secret)
}

// T3.21: ~6 MB of output against a 1 MiB cap (worker.max_stdout_bytes) is
// truncated and flagged; the execution still completes.
func scenarioLargeOutput(t *testing.T, c cluster) {
	cl := login(t, c)
	c.RegisterPack(t, writePack(t, fixture("t321", map[string]string{
		"actions/big.yaml": shellAction("t321.big", "big", ""),
		"actions/big.sh":   "#!/bin/sh\ncat >/dev/null\nhead -c 6000000 /dev/zero | tr '\\0' x\n",
	})))
	ex := waitExecution(t, c.Store(), execute(t, c, cl, "t321.big", map[string]any{}), 60*time.Second)
	require.Equal(t, "completed", ex.Status, string(ex.Result[:min(len(ex.Result), 300)]))
	r := resultMap(t, ex)
	require.Equal(t, true, r["stdout_truncated"])
	require.Greater(t, r["stdout_bytes_truncated"], float64(4_000_000))
	require.Less(t, len(ex.Result), 2<<20, "stored result stays bounded")
}

// T3.23: cancelling a running action → cancelled, partial output kept.
func scenarioCancelRunning(t *testing.T, c cluster) {
	cl := login(t, c)
	c.RegisterPack(t, writePack(t, fixture("t323", map[string]string{
		"actions/long.yaml": shellAction("t323.long", "long", ""),
		"actions/long.sh":   "#!/bin/sh\ncat >/dev/null\necho partial-output\nsleep 60\n",
	})))
	id := execute(t, c, cl, "t323.long", map[string]any{})
	waitFor(t, 30*time.Second, "running", func() bool {
		ex, err := c.Store().ExecutionGet(t.Context(), id)
		return err == nil && ex.Status == "running"
	})
	time.Sleep(500 * time.Millisecond) // let the first line be written
	status, raw := cl.do(t, "POST", fmt.Sprintf("/api/v1/executions/%d/cancel", id), nil)
	if routeMissing(status, raw) {
		t.Skipf("POST /api/v1/executions/{id}/cancel is not in the API (%d %s)", status, raw)
	}
	require.Contains(t, []int{200, 202}, status, string(raw))
	ex := waitExecution(t, c.Store(), id, 20*time.Second)
	require.Equal(t, "cancelled", ex.Status)
	require.Contains(t, string(ex.Result), "partial-output")
}
