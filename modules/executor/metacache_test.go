package executor_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The executor caches rules, actions, policies and runtimes per metadata
// version; a change committed before an event is read must decide that
// event: new action_params, a disabled rule, a new policy and a new runtime
// requirement each apply to the very next event.
func TestMetadataChangesApplyToNextEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("meta", nil)
	w := h.worker("w1", "shell")
	r := h.rule(f, "r", `{}`, `{"url":"{{ event.payload.url }}"}`)
	ex := h.execs[0]

	fireOne := func(payload string) (eventID int64, config string) {
		t.Helper()
		ev := h.ingest(f, payload)
		_, err := ex.ProcessEvent(h.ctx, ev.ID)
		require.NoError(t, err)
		h.waitFor("execution of the event", func() bool {
			return h.count(`SELECT count(*) FROM execution x JOIN enforcement e ON e.id = x.enforcement WHERE e.event = $1`, ev.ID) == 1
		})
		require.NoError(t, h.st.Pool().QueryRow(h.ctx, `SELECT x.config->>'url' FROM execution x
			JOIN enforcement e ON e.id = x.enforcement WHERE e.event = $1`, ev.ID).Scan(&config))
		return ev.ID, config
	}

	// Warm the cache. The next event of the trigger then reads none of the
	// tables it holds: with them renamed away it still fires.
	_, url := fireOne(`{"url":"a"}`)
	require.Equal(t, "a", url)
	h.nextDispatch(w)
	hidden := []string{"rule", "action", "policy", "runtime"}
	for _, tb := range hidden {
		h.exec(`ALTER TABLE ` + tb + ` RENAME TO ` + tb + `_hidden`)
	}
	_, url = fireOne(`{"url":"cached"}`)
	for _, tb := range hidden {
		h.exec(`ALTER TABLE ` + tb + `_hidden RENAME TO ` + tb)
	}
	require.Equal(t, "cached", url, "a warm cache still read the metadata tables")
	h.nextDispatch(w)

	// Change the rule's parameters.
	h.exec(`UPDATE rule SET action_params = '{"url":"changed-{{ event.payload.url }}"}' WHERE id = $1`, r.ID)
	_, url = fireOne(`{"url":"b"}`)
	require.Equal(t, "changed-b", url, "rule change applied to the next event")
	h.nextDispatch(w)

	// A policy on the action: the next execution goes through admission.
	h.policy(f, "meta_limit", "enqueue", 5)
	evID, _ := fireOne(`{"url":"c"}`)
	require.Equal(t, 1, h.count(`SELECT count(*) FROM execution_admission_entry a JOIN execution x ON x.id = a.execution_id
		JOIN enforcement e ON e.id = x.enforcement WHERE e.event = $1`, evID), "policy applied to the next event")
	h.nextDispatch(w)

	// A runtime only another worker offers: the next execution must not go to w1.
	h.exec(`UPDATE runtime SET name = 'Other', aliases = '{other}', ref = 'meta.other' WHERE id = $1`, f.runtime.ID)
	h.exec(`DELETE FROM policy WHERE action = $1`, f.action.ID)
	w2 := h.worker("w2", "other")
	fireOne(`{"url":"d"}`)
	require.Equal(t, "changed-d", func() string {
		d := h.nextDispatch(w2)
		var u string
		require.NoError(t, h.st.Pool().QueryRow(h.ctx, `SELECT config->>'url' FROM execution WHERE id = $1`, d.ExecutionID).Scan(&u))
		return u
	}(), "runtime change applied to the next placement")

	// Disabled: the next event fires nothing.
	h.exec(`UPDATE rule SET enabled = false WHERE id = $1`, r.ID)
	ev := h.ingest(f, `{"url":"e"}`)
	fired, err := ex.ProcessEvent(h.ctx, ev.ID)
	require.NoError(t, err)
	require.Empty(t, fired)
	require.Equal(t, 0, h.count(`SELECT count(*) FROM enforcement WHERE event = $1`, ev.ID), "disabled rule fired")
}
