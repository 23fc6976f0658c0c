package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// T3.12: the process hosting the worker is SIGKILLed mid-run; the execution
// is abandoned within lease (4 s) + reaper (1 s) and the system recovers.
// In the all-in-one topology the executor dies with it, so the process is
// restarted and its reaper does the job.
func TestWorkerKilledMidRun(t *testing.T) {
	t.Parallel()
	forEachTopology(t, func(t *testing.T, c cluster) {
		cl := login(t, c)
		dir := t.TempDir()
		c.RegisterPack(t, writePack(t, fixture("t312", map[string]string{
			"actions/long.yaml":  shellAction("t312.long", "long", ""),
			"actions/long.sh":    "#!/bin/sh\ncat >/dev/null\necho $$ > " + dir + "/pid\nexec sleep 60\n",
			"actions/quick.yaml": shellAction("t312.quick", "quick", ""),
			"actions/quick.sh":   "#!/bin/sh\ncat >/dev/null\necho ok\n",
		})))
		id := execute(t, c, cl, "t312.long", map[string]any{})
		var pid int
		waitFor(t, 30*time.Second, "the action to start", func() bool {
			var err error
			pid, err = strconv.Atoi(strings.TrimSpace(readFile(filepath.Join(dir, "pid"))))
			return err == nil
		})
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // orphaned by the crash
		ex, err := c.Store().ExecutionGet(t.Context(), id)
		require.NoError(t, err)
		require.NotNil(t, ex.Worker)
		p := c.WorkerProcess(t, *ex.Worker)
		require.NoError(t, syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL))
		<-p.done
		killed := time.Now()
		if p == c.(*procCluster).api {
			c.Restart(t, p)
			cl = login(t, c)
		}
		ex = waitExecution(t, c.Store(), id, 30*time.Second)
		require.Equal(t, "abandoned", ex.Status)
		require.Less(t, time.Since(killed), 20*time.Second)
		// recovered: a new execution runs on a live worker
		next := waitExecution(t, c.Store(), execute(t, c, cl, "t312.quick", map[string]any{}), 40*time.Second)
		require.Equal(t, "completed", next.Status)
	})
}

// T3.30: SIGTERM to the process hosting the worker while a 3 s action runs:
// the action finishes (completed) and the process exits 0.
func TestWorkerSIGTERMLetsActionFinish(t *testing.T) {
	t.Parallel()
	forEachTopology(t, func(t *testing.T, c cluster) {
		cl := login(t, c)
		dir := t.TempDir()
		c.RegisterPack(t, writePack(t, fixture("t330", map[string]string{
			"actions/three.yaml": shellAction("t330.three", "three", ""),
			"actions/three.sh":   "#!/bin/sh\ncat >/dev/null\ntouch " + dir + "/started\nsleep 3\necho done-after-3s\n",
		})))
		id := execute(t, c, cl, "t330.three", map[string]any{})
		waitFor(t, 30*time.Second, "the action to start", func() bool {
			return readFile(filepath.Join(dir, "started")) != "" || fileExists(filepath.Join(dir, "started"))
		})
		ex, err := c.Store().ExecutionGet(t.Context(), id)
		require.NoError(t, err)
		require.NotNil(t, ex.Worker)
		p := c.WorkerProcess(t, *ex.Worker)
		require.Equal(t, 0, p.stop(t, syscall.SIGTERM, 30*time.Second), p.output())
		ex = waitExecution(t, c.Store(), id, 5*time.Second)
		require.Equal(t, "completed", ex.Status, string(ex.Result))
		require.Contains(t, string(ex.Result), "done-after-3s")
	})
}
