// Package e2e runs the worker inside the real app (apptest), kept apart from
// the worker's unit tests so those build without the whole composition root.
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app"
	"github.com/attune-system/attune/modules/app/apptest"
	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// TestWorkerRoleRunsDispatchedShellAction boots the app (`--roles worker`
// over RabbitMQ, every role on the in-process bus), schedules
// an execution on the registered worker the way the executor does (row +
// dispatch in one transaction through the outbox) and waits for the result.
func TestWorkerRoleRunsDispatchedShellAction(t *testing.T) {
	t.Parallel()
	for _, rabbit := range []bool{false, true} {
		t.Run(fmt.Sprintf("rabbit=%v", rabbit), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dbURL := storetest.NewDatabase(t)
			st, err := store.Open(ctx, dbURL, store.PoolConfig{MaxConns: 4})
			require.NoError(t, err)
			t.Cleanup(st.Close)
			packs := t.TempDir()
			name := "e2e-" + randHex(4)

			p, err := st.PackUpsert(ctx, store.Pack{Ref: "e2e", Label: "E2E", Version: "1.0.0"})
			require.NoError(t, err)
			// The pack's own runtime: core.* runtimes belong to the core pack,
			// which the app registers at start-up.
			rt, err := st.RuntimeUpsert(ctx, store.Runtime{Ref: "e2e.shell", Pack: &p.ID, PackRef: &p.Ref, Name: "Shell", Aliases: []string{"shell"},
				Distributions:   json.RawMessage(`{"verification":{"always_available":true}}`),
				ExecutionConfig: json.RawMessage(`{"interpreter":{"binary":"/bin/sh","args":[]}}`)})
			require.NoError(t, err)
			require.NoError(t, os.MkdirAll(filepath.Join(packs, "e2e", "actions"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(packs, "e2e", "actions", "hi.sh"),
				[]byte("#!/bin/sh\nread p\necho \"hi $p $ATTUNE_EXEC_ID\"\n"), 0o755))
			act, err := st.ActionUpsert(ctx, store.Action{Ref: "e2e.hi", Pack: p.ID, PackRef: "e2e", Label: "hi",
				Entrypoint: "hi.sh", Runtime: &rt.ID, Enabled: true, ParamSchema: json.RawMessage(`{}`),
				ParameterDelivery: "stdin", ParameterFormat: "json", OutputFormat: "text",
				ReferenceVisibility: "public", OnWorkerLost: "abandon", MaxAttempts: 1})
			require.NoError(t, err)

			// The in-process bus exists only with every role in one process.
			roles := []string{"all"}
			if rabbit {
				roles = []string{"worker"}
			}
			apptest.Start(t, apptest.Options{Roles: roles, DatabaseURL: dbURL, RabbitMQ: rabbit,
				Configure: func(c *app.Config) {
					c.PacksBaseDir = packs
					c.Worker.Name = name
					c.Executor.OutboxPollInterval = 100 * time.Millisecond
				}})
			var workerID int64
			require.NoError(t, st.Pool().QueryRow(ctx, `SELECT id FROM worker WHERE name = $1 AND status = 'active'`, name).Scan(&workerID))

			ex, err := st.ExecutionInsert(ctx, store.NewExecution{Action: &act.ID, ActionRef: act.Ref,
				Config: json.RawMessage(`{"a":1}`), Status: "scheduled"})
			require.NoError(t, err)
			// As the scheduler does: the row names the worker, the dispatch
			// is committed with it (the row update is raw SQL: test only).
			_, err = st.Pool().Exec(ctx, `UPDATE execution SET worker = $1 WHERE id = $2`, workerID, ex.ID)
			require.NoError(t, err)
			require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
				return pipeline.Enqueue(ctx, tx, bus.ExchangeExecutions, bus.KeyExecutionDispatch(fmt.Sprint(workerID)),
					pipeline.TypeExecutionDispatch, pipeline.ExecutionDispatch{ExecutionID: ex.ID, WorkerID: workerID, ActionRef: act.Ref, Fence: ex.Fence})
			}))

			deadline := time.Now().Add(30 * time.Second)
			for {
				got, err := st.ExecutionGet(ctx, ex.ID)
				require.NoError(t, err)
				if got.Status == "completed" || got.Status == "failed" {
					require.Equal(t, "completed", got.Status, "%s", got.Result)
					var r map[string]any
					require.NoError(t, json.Unmarshal(got.Result, &r))
					require.Equal(t, fmt.Sprintf("hi {\"a\":1} %d\n", ex.ID), r["stdout"])
					return
				}
				require.True(t, time.Now().Before(deadline), "execution stuck in %s", got.Status)
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
