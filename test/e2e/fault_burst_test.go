package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// burstPack is a webhook rule to core.local: every event runs one short
// shell command, so the oracle can count executions per event.
func burstPack(t *testing.T) string {
	return writePack(t, map[string]string{
		"pack.yaml": "ref: burst\nlabel: Burst\ndescription: fault burst\nversion: 1.0.0\n",
		"rules/hook.yaml": "ref: burst.hook\nlabel: Hook\ntrigger_ref: core.webhook\naction_ref: core.local\n" +
			"action_params:\n  cmd: 'test -n \"$SEQ\"'\n  env: {SEQ: \"{{ event.payload.seq }}\"}\nenabled: true\n",
	})
}

// startBurstCluster starts api, sensor, 2 executors and 2 workers and
// registers the burst pack.
func startBurstCluster(c *faultCluster) {
	for _, n := range []string{"ex1", "ex2"} {
		c.start(n, "executor")
	}
	c.start("api", "api")
	c.start("sensor", "sensor")
	c.start("wa", "worker")
	c.start("wb", "worker")
	c.register(burstPack(c.t))
}

// fireBurst ingests n webhook events with Idempotency-Key run-<tag>-<seq>,
// as the webhook endpoint does, from 8 client goroutines that retry each
// event on any error until it is accepted. fault runs once half-way through
// (after n/3 acceptances). It returns the accepted keys.
func fireBurst(t *testing.T, st *store.Store, tag string, n int, fault func()) []string {
	keys := make([]string, n)
	var accepted atomic.Int64
	var faultOnce sync.Once
	var faultDone sync.WaitGroup
	jobs := make(chan int)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range jobs {
				key := fmt.Sprintf("run-%s-%d", tag, seq)
				src := "fault-" + tag
				for ctx.Err() == nil {
					_, _, err := pipeline.IngestEvent(ctx, st, store.NewEvent{TriggerRef: "core.webhook",
						Payload: []byte(fmt.Sprintf(`{"seq": %d}`, seq)), SourceRef: &src, IdempotencyKey: &key})
					if err == nil {
						keys[seq] = key
						if accepted.Add(1) == int64(n/3) {
							faultOnce.Do(func() {
								faultDone.Add(1)
								go func() { defer faultDone.Done(); fault() }()
							})
						}
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	for seq := 0; seq < n; seq++ {
		jobs <- seq
	}
	close(jobs)
	wg.Wait()
	faultDone.Wait()
	require.NoError(t, ctx.Err(), "burst did not finish: %d of %d accepted", accepted.Load(), n)
	return keys
}

// checkBurstOracle applies §4.2 I1–I5 to the accepted keys: one event per
// key, exactly one enforcement per (event, rule), one execution per
// enforcement, every execution terminal (waits up to d for that).
func checkBurstOracle(t *testing.T, dsn string, keys []string, d time.Duration) {
	ctx := context.Background()
	var conn *pgx.Conn
	var err error
	waitFor(t, 30*time.Second, "database reachable", func() bool {
		conn, err = pgx.Connect(ctx, dsn)
		return err == nil
	})
	defer conn.Close(ctx)
	one := func(q string, args ...any) int64 {
		var v int64
		require.NoError(t, conn.QueryRow(ctx, q, args...).Scan(&v), q)
		return v
	}
	n := int64(len(keys))
	require.Equal(t, n, one(`SELECT count(*) FROM event WHERE idempotency_key = ANY($1)`, keys), "I1/I2 events stored")
	require.Equal(t, n, one(`SELECT count(DISTINCT idempotency_key) FROM event WHERE idempotency_key = ANY($1)`, keys))
	// Rule evaluation runs asynchronously after ingestion; wait for it and
	// for every execution to end before the exact checks.
	settled := func() bool {
		return one(`SELECT count(*) FROM event e WHERE e.idempotency_key = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM enforcement f WHERE f.event = e.id)`, keys) == 0 &&
			one(`SELECT count(*) FROM execution WHERE status NOT IN
			('completed','failed','timeout','cancelled','abandoned')`) == 0
	}
	for deadline := time.Now().Add(d); !settled(); time.Sleep(100 * time.Millisecond) {
		if time.Now().Before(deadline) {
			continue
		}
		// Say where the pipeline stopped before failing.
		t.Logf("events without enforcement: %d", one(`SELECT count(*) FROM event e WHERE e.idempotency_key = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM enforcement f WHERE f.event = e.id)`, keys))
		rows, err := conn.Query(ctx, `SELECT status::text, count(*) FROM execution GROUP BY 1`)
		if err == nil {
			for rows.Next() {
				var st string
				var c int64
				_ = rows.Scan(&st, &c)
				t.Logf("executions %s: %d", st, c)
			}
			rows.Close()
		}
		rows, err = conn.Query(ctx, `SELECT routing_key, attempts, coalesce(last_error, '') FROM outbox
			ORDER BY id LIMIT 10`)
		if err == nil {
			for rows.Next() {
				var k, e string
				var a int32
				_ = rows.Scan(&k, &a, &e)
				t.Logf("unpublished outbox %s attempts=%d err=%s", k, a, e)
			}
			rows.Close()
		}
		t.Fatalf("timed out after %s: not every event has an enforcement or not every execution is terminal", d)
	}
	require.Zero(t, one(`SELECT count(*) FROM (SELECT f.event, f.rule FROM enforcement f JOIN event e ON e.id = f.event
		WHERE e.idempotency_key = ANY($1) GROUP BY 1, 2 HAVING count(*) <> 1) d`, keys), "I3 enforcement exactly once")
	require.Equal(t, n, one(`SELECT count(*) FROM enforcement f JOIN event e ON e.id = f.event
		WHERE e.idempotency_key = ANY($1)`, keys), "one matching rule → one enforcement per event")
	require.Equal(t, n, one(`SELECT count(*) FROM execution x JOIN enforcement f ON f.id = x.enforcement
		JOIN event e ON e.id = f.event WHERE e.idempotency_key = ANY($1)`, keys), "I4 one execution per enforcement")
	if done := one(`SELECT count(*) FROM execution x JOIN enforcement f ON f.id = x.enforcement
		JOIN event e ON e.id = f.event WHERE e.idempotency_key = ANY($1) AND x.status = 'completed'`, keys); done != n {
		var status, result string
		_ = conn.QueryRow(ctx, `SELECT status::text, coalesce(result::text, '') FROM execution
			WHERE status <> 'completed' ORDER BY id LIMIT 1`).Scan(&status, &result)
		t.Fatalf("%d of %d burst executions completed; first other: %s %s", done, n, status, result)
	}
}

// openStoreRetrying opens a store that tolerates the database going away
// (pgx pools reconnect per acquisition).
func openStoreRetrying(t *testing.T, dsn string) *store.Store {
	st, err := store.Open(context.Background(), dsn, store.PoolConfig{MaxConns: 8})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return st
}
