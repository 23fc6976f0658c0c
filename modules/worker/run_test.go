package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
)

func TestShellActionEndToEnd(t *testing.T) {
	t.Parallel()
	for _, rabbit := range []bool{false, true} {
		t.Run(fmt.Sprintf("rabbit=%v", rabbit), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{rabbit: rabbit})
			ctx := context.Background()
			completed := make(chan pipeline.ExecutionCompleted, 4)
			c, err := e.bus.Consume(ctx, bus.SpecExecutionComplete, func(_ context.Context, d bus.Delivery) error {
				var m pipeline.ExecutionCompleted
				require.NoError(t, json.Unmarshal(d.Payload, &m))
				completed <- m
				return nil
			})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })

			act := e.action("hello", "#!/bin/sh\nread p\necho \"got $p\"\npwd\n", nil)
			ex := e.run(act, map[string]any{"name": "world"})
			require.Equal(t, "completed", ex.Status, "result %s", ex.Result)
			r := result(t, ex)
			require.Equal(t, true, r["succeeded"])
			require.Equal(t, float64(0), r["exit_code"])
			require.Equal(t, "got {\"name\":\"world\"}\n"+filepath.Join(e.packsDir, testPack)+"\n", r["stdout"])
			require.Equal(t, int32(1), ex.Attempt)
			require.NotNil(t, ex.ResultFence)
			require.Equal(t, ex.Fence, *ex.ResultFence)
			require.Nil(t, ex.LeaseExpiresAt)
			// A plain success leaves the executor nothing to do, so it is not
			// announced; a failure with retries left is. The failure runs
			// after the success committed, so a message for the success
			// would have been published first.
			flaky := e.action("flaky", "#!/bin/sh\nexit 3\n", nil)
			fx := e.schedule(flaky, nil, func(n *store.NewExecution) { n.MaxRetries = 1 })
			e.dispatch(fx)
			fx = e.waitTerminal(fx.ID, 20*time.Second)
			require.Equal(t, "failed", fx.Status)
			select {
			case m := <-completed:
				require.Equal(t, fx.ID, m.ExecutionID, "the plain success %d was announced", ex.ID)
				require.Equal(t, "failed", m.Status)
			case <-time.After(10 * time.Second):
				t.Fatal("no ExecutionCompleted published for the retryable failure")
			}
			w, err := e.st.WorkerGet(ctx, e.w.WorkerID())
			require.NoError(t, err)
			require.Equal(t, "active", w.Status)
			var caps struct {
				Runtimes []string `json:"runtimes"`
				Max      int      `json:"max_concurrent_executions"`
			}
			require.NoError(t, json.Unmarshal(w.Capabilities, &caps))
			require.Contains(t, caps.Runtimes, "shell")
			require.Contains(t, caps.Runtimes, "native")
			require.Equal(t, 4, caps.Max)
		})
	}
}

// T1.8: exit 1 → failed, exit code and stderr captured, no retry.
func TestFailingActionIsFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	act := e.action("boom", "#!/bin/sh\necho partial\necho 'it broke' >&2\nexit 1\n", nil)
	ex := e.run(act, nil)
	require.Equal(t, "failed", ex.Status)
	r := result(t, ex)
	require.Equal(t, float64(1), r["exit_code"])
	require.Equal(t, false, r["succeeded"])
	require.Equal(t, "it broke", strings.TrimSpace(r["error"].(string)))
	require.Equal(t, "partial\n", r["stdout"])
	require.Equal(t, int32(1), ex.Attempt)
	require.Equal(t, int32(0), ex.RetryCount)
	logDir := filepath.Join(e.dataDir, "logs", fmt.Sprint(ex.ID))
	b, err := os.ReadFile(filepath.Join(logDir, "stderr.log"))
	require.NoError(t, err)
	require.Equal(t, "it broke\n", string(b))
}

// An action that prints a NUL character still gets its result written (as
// U+FFFD: PostgreSQL's jsonb cannot store \u0000), instead of having it
// refused and the execution left to its lease.
func TestNULInOutputIsWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	act := e.action("nul", "#!/bin/sh\nprintf 'a\\000b'\n", nil)
	ex := e.run(act, nil)
	require.Equal(t, "completed", ex.Status)
	require.Equal(t, "a\uFFFDb", result(t, ex)["stdout"])
}

