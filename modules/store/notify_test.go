package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// listenExecutionCreated opens a store and a connection LISTENing on
// execution_created; next waits for the next notification and returns its
// decoded payload and the payload's size in bytes.
func listenExecutionCreated(t *testing.T) (ctx context.Context, s *store.Store, next func() (map[string]any, int)) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	s = storetest.NewStore(t)
	conn, err := s.Pool().Acquire(ctx)
	require.NoError(t, err)
	t.Cleanup(conn.Release)
	_, err = conn.Exec(ctx, "LISTEN execution_created")
	require.NoError(t, err)
	return ctx, s, func() (map[string]any, int) {
		n, err := conn.Conn().WaitForNotification(ctx)
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(n.Payload), &body))
		return body, len(n.Payload)
	}
}

func TestExecutionNotifyPayloads(t *testing.T) {
	t.Parallel()
	ctx, s, next := listenExecutionCreated(t)

	// Without a live listener row nothing is sent.
	quiet, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo"})
	require.NoError(t, err)
	require.NoError(t, s.NotifyListenerRefresh(ctx, "test-notifier", time.Minute))
	small, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo"})
	require.NoError(t, err)
	body, _ := next()
	require.EqualValues(t, small.ID, body["id"], "the first notification is not for %d, inserted with no listener", quiet.ID)
	require.Equal(t, "core.echo", body["action_ref"])
	require.Equal(t, "requested", body["status"])
	require.NotContains(t, body, "auth_mode")

	// A payload over 7000 bytes collapses to the compact, refetch-me form.
	big := json.RawMessage(`{"blob":"` + strings.Repeat("x", 8000) + `"}`)
	large, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo", WorkflowTask: big})
	require.NoError(t, err)
	body, size := next()
	require.Less(t, size, 500)
	require.EqualValues(t, large.ID, body["id"])
	require.Equal(t, "deferred", body["auth_mode"])
}

// Once the last listener row is withdrawn (or has expired), notifying stops.
func TestNotifyStopsWithoutListener(t *testing.T) {
	t.Parallel()
	ctx, s, next := listenExecutionCreated(t)
	require.NoError(t, s.NotifyListenerRefresh(ctx, "gone", time.Minute))
	require.NoError(t, s.NotifyListenerDelete(ctx, "gone"))
	require.NoError(t, s.NotifyListenerRefresh(ctx, "expired", -time.Second))
	_, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo"})
	require.NoError(t, err)
	require.NoError(t, s.NotifyListenerRefresh(ctx, "live", time.Minute))
	live, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo"})
	require.NoError(t, err)
	body, _ := next()
	require.EqualValues(t, live.ID, body["id"], "only the execution inserted while a listener was live is announced")
}

// The gate follows every holder: one notifier withdrawing leaves the other's
// clients notified, and the last one withdrawing stops it.
func TestNotifyGateFollowsEveryHolder(t *testing.T) {
	t.Parallel()
	ctx, s, next := listenExecutionCreated(t)
	require.NoError(t, s.NotifyListenerRefresh(ctx, "a", time.Minute))
	require.NoError(t, s.NotifyListenerRefresh(ctx, "b", time.Minute))
	require.NoError(t, s.NotifyListenerDelete(ctx, "a"))
	kept, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo"})
	require.NoError(t, err)
	body, _ := next()
	require.EqualValues(t, kept.ID, body["id"])

	require.NoError(t, s.NotifyListenerDelete(ctx, "b"))
	_, err = s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo"})
	require.NoError(t, err)
	require.NoError(t, s.NotifyListenerRefresh(ctx, "c", time.Minute))
	last, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo"})
	require.NoError(t, err)
	body, _ = next()
	require.EqualValues(t, last.ID, body["id"], "an execution inserted with no holder left was announced")
}
