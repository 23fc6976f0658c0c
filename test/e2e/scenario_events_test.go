package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hookTrigger is a pack-owned webhook trigger (its own key, so scenarios
// sharing a cluster never see each other's webhook events).
func hookTrigger(ref string) string {
	return "ref: " + ref + "\nlabel: Hook\ntype: webhook\nparameters: {}\noutput: {type: object, properties: {}, additionalProperties: true}\n"
}

// jsonYAML renders v as a YAML flow value (JSON is YAML).
func jsonYAML(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// condRule is a rule with an expression condition ("" = always).
func condRule(t *testing.T, ref, trigger, cond, action string, params any) string {
	s := fmt.Sprintf("ref: %s\nlabel: r\ntrigger_ref: %s\naction_ref: %s\naction_params: %s\nenabled: true\n",
		ref, trigger, action, jsonYAML(t, params))
	if cond != "" {
		s += "conditions: {expression: " + jsonYAML(t, cond) + "}\n"
	}
	return s
}

// sensorPack files: a custom trigger <ref>.item and a shell sensor that
// prints lines (JSON events) once, then idles.
func sensorFiles(ref string, lines []string) map[string]string {
	script := "#!/bin/sh\ncat >/dev/null\n"
	for _, l := range lines {
		script += "echo '" + l + "'\n"
	}
	script += "exec sleep 3600\n"
	return map[string]string{
		"triggers/item.yaml": "ref: " + ref + ".item\nlabel: Item\ntype: custom\nparameters: {}\n" +
			"output: {type: object, properties: {}, additionalProperties: true}\n",
		"sensors/poll.yaml": "ref: " + ref + ".poller\nlabel: Poller\nrunner_type: shell\nentry_point: poll.sh\n" +
			"trigger_types: [" + ref + ".item]\npoll_interval: 1\n",
		"sensors/poll.sh": script,
	}
}

// T1.4: a webhook POST creates an event whose payload is the body; the rule
// fires and the action receives the data (core.local, value through env).
func scenarioWebhookPayload(t *testing.T, c cluster) {
	cl := login(t, c)
	out := filepath.Join(t.TempDir(), "seq")
	c.RegisterPack(t, writePack(t, fixture("t14", map[string]string{
		"triggers/hook.yaml": hookTrigger("t14.hook"),
		"rules/got.yaml": condRule(t, "t14.got", "t14.hook", "", "core.local",
			map[string]any{"cmd": `printf "%s %s %s" "$SEQ" "$ATTUNE_RULE" "$ATTUNE_TRIGGER" > ` + out, "env": map[string]string{"SEQ": "{{ event.payload.seq }}"}}),
	})))
	hook := enableWebhook(t, cl, "t14.hook")
	body := map[string]any{"seq": "42-abc", "nested": map[string]any{"k": []any{1.0, "two"}}}
	status, raw := cl.do(t, "POST", hook, body)
	require.Contains(t, []int{200, 201, 202}, status, string(raw))

	var payload []byte
	waitFor(t, 20*time.Second, "the webhook event", func() bool {
		return c.Store().Pool().QueryRow(t.Context(), `SELECT payload FROM event WHERE trigger_ref = 't14.hook'`).Scan(&payload) == nil
	})
	require.JSONEq(t, jsonYAML(t, body), string(payload), "event payload equals the body")
	waitFor(t, 20*time.Second, "the action to write the value", func() bool { return readFile(out) == "42-abc t14.got t14.hook" })
	exs := executionsOf(t, c.Store(), "core.local")
	var mine int
	for _, ex := range exs {
		if strings.Contains(string(ex.Config), out) {
			mine++
			require.Equal(t, "completed", waitExecution(t, c.Store(), ex.ID, 10*time.Second).Status)
		}
	}
	require.Equal(t, 1, mine)
}

// T2.5: criteria `status == "critical"` fires for critical, not for info;
// both events exist.
func scenarioRuleCriteria(t *testing.T, c cluster) {
	files := sensorFiles("t25", []string{
		`{"trigger_ref":"t25.item","payload":{"status":"critical"},"dedupe_key":"c"}`,
		`{"trigger_ref":"t25.item","payload":{"status":"info"},"dedupe_key":"i"}`,
	})
	files["actions/tick.yaml"] = shellAction("t25.tick", "tick", "")
	files["actions/tick.sh"] = "#!/bin/sh\ncat\n"
	files["rules/crit.yaml"] = condRule(t, "t25.crit", "t25.item", `event.payload.status == "critical"`, "t25.tick",
		map[string]any{"status": "{{ event.payload.status }}"})
	c.RegisterPack(t, writePack(t, fixture("t25", files)))
	waitFor(t, 30*time.Second, "both events", func() bool {
		return count(t, c.Store(), `SELECT count(*) FROM event WHERE trigger_ref = 't25.item'`) == 2
	})
	waitFor(t, 20*time.Second, "the critical execution", func() bool {
		return len(withStatus(executionsOf(t, c.Store(), "t25.tick"), "completed")) == 1
	})
	time.Sleep(time.Second) // the info event must not produce anything late either
	exs := executionsOf(t, c.Store(), "t25.tick")
	require.Len(t, exs, 1)
	require.Contains(t, string(exs[0].Config), "critical")
	require.Equal(t, 1, count(t, c.Store(), `SELECT count(*) FROM enforcement WHERE rule_ref = 't25.crit'`))
}

// T3.4: one webhook with 3 rules gives 1 event, 3 enforcements, 3 executions.
func scenarioWebhookThreeRules(t *testing.T, c cluster) {
	cl := login(t, c)
	files := map[string]string{
		"triggers/hook.yaml": hookTrigger("t34.hook"),
		"actions/tick.yaml":  shellAction("t34.tick", "tick", ""),
		"actions/tick.sh":    "#!/bin/sh\ncat\n",
	}
	for i := 1; i <= 3; i++ {
		files[fmt.Sprintf("rules/r%d.yaml", i)] = condRule(t, fmt.Sprintf("t34.r%d", i), "t34.hook", "", "t34.tick", map[string]any{"rule": i})
	}
	c.RegisterPack(t, writePack(t, fixture("t34", files)))
	hook := enableWebhook(t, cl, "t34.hook")
	status, raw := cl.do(t, "POST", hook, map[string]any{"x": 1})
	require.Contains(t, []int{200, 201, 202}, status, string(raw))
	waitFor(t, 20*time.Second, "3 completed executions", func() bool {
		return len(withStatus(executionsOf(t, c.Store(), "t34.tick"), "completed")) == 3
	})
	require.Equal(t, 1, count(t, c.Store(), `SELECT count(*) FROM event WHERE trigger_ref = 't34.hook'`))
	require.Equal(t, 3, count(t, c.Store(), `SELECT count(DISTINCT rule_ref) FROM enforcement WHERE trigger_ref = 't34.hook'`))
	require.Equal(t, 3, count(t, c.Store(), `SELECT count(*) FROM enforcement WHERE trigger_ref = 't34.hook'`))
	require.Len(t, executionsOf(t, c.Store(), "t34.tick"), 3)
}

// T3.5: per-rule criteria on one webhook: only the matching level's rule fires.
func scenarioPerRuleCriteria(t *testing.T, c cluster) {
	cl := login(t, c)
	files := map[string]string{
		"triggers/hook.yaml": hookTrigger("t35.hook"),
		"actions/tick.yaml":  shellAction("t35.tick", "tick", ""),
		"actions/tick.sh":    "#!/bin/sh\ncat\n",
	}
	for _, lvl := range []string{"info", "error", "debug"} {
		files["rules/"+lvl+".yaml"] = condRule(t, "t35."+lvl, "t35.hook", `event.payload.level == "`+lvl+`"`, "t35.tick",
			map[string]any{"level": lvl})
	}
	c.RegisterPack(t, writePack(t, fixture("t35", files)))
	hook := enableWebhook(t, cl, "t35.hook")
	for _, lvl := range []string{"error", "debug"} {
		status, raw := cl.do(t, "POST", hook, map[string]any{"level": lvl})
		require.Contains(t, []int{200, 201, 202}, status, string(raw))
	}
	waitFor(t, 20*time.Second, "2 completed executions", func() bool {
		return len(withStatus(executionsOf(t, c.Store(), "t35.tick"), "completed")) == 2
	})
	time.Sleep(time.Second)
	require.Equal(t, 2, count(t, c.Store(), `SELECT count(*) FROM event WHERE trigger_ref = 't35.hook'`))
	require.Equal(t, 0, count(t, c.Store(), `SELECT count(*) FROM enforcement WHERE rule_ref = 't35.info'`))
	require.Equal(t, 1, count(t, c.Store(), `SELECT count(*) FROM enforcement WHERE rule_ref = 't35.error'`))
	require.Equal(t, 1, count(t, c.Store(), `SELECT count(*) FROM enforcement WHERE rule_ref = 't35.debug'`))
}

// T3.6: a custom polling sensor's JSON lines become events and executions.
func scenarioCustomSensor(t *testing.T, c cluster) {
	var emitted []string
	for n := 1; n <= 3; n++ {
		emitted = append(emitted, fmt.Sprintf(`{"trigger_ref":"t36.item","payload":{"n":%d},"dedupe_key":"%d"}`, n, n))
	}
	files := sensorFiles("t36", emitted)
	files["actions/tick.yaml"] = shellAction("t36.tick", "tick", "")
	files["actions/tick.sh"] = "#!/bin/sh\ncat\n"
	files["rules/each.yaml"] = condRule(t, "t36.each", "t36.item", "", "t36.tick", map[string]any{"n": "{{ event.payload.n }}"})
	c.RegisterPack(t, writePack(t, fixture("t36", files)))
	waitFor(t, 30*time.Second, "3 completed executions", func() bool {
		return len(withStatus(executionsOf(t, c.Store(), "t36.tick"), "completed")) == 3
	})
	require.Equal(t, 3, count(t, c.Store(), `SELECT count(*) FROM event WHERE trigger_ref = 't36.item' AND source_ref = 't36.poller'`))
}

// FIFO: a concurrency-1 enqueue policy runs five rapid submissions
// (POST /api/v1/executions/execute, one after the other) one at a time in
// submission order; queue stats add up at the end.
func scenarioFIFO(t *testing.T, c cluster) {
	cl := login(t, c)
	log := filepath.Join(t.TempDir(), "order")
	c.RegisterPack(t, writePack(t, fixture("fifo", map[string]string{
		"actions/step.yaml": shellAction("fifo.step", "step", ""),
		"actions/step.sh": "#!/bin/sh\nn=$(sed -n 's/.*\"n\":\"\\{0,1\\}\\([0-9]*\\).*/\\1/p')\n" +
			"echo \"start $n\" >> " + log + "\nsleep 0.4\necho \"end $n\" >> " + log + "\n",
		"policies/serial.yaml": "ref: fifo.serial\nlabel: Serial\naction_ref: fifo.step\nmethod: enqueue\nthreshold: 1\n",
	})))
	for n := 1; n <= 5; n++ {
		execute(t, c, cl, "fifo.step", map[string]any{"n": n})
	}
	waitFor(t, 60*time.Second, "5 completed executions", func() bool {
		return len(withStatus(executionsOf(t, c.Store(), "fifo.step"), "completed")) == 5
	})
	exs := executionsOf(t, c.Store(), "fifo.step")
	sort.Slice(exs, func(i, j int) bool { return exs[i].ID < exs[j].ID })
	var want []string
	for _, ex := range exs {
		var p map[string]any
		require.NoError(t, json.Unmarshal(ex.Config, &p))
		n := fmt.Sprint(p["n"])
		want = append(want, "start "+n, "end "+n)
	}
	require.Equal(t, want, lines(readFile(log)), "one at a time, in submission order")

	var actionID int64
	require.NoError(t, c.Store().Pool().QueryRow(t.Context(), `SELECT id FROM action WHERE ref = 'fifo.step'`).Scan(&actionID))
	waitFor(t, 5*time.Second, "queue stats to settle", func() bool {
		st, err := c.Store().QueueStatsGet(t.Context(), actionID)
		return err == nil && st.TotalCompleted == 5
	})

	status, raw := cl.do(t, "GET", "/api/v1/actions/fifo.step/queue-stats", nil)
	var qs struct {
		QueueLength    int   `json:"queue_length"`
		ActiveCount    int   `json:"active_count"`
		MaxConcurrent  int   `json:"max_concurrent"`
		TotalEnqueued  int64 `json:"total_enqueued"`
		TotalCompleted int64 `json:"total_completed"`
	}
	if routeMissing(status, raw) {
		st, err := c.Store().QueueStatsGet(t.Context(), actionID)
		require.NoError(t, err)
		qs.QueueLength, qs.ActiveCount, qs.MaxConcurrent = int(st.QueueLength), int(st.ActiveCount), int(st.MaxConcurrent)
		qs.TotalEnqueued, qs.TotalCompleted = st.TotalEnqueued, st.TotalCompleted
	} else {
		require.Equal(t, 200, status, string(raw))
		require.NoError(t, json.Unmarshal(unwrap(raw), &qs))
	}
	require.Equal(t, 0, qs.QueueLength, "queue empty")
	require.Equal(t, 0, qs.ActiveCount, "nothing active")
	require.Equal(t, 1, qs.MaxConcurrent)
	require.Equal(t, int64(5), qs.TotalCompleted, "total_completed")
	require.Equal(t, int64(5), qs.TotalEnqueued, "every admission is counted")
}
