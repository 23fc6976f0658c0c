package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// faultTimings shortens leases and the reaper so a lost worker is noticed in
// seconds: heartbeat 1 s, lease 4 s, reaper 1 s, kill grace 1 s. A worker is
// no longer picked 3 s after its last heartbeat.
const faultTimings = `worker:
  heartbeat_interval: 1s
  lease_timeout: 4s
  kill_grace: 1s
  max_concurrent_tasks: 16
  name: %s
executor:
  reaper_interval: 1s
  worker_stale_after: 3s
  dispatch_claim_timeout: 10s
`

// faultCluster is a set of attune processes (one role set each) sharing a
// database, a broker prefix and a packs directory.
type faultCluster struct {
	t      *testing.T
	cfg    string // base configuration (database, broker, secrets, directories)
	shared string
	procs  map[string]*process
}

// newFaultCluster prepares the shared configuration; start roles with start.
func newFaultCluster(t *testing.T, dsn, amqpURL, prefix string) *faultCluster {
	shared := t.TempDir()
	cfg := prodConfig(dsn, amqpURL, prefix) +
		"packs_base_dir: " + shared + "/packs\nruntime_envs_dir: " + shared + "/envs\n"
	return &faultCluster{t: t, cfg: cfg, shared: shared, procs: map[string]*process{}}
}

// start launches `attune serve --roles=roles` as name and waits until ready.
func (c *faultCluster) start(name, roles string) *process {
	c.t.Helper()
	body := c.cfg + "data_dir: " + filepath.Join(c.shared, "data-"+name) + "\n" + fmt.Sprintf(faultTimings, name)
	p := startServe(c.t, writeConfig(c.t, body), nil, "--roles="+roles)
	p.waitStatus(c.t, "/readyz", 200, 60*time.Second)
	c.procs[name] = p
	return p
}

// register registers a pack directory with the CLI, as an operator would.
func (c *faultCluster) register(packDir string) {
	c.t.Helper()
	dir := writeConfig(c.t, c.cfg+"data_dir: "+filepath.Join(c.shared, "cli")+"\n")
	code, out, errOut := runAttune(c.t, dir, nil, "pack", "register", packDir)
	require.Equal(c.t, 0, code, out+errOut)
}

// probePack is the fault fixture of guarantees-and-security.md §4.1: two
// shell actions that append "exec_id attempt pid" to a ledger, then sleep.
// The attempt number is the count of earlier lines for the execution plus
// one (attempts of one execution never overlap by the lease contract).
func probePack(t *testing.T, ledger string) string {
	script := `#!/bin/sh
set -eu
secs=$(sed -n 's/^secs=//p' | tr -d "'\"")
n=$(grep -c "^$ATTUNE_EXEC_ID " "` + ledger + `" || true)
printf '%s %s %s\n' "$ATTUNE_EXEC_ID" "$((n + 1))" "$$" >> "` + ledger + `"
sleep "${secs:-1}"
echo done
`
	action := func(ref, policy string) string {
		return "ref: probe." + ref + "\nlabel: " + ref + "\ndescription: fault probe\nrunner_type: shell\n" +
			"entry_point: ledger.sh\nparameter_delivery: stdin\nparameter_format: dotenv\noutput_format: text\n" +
			"timeout: 120\n" + policy +
			"parameters:\n  secs: {type: integer, description: sleep, required: true, minimum: 0, maximum: 100}\n"
	}
	return writePack(t, map[string]string{
		"pack.yaml":                "ref: probe\nlabel: Probe\ndescription: fault probes\nversion: 1.0.0\n",
		"actions/ledger.sh":        script,
		"actions/ledger.yaml":      action("ledger", "on_worker_lost: abandon\n"),
		"actions/ledger_idem.yaml": action("ledger_idem", "on_worker_lost: retry\nmax_attempts: 3\n"),
	})
}

// requestExecution creates a requested execution exactly as the API's
// execute endpoint does (pipeline.RequestExecution in one transaction).
func requestExecution(t *testing.T, st *store.Store, ref string, params map[string]any) int64 {
	t.Helper()
	var id int64
	require.NoError(t, st.InTx(context.Background(), func(tx *store.Tx) error {
		ex, err := pipeline.RequestExecution(context.Background(), tx, pipeline.NewExecution{ActionRef: ref, Params: params})
		id = ex.ID
		return err
	}))
	return id
}

// getExecution reloads one execution.
func getExecution(t *testing.T, st *store.Store, id int64) store.Execution {
	t.Helper()
	ex, err := st.ExecutionGet(context.Background(), id)
	require.NoError(t, err)
	return ex
}

// ledgerEntry is one line of the probe ledger.
type ledgerEntry struct {
	attempt int
	pid     int
}

// readLedger parses the ledger into execution id → lines in order.
func readLedger(t *testing.T, path string) map[int64][]ledgerEntry {
	t.Helper()
	out := map[int64][]ledgerEntry{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		require.Len(t, fields, 3, "ledger line %d: %q", line, sc.Text())
		id, e1 := strconv.ParseInt(fields[0], 10, 64)
		attempt, e2 := strconv.Atoi(fields[1])
		pid, e3 := strconv.Atoi(fields[2])
		require.NoError(t, firstErr(e1, e2, e3), "ledger line %d: %q", line, sc.Text())
		out[id] = append(out[id], ledgerEntry{attempt: attempt, pid: pid})
	}
	require.NoError(t, sc.Err())
	return out
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// pidAlive reports whether pid still exists (and is not a zombie).
func pidAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] != 'Z'
	}
	return true
}

// workerIDOf returns the database id of the worker registered as name.
func workerIDOf(t *testing.T, st *store.Store, name string) int64 {
	t.Helper()
	var id int64
	waitFor(t, 20*time.Second, "worker "+name+" registered", func() bool {
		ws, err := st.WorkerList(context.Background())
		require.NoError(t, err)
		for _, w := range ws {
			if w.Name == name {
				id = w.ID
				return true
			}
		}
		return false
	})
	return id
}

// killTree sends sig to the process group of p (the attune process and any
// children sharing its group).
func killTree(t *testing.T, p *process, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, syscall.Kill(-p.cmd.Process.Pid, sig))
}
