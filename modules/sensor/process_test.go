package sensor_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/sensor"
)

// pollScript is a custom polling sensor: it saves its stdin document and
// pid in STATE_DIR (sensor config), then emits an event for its rule every
// 0.2 s, plus lines the module must drop (foreign trigger, garbage).
const pollScript = `#!/bin/sh
dir="$ATTUNE_SENSOR_CONFIG_STATE_DIR"
cat > "$dir/stdin.$$.json"
echo $$ >> "$dir/pids"
rid=$(sed -n 's/.*"rule_id":\([0-9]*\).*/\1/p' "$dir/stdin.$$.json")
echo "starting $ATTUNE_SENSOR_REF" >&2
echo '{"trigger_ref":"tpack.foreign","payload":{}}'
echo 'not json'
n=0
while :; do
  n=$((n+1))
  echo "{\"trigger_ref\":\"tpack.poll\",\"payload\":{\"n\":$n,\"pid\":$$},\"trigger_instance_id\":\"rule_$rid\",\"dedupe_key\":\"$$-$n\"}"
  sleep 0.2
done
`

// T3.6: a custom sensor runs only while an enabled rule needs it, its JSON
// lines become events, it is restarted after kill -9 and stopped when the
// rule is disabled; its token is on stdin only.
func TestCustomSensorLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	state := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(h.packsDir, "tpack", "sensors"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(h.packsDir, "tpack", "sensors", "poll.sh"), []byte(pollScript), 0o644))
	var rtID, sensorID int64
	require.NoError(t, h.st.Pool().QueryRow(ctx, `INSERT INTO runtime (ref, pack, pack_ref, name, execution_config)
		VALUES ('tpack.shell', $1, 'tpack', 'Shell', '{"interpreter": {"binary": "/bin/sh", "args": []}}') RETURNING id`,
		h.packID).Scan(&rtID))
	cfg, _ := json.Marshal(map[string]any{"state_dir": state})
	require.NoError(t, h.st.Pool().QueryRow(ctx, `INSERT INTO sensor (ref, pack, pack_ref, label, entrypoint, runtime, runtime_ref, config)
		VALUES ('tpack.poller', $1, 'tpack', 'Poller', 'poll.sh', $2, 'tpack.shell', $3) RETURNING id`,
		h.packID, rtID, cfg).Scan(&sensorID))
	for _, ref := range []string{"tpack.poll", "tpack.foreign"} {
		var sensor any
		if ref == "tpack.poll" {
			sensor = sensorID
		}
		_, err := h.st.Pool().Exec(ctx, `INSERT INTO trigger (ref, pack, pack_ref, label, sensor, sensor_ref)
			VALUES ($1, $2, 'tpack', $1, $3, 'tpack.poller')`, ref, h.packID, sensor)
		require.NoError(t, err)
	}
	h.start(newBus(t, false), func(c *sensor.Config) {
		c.ResyncInterval = 300 * time.Millisecond
		c.RestartBackoffMax = time.Second
	})
	pids := func() []int {
		b, _ := os.ReadFile(filepath.Join(state, "pids"))
		var out []int
		for _, f := range strings.Fields(string(b)) {
			p, err := strconv.Atoi(f)
			require.NoError(t, err)
			out = append(out, p)
		}
		return out
	}
	sensorEvents := func(pid int) int {
		return h.count(`SELECT count(*) FROM event WHERE source_ref = 'tpack.poller' AND ($1 = 0 OR (payload->>'pid')::int = $1)`, pid)
	}

	// No enabled rule uses its trigger: not started.
	time.Sleep(1500 * time.Millisecond)
	require.Empty(t, pids(), "sensor started without a rule")

	r := h.rule("polled", "tpack.poll", `{"threshold": 3}`)
	require.Eventually(t, func() bool { return len(pids()) == 1 && sensorEvents(pids()[0]) >= 3 }, 5*time.Second, 50*time.Millisecond)
	first := pids()[0]
	require.Equal(t, sensorEvents(0), h.count(`SELECT count(*) FROM event WHERE source_ref = 'tpack.poller'
		AND trigger_ref = 'tpack.poll' AND rule = $1 AND source = $2 AND payload ? 'n'`, r.ID, sensorID),
		"every event is the sensor's, on its trigger, for its rule")
	require.Zero(t, h.count(`SELECT count(*) FROM event WHERE trigger_ref = 'tpack.foreign'`), "foreign trigger accepted")

	// The token is on stdin only, scoped to the sensor.
	doc, err := os.ReadFile(filepath.Join(state, "stdin."+strconv.Itoa(first)+".json"))
	require.NoError(t, err)
	var in struct {
		APIURL           string           `json:"api_url"`
		APIToken         string           `json:"api_token"`
		SensorRef        string           `json:"sensor_ref"`
		TriggerInstances []map[string]any `json:"trigger_instances"`
	}
	require.NoError(t, json.Unmarshal(doc, &in))
	require.Equal(t, "tpack.poller", in.SensorRef)
	require.Equal(t, "http://127.0.0.1:1", in.APIURL)
	require.Len(t, in.TriggerInstances, 1)
	require.EqualValues(t, r.ID, in.TriggerInstances[0]["rule_id"])
	require.Equal(t, map[string]any{"threshold": float64(3)}, in.TriggerInstances[0]["trigger_params"])
	issuer, err := security.NewTokenIssuer([]byte(testSecret), nil)
	require.NoError(t, err)
	claims, err := issuer.Verify(in.APIToken, security.TokenSensor)
	require.NoError(t, err)
	types, _ := claims.MetadataStrings(security.MetaTriggerTypes)
	require.Equal(t, []string{"tpack.poll"}, types)
	require.WithinDuration(t, time.Now().Add(24*time.Hour), claims.ExpiresAt, time.Minute)
	for _, f := range []string{"environ", "cmdline"} {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(first) + "/" + f)
		require.NoError(t, err)
		require.NotContains(t, string(b), in.APIToken, "token leaked into /proc/pid/%s", f)
		if f == "environ" {
			require.Contains(t, string(b), "ATTUNE_SENSOR_REF=tpack.poller")
			require.Contains(t, string(b), "ATTUNE_SENSOR_ID="+strconv.FormatInt(sensorID, 10))
			require.NotContains(t, string(b), "ATTUNE_API_TOKEN")
		}
	}

	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(h.dataDir, "sensor_logs", "tpack.poller.stderr.log"))
		return strings.Contains(string(b), "starting tpack.poller")
	}, 2*time.Second, 50*time.Millisecond, "stderr goes to the sensor's log file")

	// kill -9: restarted with backoff, the old leader reaped.
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	require.Eventually(t, func() bool { return len(pids()) == 2 && sensorEvents(pids()[1]) >= 2 }, 5*time.Second, 50*time.Millisecond)
	require.NoDirExists(t, "/proc/"+strconv.Itoa(first), "crashed sensor not reaped")
	second := pids()[1]

	// Rule disabled: process (and group) stopped, no more events.
	_, err = h.st.RuleSetEnabled(ctx, r.ID, false)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !alive(second) }, 5*time.Second, 50*time.Millisecond)
	n := sensorEvents(0)
	time.Sleep(700 * time.Millisecond)
	require.Equal(t, n, sensorEvents(0), "events after the sensor was stopped")
	require.Len(t, pids(), 2, "sensor restarted without a rule")
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
