// Command w1 runs benchmark workload W1 ("webhook → shell", see
// ../shared/bench/README.md) against the platform-free floor and against
// Attune in two topologies (every role in one process on the in-process bus;
// api, 2 executors and 2 workers as separate processes over RabbitMQ), in the
// same run, and prints Attune's figures as ratios to the floor. The floor is
// measured again right before each topology, and the whole sequence is
// repeated -rounds times: the table of every measurement is followed by the
// median ratios, since these shared machines drift by ±30% within minutes.
//
// Usage (from the repository root, after `make build`):
//
//	go run ./test/bench/w1 -attune bin/attune -shared ../shared
//
// Database and broker come from ATTUNE_TEST_DATABASE_URL and
// ATTUNE_TEST_AMQP_URL (defaults: the local PostgreSQL and RabbitMQ). Each
// topology gets a fresh database and the split one a fresh broker prefix,
// both removed at the end.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	var o options
	flag.StringVar(&o.attune, "attune", "bin/attune", "attune binary")
	flag.StringVar(&o.shared, "shared", "../shared", "directory holding bench/floor and bench/loadgen")
	flag.IntVar(&o.latN, "lat-n", 200, "B1 latency requests")
	flag.IntVar(&o.warmN, "warmup", 20, "requests sent at the B1 rate before B1 and not counted (0: none)")
	flag.Float64Var(&o.latRate, "lat-rate", 20, "B1 requests per second")
	flag.IntVar(&o.thrN, "thr-n", 2000, "B2 throughput requests")
	flag.IntVar(&o.thrC, "thr-c", 16, "B2 concurrent senders")
	flag.BoolVar(&o.skipBig, "skip-big-output", false, "skip the 20 × 100 MB output RSS measurement")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of (floor, topology) measurements; ratios are reported per round and as medians")
	flag.StringVar(&o.pgSocket, "pg-socket", "/var/run/postgresql", "directory of the PostgreSQL server's Unix socket: attune connects through it, as a deployment next to its database would (\"\" or no socket there: over TCP, as ATTUNE_TEST_DATABASE_URL says)")
	topos := flag.String("topos", "inproc,split", "comma-separated Attune topologies to measure (inproc, split)")
	flag.Parse()
	if o.rounds < 1 {
		fmt.Fprintln(os.Stderr, "w1: -rounds must be at least 1")
		os.Exit(2)
	}
	o.topos = strings.Split(*topos, ",")
	for _, t := range o.topos {
		if t != "inproc" && t != "split" {
			fmt.Fprintf(os.Stderr, "w1: -topos: unknown topology %q (want inproc or split)\n", t)
			os.Exit(2)
		}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "w1:", err)
		os.Exit(1)
	}
}

type options struct {
	attune, shared string
	latN, thrN     int
	warmN          int
	thrC           int
	latRate        float64
	skipBig        bool
	rounds         int
	topos          []string
	pgSocket       string
	work           string // scratch directory for this run
	loadgen        string
}

func run(o options) error {
	var err error
	if o.attune, err = filepath.Abs(o.attune); err != nil {
		return err
	}
	if _, err := os.Stat(o.attune); err != nil {
		return fmt.Errorf("attune binary %s: %w (run make build)", o.attune, err)
	}
	if o.work, err = os.MkdirTemp("", "attune-w1-"); err != nil {
		return err
	}
	if os.Getenv("W1_KEEP") == "" {
		defer os.RemoveAll(o.work)
	}
	floor, err := buildTool(o, "floor")
	if err != nil {
		return err
	}
	if o.loadgen, err = buildTool(o, "loadgen"); err != nil {
		return err
	}
	var pairs []pair
	big := "skipped (-skip-big-output)"
	for round := 1; round <= o.rounds; round++ {
		for _, topo := range o.topos {
			// The floor right before each topology: its ratio compares two
			// measurements minutes, not a quarter of an hour, apart.
			fl, err := benchFloor(o, floor)
			if err != nil {
				return fmt.Errorf("floor: %w", err)
			}
			var after func(api string, pid int)
			if topo == "inproc" && !o.skipBig && round == 1 {
				after = func(api string, pid int) {
					if mib, err := bigOutputRSS(api, pid); err != nil {
						big = "error: " + err.Error()
					} else {
						big = fmt.Sprintf("%.1f MiB", mib)
					}
				}
			}
			r, err := benchAttune(o, topo, after)
			if err != nil {
				fmt.Fprintf(os.Stderr, "w1: attune %s: %v\n", topo, err)
				r = row{name: "attune " + topo, err: err.Error()}
			}
			pairs = append(pairs, pair{round: round, floor: fl, attune: r})
		}
	}
	printTable(os.Stdout, pairs)
	printSummary(os.Stdout, o.topos, pairs, big)
	return nil
}