// T2.9: a 1 s timeout on a sleep 60 (with a child) kills the whole group.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	pidFile := filepath.Join(t.TempDir(), "pids")
	act := e.action("slow", "#!/bin/sh\nsleep 60 &\necho $! > "+pidFile+"\nsleep 60\n", nil)
	ex := e.schedule(act, nil, func(n *store.NewExecution) { n.TimeoutSeconds = ptr(int32(1)) })
	e.dispatch(ex)
	ex = e.waitTerminal(ex.ID, 15*time.Second)
	require.Equal(t, "timeout", ex.Status)
	r := result(t, ex)
	require.Equal(t, float64(-1), r["exit_code"])
	require.Equal(t, "Execution timed out after 1 seconds", r["error"])
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	child := strings.TrimSpace(string(b))
	// The background child died with its group, and no zombie of ours
	// remains (an orphan reparented to init is init's to reap).
	eventually(t, 5*time.Second, "child "+child+" survived the timeout", func() bool { return !aliveOrOurZombie(child) })
}

// aliveOrOurZombie reports whether pid still runs, or is a zombie that this
// test process (the worker) failed to reap.
func aliveOrOurZombie(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	// Format: pid (comm) state ppid ...
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 2 {
		return false
	}
	return fields[0] != "Z" || fields[1] == fmt.Sprint(os.Getpid())
}

// ATTUNE_* variables are present, runtime env_vars apply but cannot set
// ATTUNE_*, the worker's own environment does not leak, and the token is an
// execution token for this execution.
func TestEnvironmentAndToken(t *testing.T) {
	// Not parallel: it sets a variable in the worker's own environment.
	t.Setenv("WORKER_ONLY_SECRET", "leak-me")
	e := newEnv(t, envOpts{})
	act := e.action("envdump", "#!/bin/sh\nenv\n", nil)
	ex := e.schedule(act, nil, func(n *store.NewExecution) {
		n.EnvVars = json.RawMessage(`{"USER_VAR":"u1","ATTUNE_EXEC_ID":"999"}`)
		n.Executor = nil
	})
	e.dispatch(ex)
	ex = e.waitTerminal(ex.ID, 15*time.Second)
	require.Equal(t, "completed", ex.Status, "%s", ex.Result)
	vars := map[string]string{}
	for _, line := range strings.Split(result(t, ex)["stdout"].(string), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = v
		}
	}
	require.Equal(t, fmt.Sprint(ex.ID), vars["ATTUNE_EXEC_ID"])
	require.Equal(t, act.Ref, vars["ATTUNE_ACTION"])
	require.Equal(t, testPack, vars["ATTUNE_PACK_REF"])
	require.Equal(t, "http://127.0.0.1:8080", vars["ATTUNE_API_URL"])
	require.Equal(t, e.deps.RuntimeEnvsDir, vars["ATTUNE_RUNTIME_ENVS_DIR"])
	require.Equal(t, "u1", vars["USER_VAR"])
	require.Equal(t, filepath.Join(e.packsDir, testPack, "lib"), vars["TEST_RT_VAR"])
	require.NotContains(t, vars, "WORKER_ONLY_SECRET")
	require.NotContains(t, vars, "ATTUNE_RULE")
	require.NotEmpty(t, vars["PATH"])
	// The token is masked in the result, so read it from the environment
	// another way: it must verify, but it never appears in stdout.
	require.Equal(t, "***", vars["ATTUNE_API_TOKEN"])
	// Its own artifacts directory, which it left empty: not kept after the
	// run, but recycled for a later attempt.
	artifacts := filepath.Join(e.dataDir, "artifacts", fmt.Sprint(ex.ID))
	require.Equal(t, artifacts, vars["ATTUNE_ARTIFACTS_DIR"])
	require.Eventually(t, func() bool { _, err := os.Stat(artifacts); return os.IsNotExist(err) },
		5*time.Second, 10*time.Millisecond, "an empty artifacts directory was kept")

	tokAct := e.action("tok", "#!/bin/sh\nprintf '%s' \"$ATTUNE_API_TOKEN\" > \"$ATTUNE_ARTIFACTS_DIR/tok\"\n", nil)
	ex2 := e.run(tokAct, nil)
	require.Equal(t, "completed", ex2.Status)
	tok, err := os.ReadFile(filepath.Join(e.dataDir, "artifacts", fmt.Sprint(ex2.ID), "tok"))
	require.NoError(t, err)
	ti, err := security.NewTokenIssuer([]byte(e.secret), nil)
	require.NoError(t, err)
	claims, err := ti.Verify(string(tok), security.TokenExecution)
	require.NoError(t, err)
	id, ok := claims.MetadataInt64(security.MetaExecutionID)
	require.True(t, ok)
	require.Equal(t, ex2.ID, id)
	pr, _ := claims.MetadataString(security.MetaPackRef)
	require.Equal(t, testPack, pr)
	sys, err := e.st.IdentityGetByLogin(context.Background(), "system")
	require.NoError(t, err)
	require.Equal(t, sys.ID, claims.Subject)
	ttl := claims.ExpiresAt.Sub(claims.IssuedAt)
	require.Equal(t, 30*time.Second+60*time.Second, ttl)
}

