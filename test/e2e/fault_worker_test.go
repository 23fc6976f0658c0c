package e2e

import (
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app/apptest"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// workerLossSetup starts executors, api and sensor plus worker "wa" only,
// registers the probe pack and runs 4 abandon + 4 retry probes on wa (each
// sleeping secs). Worker "wb" is started once all 8 run on wa, so the
// retried attempts can only go to wb.
func workerLossSetup(t *testing.T, secs int) (c *faultCluster, st *store.Store, ledger string, abandon, retry []int64) {
	dsn := storetest.NewDatabase(t)
	prefix := apptest.RandomPrefix()
	apptest.CleanupBroker(t, dsn, prefix)
	c = newFaultCluster(t, dsn, apptest.AMQPURL(), prefix)
	for _, n := range []string{"ex1", "ex2"} {
		c.start(n, "executor")
	}
	c.start("api", "api")
	c.start("sensor", "sensor")
	c.start("wa", "worker")
	ledger = filepath.Join(c.shared, "ledger.log")
	c.register(probePack(t, ledger))
	st = openStore(t, dsn)
	wa := workerIDOf(t, st, "wa")
	for i := 0; i < 4; i++ {
		abandon = append(abandon, requestExecution(t, st, "probe.ledger", map[string]any{"secs": secs}))
		retry = append(retry, requestExecution(t, st, "probe.ledger_idem", map[string]any{"secs": secs}))
	}
	all := append(append([]int64{}, abandon...), retry...)
	waitFor(t, 30*time.Second, "8 probes running on wa with a ledger line", func() bool {
		led := readLedger(t, ledger)
		for _, id := range all {
			ex := getExecution(t, st, id)
			if ex.Status != "running" || ex.Worker == nil || *ex.Worker != wa || len(led[id]) != 1 {
				return false
			}
		}
		return true
	})
	c.start("wb", "worker")
	workerIDOf(t, st, "wb")
	return c, st, ledger, abandon, retry
}

// checkWorkerLossOutcome asserts the §1.3 contract once every probe is
// terminal: abandon probes are abandoned with exactly one ledger line, retry
// probes completed (on another worker) with at most max_attempts lines, and
// each result was written by the final fence.
func checkWorkerLossOutcome(t *testing.T, st *store.Store, ledger string, lost int64, abandon, retry []int64) {
	led := readLedger(t, ledger)
	for _, id := range abandon {
		ex := getExecution(t, st, id)
		require.Equal(t, "abandoned", ex.Status, "abandon probe %d", id)
		require.Len(t, led[id], 1, "abandon probe %d ran more than once", id)
	}
	for _, id := range retry {
		ex := getExecution(t, st, id)
		require.Equal(t, "completed", ex.Status, "retry probe %d: %s", id, ex.Result)
		require.NotNil(t, ex.Worker)
		require.NotEqual(t, lost, *ex.Worker, "retry probe %d completed on the lost worker", id)
		require.GreaterOrEqual(t, len(led[id]), 2, "retry probe %d: the lost attempt and the retry", id)
		require.LessOrEqual(t, len(led[id]), 3, "retry probe %d: more than max_attempts", id)
		require.LessOrEqual(t, int(ex.Attempt), 3)
		require.NotNil(t, ex.ResultFence, "retry probe %d has no result fence", id)
		require.Equal(t, ex.Fence, *ex.ResultFence, "retry probe %d: result not from the final attempt", id)
	}
	running, err := st.ExecutionListPage(t.Context(), store.ExecutionFilter{Status: "running", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, running, "executions still running")
}

func waitTerminal(t *testing.T, st *store.Store, d time.Duration, ids []int64) {
	waitFor(t, d, "every probe terminal", func() bool {
		for _, id := range ids {
			if !domain.TerminalStatus(getExecution(t, st, id).Status) {
				return false
			}
		}
		return true
	})
}

// TestFaultWorkerKilled is scenario T1 on short timings: kill -9 the worker
// process group while it runs 8 probes.
func TestFaultWorkerKilled(t *testing.T) {
	t.Parallel()
	c, st, ledger, abandon, retry := workerLossSetup(t, 8)
	wa := workerIDOf(t, st, "wa")
	before := readLedger(t, ledger)
	killTree(t, c.procs["wa"], syscall.SIGKILL)
	<-c.procs["wa"].done
	killed := time.Now()

	// The abandon probes must be terminal within lease (4 s) + reaper (1 s)
	// plus slack for the poll and a loaded 2-core machine.
	waitTerminal(t, st, 12*time.Second, abandon)
	t.Logf("abandon probes terminal %s after the kill", time.Since(killed))
	waitTerminal(t, st, 40*time.Second, retry)

	// The action children were in their own process groups: they outlive the
	// worker (orphaned), so the ledger is the proof of what ran. The first
	// attempts are still the same processes or have exited; none wrote twice.
	for id, lines := range before {
		require.Len(t, lines, 1, "probe %d before the kill", id)
	}
	checkWorkerLossOutcome(t, st, ledger, wa, abandon, retry)
}

// TestFaultWorkerPaused is scenario T2: SIGSTOP the worker past its lease,
// let the reaper abandon or retry its executions, then SIGCONT: the resumed
// worker's late results are refused and it kills its stale process groups.
func TestFaultWorkerPaused(t *testing.T) {
	t.Parallel()
	c, st, ledger, abandon, retry := workerLossSetup(t, 15)
	wa := workerIDOf(t, st, "wa")
	paused := c.procs["wa"]
	// Stop only the attune process: its action children keep running, as in
	// a GC pause or a partition, and must be killed when it resumes.
	require.NoError(t, paused.cmd.Process.Signal(syscall.SIGSTOP))
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = paused.cmd.Process.Signal(syscall.SIGCONT)
		}
	})
	stale := readLedger(t, ledger)
	waitTerminal(t, st, 15*time.Second, abandon)
	waitFor(t, 15*time.Second, "retry probes reclaimed onto wb", func() bool {
		for _, id := range retry {
			ex := getExecution(t, st, id)
			if ex.Status != "running" || ex.Worker == nil || *ex.Worker == wa {
				return false
			}
		}
		return true
	})
	require.NoError(t, paused.cmd.Process.Signal(syscall.SIGCONT))
	resumed = true

	// The resumed worker finds its leases lost and kills the stale attempts.
	staleLog := regexp.MustCompile(`stale|lease lost`)
	waitFor(t, 15*time.Second, "the resumed worker logs its stale attempts", func() bool {
		return staleLog.MatchString(paused.output())
	})
	waitFor(t, 15*time.Second, "stale attempt processes killed", func() bool {
		for _, lines := range stale {
			if pidAlive(lines[0].pid) {
				return false
			}
		}
		return true
	})
	waitTerminal(t, st, 40*time.Second, retry)
	checkWorkerLossOutcome(t, st, ledger, wa, abandon, retry)
	// wa's stale attempts never wrote a result: the final fence wrote it.
	for _, id := range retry {
		ex := getExecution(t, st, id)
		require.Equal(t, ex.Fence, *ex.ResultFence)
		require.NotContains(t, string(ex.Result), "lease", "probe %d", id)
	}
}
