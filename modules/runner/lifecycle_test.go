package runner

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExitCodesAndErrorText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, wantErr string
		code                int
	}{
		{"stderr few lines", "echo out; echo 'bad thing' >&2; echo 'second' >&2; exit 1", "bad thing\nsecond", 1},
		{"stderr many lines", "for i in 1 2 3 4 5 6; do echo line$i >&2; done; exit 2", "line6", 2},
		{"no stderr", "exit 3", "Command exited with code 3", 3},
		{"blank stderr", "echo '  ' >&2; exit 4", "Command exited with code 4", 4},
		{"killed by signal", "kill -9 $$", "Command terminated by signal killed", -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, Spec{Path: script(t, c.body), OutputFormat: OutputJSON})
			require.Equal(t, StatusFailed, res.Status)
			require.Equal(t, c.code, res.ExitCode)
			require.Equal(t, false, res.JSON["succeeded"])
			require.Equal(t, c.code, res.JSON["exit_code"])
			require.Equal(t, c.wantErr, res.JSON["error"])
			require.NotContains(t, res.JSON, "data", "no parsing on failure")
			require.NotContains(t, res.JSON, "cancelled")
		})
	}
}

func TestSuccessShape(t *testing.T) {
	t.Parallel()
	logs := t.TempDir()
	res := run(t, Spec{Path: script(t, "echo hello; echo warn >&2"), LogDir: logs})
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, 0, res.ExitCode)
	require.Equal(t, map[string]any{
		"exit_code": 0, "duration_ms": res.DurationMS, "succeeded": true,
		"stdout": "hello\n", "stderr_log": filepath.Join(logs, "stderr.log"),
	}, res.JSON)
	out, err := os.ReadFile(res.StdoutLog)
	require.NoError(t, err)
	require.Equal(t, "hello\n", string(out))
	fi, err := os.Stat(res.StdoutLog)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	quiet := run(t, Spec{Path: "/bin/true"})
	require.Equal(t, map[string]any{"exit_code": 0, "duration_ms": quiet.DurationMS, "succeeded": true}, quiet.JSON)
}

func TestInvalidSpecAndStartErrors(t *testing.T) {
	t.Parallel()
	for field, s := range map[string]Spec{
		"Spec.Path":          {},
		"Spec.ParamFormat":   {Path: "/bin/true", ParamFormat: "xml"},
		"Spec.ParamDelivery": {Path: "/bin/true", ParamDelivery: "env"},
		"Spec.OutputFormat":  {Path: "/bin/true", OutputFormat: "csv"},
	} {
		res, err := Run(context.Background(), s)
		require.ErrorContains(t, err, field)
		require.Nil(t, res)
	}
	res, err := Run(context.Background(), Spec{Path: "/nonexistent/action"})
	require.ErrorContains(t, err, "start /nonexistent/action")
	require.Nil(t, res)
}

func TestTimeoutKillsWholeGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	body := `sleep 60 &
echo $! > "$1/grandchild"
echo started
sleep 60`
	start := time.Now()
	res := run(t, Spec{Path: script(t, body), Args: []string{dir}, Timeout: 300 * time.Millisecond, KillGrace: 5 * time.Second})
	elapsed := time.Since(start)
	require.Equal(t, StatusTimeout, res.Status)
	require.Equal(t, -1, res.ExitCode)
	require.Equal(t, "Execution timed out after 0.3 seconds", res.JSON["error"])
	require.Equal(t, -1, res.JSON["exit_code"])
	require.Equal(t, false, res.JSON["succeeded"])
	require.Equal(t, "started\n", res.JSON["stdout"])
	// Both die on SIGTERM, so the grace period is never used up.
	require.Less(t, elapsed, 3*time.Second)
	requireGroupGone(t, res.PID)
	raw, err := os.ReadFile(filepath.Join(dir, "grandchild"))
	require.NoError(t, err)
	gc, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return syscall.Kill(gc, 0) == syscall.ESRCH },
		15*time.Second, 20*time.Millisecond, "background grandchild %d survived", gc)
}

func TestSIGTERMIgnoringActionIsKilledAfterGrace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// '' ignores TERM in the shell and in the sleep it starts.
	body := `trap '' TERM
sleep 60 &
echo started
touch "$1/ready"
while :; do sleep 1; done`
	const timeout, grace = 200 * time.Millisecond, 700 * time.Millisecond
	start := time.Now()
	res := run(t, Spec{Path: script(t, body), Args: []string{dir}, Timeout: timeout, KillGrace: grace})
	elapsed := time.Since(start)
	require.Equal(t, StatusTimeout, res.Status)
	require.FileExists(t, filepath.Join(dir, "ready"))
	require.GreaterOrEqual(t, elapsed, timeout+grace, "SIGKILL must wait for the grace period")
	require.Less(t, elapsed, timeout+grace+3*time.Second)
	requireGroupGone(t, res.PID)
}

func TestCancelKeepsPartialOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	body := `echo partial-out
echo partial-err >&2
touch "$1/ready"
sleep 60`
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
				cancel()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	logs := t.TempDir()
	res, err := Run(ctx, Spec{Path: script(t, body), Args: []string{dir}, LogDir: logs, KillGrace: 2 * time.Second, Timeout: 20 * time.Second})
	require.NoError(t, err)
	require.Equal(t, StatusCancelled, res.Status)
	require.Equal(t, -1, res.ExitCode)
	require.Equal(t, map[string]any{
		"succeeded": false, "exit_code": -1, "duration_ms": res.DurationMS,
		"error": "Execution cancelled by user", "cancelled": true,
		"stdout": "partial-out\n", "stderr_log": filepath.Join(logs, "stderr.log"),
	}, res.JSON)
	errLog, err := os.ReadFile(res.StderrLog)
	require.NoError(t, err)
	require.Equal(t, "partial-err\n", string(errLog))
	requireGroupGone(t, res.PID)
}

func TestCancelBeforeLaunchNeverStarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, Spec{Path: script(t, `touch "$1/ran"`), Args: []string{dir}})
	require.NoError(t, err)
	require.Equal(t, StatusCancelled, res.Status)
	require.Zero(t, res.PID)
	require.Equal(t, true, res.JSON["cancelled"])
	require.Equal(t, "Execution cancelled by user", res.JSON["error"])
	require.NoFileExists(t, filepath.Join(dir, "ran"))
}

// A background child left running when the action exits must not keep the
// run open (it holds stdout) nor outlive the execution.
func TestStragglersKilledOnNormalExit(t *testing.T) {
	t.Parallel()
	start := time.Now()
	res := run(t, Spec{Path: script(t, "sleep 60 & echo done")})
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, "done\n", res.JSON["stdout"])
	require.Less(t, time.Since(start), 3*time.Second)
	requireGroupGone(t, res.PID)
}

// A child that leaves the process group with setsid cannot be killed
// through the group (that needs a cgroup); it must at least not hang the
// run by holding stdout open.
func TestSetsidEscapeeDoesNotHangRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Now()
	res := run(t, Spec{
		Path: script(t, `setsid sleep 60 & echo $! > "$1/escapee"; echo done`), Args: []string{dir},
		Env: []string{"PATH=/usr/bin:/bin"},
	})
	elapsed := time.Since(start)
	raw, err := os.ReadFile(filepath.Join(dir, "escapee"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, "done\n", res.JSON["stdout"])
	require.Less(t, elapsed, drainTimeout+3*time.Second)
}

// A stream that printed nothing leaves no log file (and no directory): the
// creates are the most expensive part of launching a quiet action.
func TestQuietStreamsLeaveNoLogFiles(t *testing.T) {
	t.Parallel()
	logs := filepath.Join(t.TempDir(), "exec-1")
	res := run(t, Spec{Path: "/bin/true", LogDir: logs})
	require.Equal(t, StatusCompleted, res.Status)
	require.Empty(t, res.StdoutLog)
	require.Empty(t, res.StderrLog)
	require.NotContains(t, res.JSON, "stderr_log")
	_, err := os.Stat(logs)
	require.ErrorIs(t, err, os.ErrNotExist)

	// A later attempt in the same directory that prints only to stderr:
	// the earlier attempt's stdout log does not survive as its own.
	require.NoError(t, os.MkdirAll(logs, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(logs, "stdout.log"), []byte("earlier attempt\n"), 0o600))
	res = run(t, Spec{Path: script(t, "echo only-err >&2"), LogDir: logs})
	require.Empty(t, res.StdoutLog)
	require.Equal(t, filepath.Join(logs, "stderr.log"), res.StderrLog)
	_, err = os.Stat(filepath.Join(logs, "stdout.log"))
	require.ErrorIs(t, err, os.ErrNotExist)
	b, err := os.ReadFile(res.StderrLog)
	require.NoError(t, err)
	require.Equal(t, "only-err\n", string(b))
}

func TestUnusableLogDir(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	res, err := Run(context.Background(), Spec{Path: "/bin/true", LogDir: file})
	require.ErrorContains(t, err, "log dir "+file)
	require.Nil(t, res)
}
