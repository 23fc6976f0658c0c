package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app/apptest"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// TestFaultRabbitMQRestart is scenario T6 for the broker: the split topology
// (api, sensor, 2 executors, 2 workers) runs on a private RabbitMQ node that
// is fully stopped and started again while 1,000 webhook events are
// ingested. Outbox rows committed while the broker is away must be published
// once it is back: every accepted event ends with exactly one enforcement and
// one completed execution, none duplicated, nothing left unpublished, and no
// attune process exits.
func TestFaultRabbitMQRestart(t *testing.T) {
	t.Parallel()
	mq := startPrivateRabbitMQ(t)
	dsn := storetest.NewDatabase(t)
	// The namespace lives on the private node, which is thrown away whole,
	// so there is nothing to clean on the shared broker.
	c := newFaultCluster(t, dsn, mq.URL(), apptest.RandomPrefix())
	startBurstCluster(c)
	st := openStore(t, dsn)

	var restartErr, countErr error
	var pendingWhileDown int64
	var downKeys []string
	ran := false
	keys := fireBurst(t, st, "mq", 1000, func() {
		ran = true
		t0 := time.Now()
		if restartErr = mq.stop(); restartErr != nil {
			return
		}
		// Events accepted while the node is down: their rows can only be
		// published after the restart, however fast the relays drained the
		// burst before the stop completed.
		src := "fault-mq"
		for i := range 100 {
			seq := 100000 + i
			key := fmt.Sprintf("run-mq-%d", seq)
			if _, _, restartErr = pipeline.IngestEvent(context.Background(), st, store.NewEvent{TriggerRef: "core.webhook",
				Payload: []byte(fmt.Sprintf(`{"seq": %d}`, seq)), SourceRef: &src, IdempotencyKey: &key}); restartErr != nil {
				return
			}
			downKeys = append(downKeys, key)
		}
		// Nothing can be published while the node is down: every row
		// counted here must be re-published after the restart.
		countErr = st.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM outbox`).Scan(&pendingWhileDown)
		restartErr = mq.start()
		t.Logf("broker restarted in %s; %d outbox rows were unpublished while it was down",
			time.Since(t0).Round(time.Millisecond), pendingWhileDown)
	})
	require.True(t, ran, "the restart ran")
	require.NoError(t, restartErr, mq.log())
	require.NoError(t, countErr)
	require.Positive(t, pendingWhileDown, "the outage must strand committed outbox rows, or it tested nothing")
	// 1,000 shell executions on 2 cores after a reconnect backoff of up to
	// 10 s: a generous bound on a wait that ends as soon as all are done.
	require.Len(t, downKeys, 100)
	checkBurstOracle(t, dsn, append(keys, downKeys...), 120*time.Second)

	// Nothing committed is left behind: every outbox row (events, enforcements,
	// dispatches, status changes) was eventually confirmed by the broker.
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	waitFor(t, 30*time.Second, "every outbox row published", func() bool {
		var n int64
		require.NoError(t, conn.QueryRow(context.Background(),
			`SELECT count(*) FROM outbox`).Scan(&n))
		return n == 0
	})

	for name, p := range c.procs {
		select {
		case <-p.done:
			t.Fatalf("%s exited during the RabbitMQ restart:\n%s", name, p.output())
		default:
		}
		// Each process must really have lost its connection (the restart
		// was a fault for all of them) and get a new one; one with nothing
		// left to do may still be in its reconnect backoff (up to 10 s).
		waitFor(t, 30*time.Second, name+" logs losing and regaining the broker", func() bool {
			out := p.output()
			return strings.Contains(out, "bus connection lost") && strings.Contains(out, "bus reconnected")
		})
	}
}
