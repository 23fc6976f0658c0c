package e2e

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app/apptest"
	"github.com/attune-system/attune/modules/store/storetest"
)

// TestTimerRuleRunsAnActionInProcess is the smallest whole-pipeline check:
// an interval timer rule fires, the executor schedules core.echo, a worker
// runs it and stores the result — all roles in one process.
func TestTimerRuleRunsAnActionInProcess(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t, apptest.Options{})
	st := openStore(t, inst.Config.Database.URL)
	dir := writePack(t, map[string]string{
		"pack.yaml": "ref: smoke\nlabel: Smoke\ndescription: smoke test\nversion: 1.0.0\n",
		"rules/tick.yaml": `ref: smoke.tick
label: Tick
trigger_ref: core.intervaltimer
trigger_params: {unit: seconds, interval: 1}
action_ref: core.echo
action_params:
  message: "tick {{ event.payload.execution_count }}"
enabled: true
`,
	})
	registerPack(t, st, inst.Config.PacksBaseDir, dir)
	waitFor(t, 20*time.Second, "two completed echo executions", func() bool {
		n := 0
		for _, ex := range executionsOf(t, st, "core.echo") {
			if ex.Status == "completed" {
				n++
			}
		}
		return n >= 2
	})
	for _, ex := range executionsOf(t, st, "core.echo") {
		if ex.Status == "completed" {
			require.Contains(t, string(ex.Result), "tick")
			require.NotNil(t, ex.Enforcement)
		}
	}
}

// TestTimerRuleRunsAnActionAcrossProcesses is the same flow with every role
// in its own OS process of the built binary over RabbitMQ: two executors,
// two workers, one sensor, sharing one packs directory.
func TestTimerRuleRunsAnActionAcrossProcesses(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	shared := t.TempDir()
	prefix := apptest.RandomPrefix()
	apptest.CleanupBroker(t, dsn, prefix)
	cfg := prodConfig(dsn, apptest.AMQPURL(), prefix) +
		"packs_base_dir: " + shared + "/packs\nruntime_envs_dir: " + shared + "/envs\n"
	var procs []*process
	for i, roles := range []string{"executor", "executor", "worker", "worker", "sensor"} {
		dir := writeConfig(t, cfg+fmt.Sprintf("data_dir: %s/data%d\nworker:\n  name: w%d\n", shared, i, i))
		procs = append(procs, startServe(t, dir, nil, "--roles="+roles))
	}
	for _, p := range procs {
		p.waitStatus(t, "/readyz", 200, 60*time.Second)
	}
	packDir := writePack(t, map[string]string{
		"pack.yaml": "ref: smoke\nlabel: Smoke\ndescription: smoke test\nversion: 1.0.0\n",
		"rules/tick.yaml": "ref: smoke.tick\nlabel: Tick\ntrigger_ref: core.intervaltimer\n" +
			"trigger_params: {unit: seconds, interval: 1}\naction_ref: core.echo\n" +
			"action_params: {message: \"tick {{ event.payload.execution_count }}\"}\nenabled: true\n",
	})
	code, out, errOut := runAttune(t, writeConfig(t, cfg+"data_dir: "+shared+"/cli\n"), nil, "pack", "register", packDir)
	require.Equal(t, 0, code, out+errOut)

	st := openStore(t, dsn)
	workers := map[int64]bool{}
	waitFor(t, 30*time.Second, "completed echo executions on both workers", func() bool {
		n := 0
		for _, ex := range executionsOf(t, st, "core.echo") {
			if ex.Status == "completed" {
				n++
				workers[*ex.Worker] = true
			}
		}
		return n >= 4 && len(workers) == 2
	})
	for _, p := range procs {
		require.Equal(t, 0, p.stop(t, syscall.SIGTERM, 30*time.Second), p.output())
	}
}