func ptr[T any](v T) *T { return &v }

// ATTUNE_RULE and ATTUNE_TRIGGER come from the dispatch when it carries the
// enforcement's refs, and from the enforcement row when it does not (a
// re-dispatch after a reschedule, an older executor).
func TestRuleAndTriggerEnvironment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	act := e.action("origin", "#!/bin/sh\nprintf '%s|%s' \"$ATTUNE_RULE\" \"$ATTUNE_TRIGGER\"\n", nil)
	for _, tc := range []struct {
		name, rule, trigger, want string
	}{
		{"refs in the dispatch", "p.from_dispatch", "p.dispatch_trigger", "p.from_dispatch|p.dispatch_trigger"},
		{"refs read from the enforcement", "", "", "p.from_row|p.row_trigger"},
	} {
		var enf int64
		require.NoError(t, e.st.Pool().QueryRow(ctx, `INSERT INTO enforcement (rule_ref, trigger_ref, status)
			VALUES ('p.from_row', 'p.row_trigger', 'processed') RETURNING id`).Scan(&enf))
		ex := e.schedule(act, nil, func(n *store.NewExecution) { n.Enforcement = &enf })
		b, err := json.Marshal(pipeline.ExecutionDispatch{ExecutionID: ex.ID, WorkerID: e.w.WorkerID(), ActionRef: ex.ActionRef,
			Fence: ex.Fence, RuleRef: tc.rule, TriggerRef: tc.trigger})
		require.NoError(t, err)
		require.NoError(t, e.bus.Publish(ctx, bus.ExchangeExecutions, bus.KeyExecutionDispatch(itoa(e.w.WorkerID())),
			bus.Message{Type: pipeline.TypeExecutionDispatch, Payload: b}))
		ex = e.waitTerminal(ex.ID, 15*time.Second)
		require.Equal(t, "completed", ex.Status, "%s: %s", tc.name, ex.Result)
		require.Equal(t, tc.want, result(t, ex)["stdout"], tc.name)
	}
}

// Launch inputs are cached per metadata version: a key added or changed, or
// an action changed, after a launch applies to the very next one.
func TestLaunchSeesMetadataChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	act := e.action("cached", "#!/bin/sh\nread -r p\nprintf '%s' \"$p\"\n", nil)
	params := func() map[string]any {
		t.Helper()
		ex := e.run(act, nil)
		require.Equal(t, "completed", ex.Status, "%s", ex.Result)
		var p map[string]any
		require.NoError(t, json.Unmarshal([]byte(result(t, ex)["stdout"].(string)), &p))
		return p
	}
	require.NotContains(t, params(), "greeting")
	// Warm: the next launch of the action reads none of the tables the
	// cache holds, so it runs with them renamed away.
	hidden := []string{"action", "runtime", "key"}
	for _, tb := range hidden {
		_, err := e.st.Pool().Exec(ctx, `ALTER TABLE `+tb+` RENAME TO `+tb+`_hidden`)
		require.NoError(t, err)
	}
	cachedRun := e.run(act, nil)
	for _, tb := range hidden {
		_, err := e.st.Pool().Exec(ctx, `ALTER TABLE `+tb+`_hidden RENAME TO `+tb)
		require.NoError(t, err)
	}
	require.Equal(t, "completed", cachedRun.Status, "a warm cache still read the launch tables: %s", cachedRun.Result)
	ref := "system.greeting_" + randHex(4)
	_, err := e.st.KeyInsert(ctx, store.NewKey{Ref: ref, OwnerType: store.KeyOwnerSystem, Name: "greeting",
		Value: json.RawMessage(`"hello"`)})
	require.NoError(t, err)
	require.Equal(t, "hello", params()["greeting"], "a new key missed by the next launch")
	_, err = e.st.KeyUpdate(ctx, ref, "greeting", false, nil, json.RawMessage(`"bonjour"`))
	require.NoError(t, err)
	require.Equal(t, "bonjour", params()["greeting"], "a changed key missed by the next launch")

	// The action now takes its parameters as dotenv: the next launch says so.
	act.ParameterFormat = "dotenv"
	act, err = e.st.ActionUpsert(ctx, act)
	require.NoError(t, err)
	ex := e.run(act, nil)
	require.Equal(t, "completed", ex.Status, "%s", ex.Result)
	require.Contains(t, result(t, ex)["stdout"], "greeting=", "an action change missed by the next launch")
}
