package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/worker"
)

// T3.20: a secret key reaches the action on stdin, never its environ or
// cmdline, and is masked in the result and the log files.
func TestSecretOnlyOnStdin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	secret := "s3cr3t+++.*$1-" + randHex(8)
	box, err := security.NewSecretBox(e.encKey)
	require.NoError(t, err)
	const ref = "system.api_secret"
	ct, err := box.Encrypt(secret, ref)
	require.NoError(t, err)
	val, _ := json.Marshal(ct)
	hash := box.KeyHash()
	_, err = e.st.KeyInsert(ctx, store.NewKey{Ref: ref, OwnerType: store.KeyOwnerSystem, Name: "api_secret",
		Encrypted: true, EncryptionKeyHash: &hash, Value: val})
	require.NoError(t, err)
	// The action learns what to look for from a file, so the secret is in
	// no argv or environment of the test's own making either.
	want := filepath.Join(t.TempDir(), "want")
	require.NoError(t, os.WriteFile(want, []byte(secret), 0o600))
	act := e.action("secret", `#!/bin/sh
read -r line
if printf '%s' "$line" | grep -q -F -f `+want+`; then echo stdin-has-secret; fi
if grep -q -F -f `+want+` /proc/$$/environ; then echo ENV-LEAK; fi
if tr '\0' ' ' < /proc/$$/cmdline | grep -q -F -f `+want+`; then echo CMD-LEAK; fi
if ps -eo args | grep -v grep | grep -q -F -f `+want+`; then echo PS-LEAK; fi
echo "$line"
echo "$line" >&2
exit 3
`, nil)
	ex := e.run(act, map[string]any{"x": 1})
	require.Equal(t, "failed", ex.Status)
	require.NotContains(t, string(ex.Result), secret)
	r := result(t, ex)
	stdout := r["stdout"].(string)
	require.Contains(t, stdout, "stdin-has-secret")
	require.NotContains(t, stdout, "LEAK")
	require.Contains(t, stdout, `"api_secret":"***"`)
	for _, f := range []string{"stdout.log", "stderr.log"} {
		b, err := os.ReadFile(filepath.Join(e.dataDir, "logs", fmt.Sprint(ex.ID), f))
		require.NoError(t, err)
		require.NotContains(t, string(b), secret, f)
		require.Contains(t, string(b), "***", f)
	}
}

// T3.21: megabytes of output are truncated with a marker, not a failure.
func TestHugeOutputTruncated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{configure: func(d *worker.Deps) { d.Config.MaxStdoutBytes = 1 << 20 }})
	act := e.action("big", "#!/bin/sh\nhead -c 8000000 /dev/zero | tr '\\0' 'a' | fold -w 1000\n", nil)
	ex := e.run(act, nil)
	require.Equal(t, "completed", ex.Status)
	r := result(t, ex)
	require.Equal(t, true, r["stdout_truncated"])
	require.Greater(t, r["stdout_bytes_truncated"].(float64), float64(6_000_000))
	require.LessOrEqual(t, len(r["stdout"].(string)), 1<<20+1024)
	require.Less(t, len(ex.Result), 2<<20)
}

// T3.23: cancelling a running action sends SIGTERM, keeps partial output and
// ends cancelled.
func TestCancelRunningAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	marker := filepath.Join(t.TempDir(), "started")
	act := e.action("cancelme", "#!/bin/sh\ntrap 'echo got-term; exit 143' TERM\necho started\ntouch "+marker+"\nsleep 60 &\nwait\n", nil)
	ex := e.schedule(act, nil, nil)
	e.dispatch(ex)
	eventually(t, 10*time.Second, "action never started", func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
	_, err := e.st.Pool().Exec(context.Background(), `UPDATE execution SET status = 'canceling' WHERE id = $1`, ex.ID)
	require.NoError(t, err)
	e.cancel(ex.ID)
	ex = e.waitTerminal(ex.ID, 10*time.Second)
	require.Equal(t, "cancelled", ex.Status)
	r := result(t, ex)
	require.Equal(t, true, r["cancelled"])
	require.Equal(t, "Execution cancelled by user", r["error"])
	require.Contains(t, r["stdout"], "started")
	require.Contains(t, r["stdout"], "got-term")
}

// A cancel that arrives before its dispatch stops the execution on arrival.
func TestCancelBeforeDispatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	marker := filepath.Join(t.TempDir(), "ran")
	act := e.action("never", "#!/bin/sh\ntouch "+marker+"\n", nil)
	ex := e.schedule(act, nil, nil)
	e.cancel(ex.ID)
	time.Sleep(100 * time.Millisecond) // let the cancel be consumed first (ordering across queues)
	e.dispatch(ex)
	ex = e.waitTerminal(ex.ID, 10*time.Second)
	require.Equal(t, "cancelled", ex.Status)
	_, err := os.Stat(marker)
	require.True(t, os.IsNotExist(err), "the action ran despite the cancel")
}
