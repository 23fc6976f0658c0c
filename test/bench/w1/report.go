package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/rabbitmq"
	"github.com/attune-system/attune/modules/store"
)

// deleteNamespace removes the fixed topology and the per-worker queues of
// the workers registered in dsn.
func deleteNamespace(ctx context.Context, dsn, amqp, prefix string) error {
	var extra []bus.QueueSpec
	if st, err := store.Open(ctx, dsn, store.PoolConfig{MaxConns: 2}); err == nil {
		workers, _ := st.WorkerList(ctx)
		for _, w := range workers {
			e, p, c, pt := bus.WorkerQueues(strconv.FormatInt(w.ID, 10))
			extra = append(extra, e, p, c, pt)
		}
		st.Close()
	}
	return rabbitmq.DeleteNamespace(ctx, amqp, prefix, extra...)
}

// printTable prints one row per system with ratios to the floor of the same run.
func printTable(w io.Writer, rows []row, big string) {
	fl := rows[0]
	fmt.Fprintln(w, "| system | B1 p50 ms | B1 p99 ms | p50 ×floor | p99 ×floor | B2 completed/s | ×floor | lost (B1/B2) | dup (B1/B2) | peak RSS MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		if r.err != "" {
			fmt.Fprintf(w, "| %s | error: %s |\n", r.name, r.err)
			continue
		}
		ratio := func(a, b float64) string {
			if b == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", a/b)
		}
		fmt.Fprintf(w, "| %s | %.1f | %.1f | %s | %s | %.1f | %s | %d/%d | %d/%d | %.1f |\n", r.name,
			r.lat.LatP50ms, r.lat.LatP99ms, ratio(r.lat.LatP50ms, fl.lat.LatP50ms), ratio(r.lat.LatP99ms, fl.lat.LatP99ms),
			r.thr.CompletedPerS, ratio(r.thr.CompletedPerS, fl.thr.CompletedPerS),
			r.lat.Lost, r.thr.Lost, r.lat.Duplicated, r.thr.Duplicated, max(r.lat.PeakRSSMiB, r.thr.PeakRSSMiB))
	}
	fmt.Fprintf(w, "\nworker RSS while 20 actions each print 100 MB: %s\n", big)
	fmt.Fprintln(w, "targets: B1 p50 ≤ 2.5× floor, p99 ≤ 5× floor; B2 ≥ 0.5× floor; lost = dup = 0")
}
