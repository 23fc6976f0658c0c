package main

import (
	"context"
	"fmt"
	"io"
	"slices"
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

// pair is one Attune measurement and the floor measured just before it.
type pair struct {
	round         int
	floor, attune row
}

// ratios are Attune's figures over its floor's: B1 p50, B1 p99, B2.
func (p pair) ratios() (p50, p99, b2 float64, ok bool) {
	f, a := p.floor, p.attune
	if a.err != "" || f.lat.LatP50ms == 0 || f.lat.LatP99ms == 0 || f.thr.CompletedPerS == 0 {
		return 0, 0, 0, false
	}
	return a.lat.LatP50ms / f.lat.LatP50ms, a.lat.LatP99ms / f.lat.LatP99ms, a.thr.CompletedPerS / f.thr.CompletedPerS, true
}

// printTable prints every measurement: each Attune row with its ratios to
// the floor row above it.
func printTable(w io.Writer, pairs []pair) {
	fmt.Fprintln(w, "| round | system | B1 p50 ms | B1 p99 ms | p50 ×floor | p99 ×floor | B2 completed/s | ×floor | lost (B1/B2) | dup (B1/B2) | peak RSS MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	line := func(round int, r row, p50, p99, b2 string) {
		if r.err != "" {
			fmt.Fprintf(w, "| %d | %s | error: %s |\n", round, r.name, r.err)
			return
		}
		fmt.Fprintf(w, "| %d | %s | %.1f | %.1f | %s | %s | %.1f | %s | %d/%d | %d/%d | %.1f |\n", round, r.name,
			r.lat.LatP50ms, r.lat.LatP99ms, p50, p99, r.thr.CompletedPerS, b2,
			r.lat.Lost, r.thr.Lost, r.lat.Duplicated, r.thr.Duplicated, max(r.lat.PeakRSSMiB, r.thr.PeakRSSMiB))
	}
	for _, p := range pairs {
		line(p.round, p.floor, "1.00", "1.00", "1.00")
		if p50, p99, b2, ok := p.ratios(); ok {
			line(p.round, p.attune, fmt.Sprintf("%.2f", p50), fmt.Sprintf("%.2f", p99), fmt.Sprintf("%.2f", b2))
		} else {
			line(p.round, p.attune, "-", "-", "-")
		}
	}
}

// printSummary prints, per topology, the median of each ratio over the
// rounds (with the range) and the lost and duplicated counts of all rounds.
func printSummary(w io.Writer, topos []string, pairs []pair, big string) {
	fmt.Fprintln(w, "\n| system | rounds | p50 ×floor median (range) | p99 ×floor median (range) | B2 ×floor median (range) | lost | dup |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, topo := range topos {
		var p50s, p99s, b2s []float64
		lost, dup := 0, 0
		for _, p := range pairs {
			if p.attune.name != "attune "+topo {
				continue
			}
			lost += p.attune.lat.Lost + p.attune.thr.Lost
			dup += p.attune.lat.Duplicated + p.attune.thr.Duplicated
			if p50, p99, b2, ok := p.ratios(); ok {
				p50s, p99s, b2s = append(p50s, p50), append(p99s, p99), append(b2s, b2)
			}
		}
		if len(p50s) == 0 {
			fmt.Fprintf(w, "| attune %s | 0 | - | - | - | %d | %d |\n", topo, lost, dup)
			continue
		}
		fmt.Fprintf(w, "| attune %s | %d | %s | %s | %s | %d | %d |\n", topo, len(p50s),
			spread(p50s), spread(p99s), spread(b2s), lost, dup)
	}
	fmt.Fprintf(w, "\nworker RSS while 20 actions each print 100 MB: %s\n", big)
	fmt.Fprintln(w, "targets: B1 p50 ≤ 2.5× floor, p99 ≤ 5× floor; B2 ≥ 0.5× floor; lost = dup = 0")
}

// spread formats the median of xs and its range.
func spread(xs []float64) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", med, s[0], s[n-1])
}
