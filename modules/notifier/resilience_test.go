package notifier_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/notifier"
	"github.com/attune-system/attune/modules/store"
)

// Killing the LISTEN backend: the notifier reconnects, tells clients to
// resync, and later notifications arrive.
func TestListenReconnectsAndClientsResync(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	c := e.connect(e.admin())
	c.subscribe("entity_type:execution")
	first, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.a"})
	require.NoError(t, err)
	require.EqualValues(t, first.ID, num(c.notification()["entity_id"]))

	var killed int
	require.NoError(t, e.st.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, notifier.ApplicationName).Scan(&killed))
	require.Equal(t, 1, killed)

	f := c.next(func(map[string]any) bool { return true })
	require.Equal(t, "resync", f["type"], "frame %v", f)
	require.EqualValues(t, 1, num(f["seq"]), "resync names the last seq before the gap")
	require.Equal(t, 1.0, e.counter("attune_notifier_listen_reconnects_total", "", ""))
	require.NoError(t, e.m.CheckHealth(ctx))

	second, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.b"})
	require.NoError(t, err)
	f = c.notification()
	require.EqualValues(t, second.ID, num(f["entity_id"]))
	require.EqualValues(t, 2, num(f["seq"]))
}

// A client that stops reading is disconnected with 4408 once its buffer is
// full, while a reading client keeps receiving everything.
func TestSlowClientDisconnectedWithoutDelayingOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *notifier.Deps) { d.Config.ClientBuffer = 16 })
	admin := e.admin()
	fast := e.connect(admin)
	fast.subscribe("entity_type:rule_lifecycle")

	slowConn, resp, err := e.dialRaw(admin, nil)
	require.NoError(t, err)
	if resp.Body != nil {
		resp.Body.Close()
	}
	t.Cleanup(func() { _ = slowConn.CloseNow() })
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	require.NoError(t, slowConn.Write(wctx, websocket.MessageText, []byte(`{"type":"subscribe","filter":"all"}`)))
	cancel()
	// The slow client reads nothing from here on (the welcome frame waits in
	// its socket), so its socket buffers fill and then its hub buffer.

	const batch = 16
	sent := 0
	var worst time.Duration
	for i := 0; e.counter("attune_notifier_messages_dropped_total", "reason", "lagging") == 0; i++ {
		require.Less(t, i, 1000, "slow client never disconnected")
		begin := time.Now()
		// ~6 KB per notification keeps the burst small in count but large in bytes.
		e.exec(`SELECT pg_notify('rule_lifecycle_changed', json_build_object('entity_type','rule_lifecycle',
			'event_type','rule.updated','rule_id', g, 'rule_ref','core.r','trigger_ref','core.t',
			'trigger_params', repeat('x', 6000))::text) FROM generate_series($1::int, $2::int) g`, sent+1, sent+batch)
		sent += batch
		// The fast client gets the whole batch, in order, while the slow one stalls.
		for j := sent - batch + 1; j <= sent; j++ {
			require.EqualValues(t, j, num(fast.notification()["entity_id"]))
		}
		worst = max(worst, time.Since(begin))
	}
	t.Logf("sent %d notifications; slowest batch delivered to the fast client in %v", sent, worst)
	require.Less(t, worst, 2*time.Second, "the stalled client must not hold up the others")

	// Once it reads again it drains what was queued and sees 4408.
	slow := startReading(t, slowConn)
	require.Equal(t, websocket.StatusCode(4408), slow.closeStatus(30*time.Second))
	// The server unregisters the slow client just after sending its close
	// frame, so wait for the gauge; the fast client must still be served.
	require.Eventually(t, func() bool { return e.counter("attune_notifier_clients", "", "") == 1 },
		10*time.Second, 10*time.Millisecond, "only the fast client stays connected")
	e.exec(`SELECT pg_notify('rule_lifecycle_changed', json_build_object('entity_type','rule_lifecycle',
		'event_type','rule.updated','rule_id', $1::int, 'rule_ref','core.r','trigger_ref','core.t')::text)`, sent+1)
	require.EqualValues(t, sent+1, num(fast.notification()["entity_id"]), "the fast client is still served")
}
