package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/store"
)

// pipelineFixture names the objects the event-pipeline routes target.
type pipelineFixture struct {
	packRef, actionRef, triggerRef, webhookKey          string
	execID, eventID, enfID, workerID, inquiryID, ruleID int64
}

var pipelineSeq atomic.Int64

func randomWebhookKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "wh_" + hex.EncodeToString(b)
}

// seedPipeline creates a pack with an action, a webhook-enabled trigger, a
// rule, an event, an enforcement, an execution (started by executor), an
// inquiry on it and a worker.
func seedPipeline(t *testing.T, st *store.Store, executor int64) pipelineFixture {
	ctx := context.Background()
	n := pipelineSeq.Add(1)
	f := pipelineFixture{packRef: fmt.Sprintf("mx%d", n), webhookKey: randomWebhookKey()}
	f.actionRef, f.triggerRef = f.packRef+".act", f.packRef+".trig"
	pk, err := st.PackUpsert(ctx, store.Pack{Ref: f.packRef, Label: "MX", Version: "1.0.0"})
	require.NoError(t, err)
	act, err := st.ActionUpsert(ctx, store.Action{Ref: f.actionRef, Pack: pk.ID, PackRef: f.packRef, Label: "a", Entrypoint: "a.sh", Enabled: true})
	require.NoError(t, err)
	db := st.Pool()
	var trig int64
	require.NoError(t, db.QueryRow(ctx, `INSERT INTO trigger (ref, pack, pack_ref, label, webhook_enabled, webhook_key)
		VALUES ($1, $2, $3, 't', true, $4) RETURNING id`, f.triggerRef, pk.ID, f.packRef, f.webhookKey).Scan(&trig))
	require.NoError(t, db.QueryRow(ctx, `INSERT INTO rule (ref, pack, pack_ref, label, trigger, trigger_ref, action, action_ref)
		VALUES ($1, $2, $3, 'r', $4, $5, $6, $7) RETURNING id`, f.packRef+".rule", pk.ID, f.packRef, trig, f.triggerRef,
		act.ID, f.actionRef).Scan(&f.ruleID))
	require.NoError(t, db.QueryRow(ctx, `INSERT INTO event (trigger, trigger_ref, payload) VALUES ($1, $2, '{}') RETURNING id`,
		trig, f.triggerRef).Scan(&f.eventID))
	require.NoError(t, db.QueryRow(ctx, `INSERT INTO enforcement (rule, rule_ref, trigger_ref, event) VALUES ($1, $2, $3, $4) RETURNING id`,
		f.ruleID, f.packRef+".rule", f.triggerRef, f.eventID).Scan(&f.enfID))
	require.NoError(t, db.QueryRow(ctx, `INSERT INTO execution (action, action_ref, executor, enforcement, status)
		VALUES ($1, $2, $3, $4, 'requested') RETURNING id`, act.ID, f.actionRef, executor, f.enfID).Scan(&f.execID))
	require.NoError(t, db.QueryRow(ctx, `INSERT INTO inquiry (execution, prompt) VALUES ($1, 'ok?') RETURNING id`, f.execID).Scan(&f.inquiryID))
	require.NoError(t, db.QueryRow(ctx, `INSERT INTO worker (name, last_heartbeat) VALUES ($1, now()) RETURNING id`,
		"w-"+f.packRef).Scan(&f.workerID))
	return f
}

func init() {
	readAll := map[string]int{"viewer": 200, "executor": 200, "editor": 200, "admin": 200, "other": 404}
	workerRead := map[string]int{"viewer": 200, "executor": 200, "editor": 403, "admin": 200, "other": 403}
	registerMatrix(matrixGroup{
		expect: map[string]map[string]int{
			"POST /api/v1/webhooks/{key}":              all(202),
			"POST /api/v1/executions/execute":          {"viewer": 403, "executor": 201, "editor": 201, "admin": 201, "other": 404},
			"GET /api/v1/executions":                   all(200),
			"GET /api/v1/executions/stats":             all(200),
			"GET /api/v1/executions/status/{status}":   all(200),
			"GET /api/v1/executions/{id}":              readAll,
			"POST /api/v1/executions/{id}/cancel":      {"viewer": 403, "executor": 403, "editor": 200, "admin": 200, "other": 404},
			"POST /api/v1/executions/{id}/rerun":       {"viewer": 403, "executor": 201, "editor": 201, "admin": 201, "other": 404},
			"GET /api/v1/enforcements/{id}/executions": readAll,
			"GET /api/v1/events":                       all(200),
			"POST /api/v1/events":                      all(403), // user tokens never post events
			"GET /api/v1/events/{id}":                  {"viewer": 200, "executor": 200, "editor": 404, "admin": 200, "other": 404},
			"GET /api/v1/enforcements":                 all(200),
			"GET /api/v1/enforcements/{id}":            readAll,
			"GET /api/v1/workers":                      workerRead,
			"GET /api/v1/workers/{id}":                 workerRead,
			"POST /api/v1/workers/{id}/cordon":         {"viewer": 403, "executor": 403, "editor": 404, "admin": 200, "other": 404},
			"POST /api/v1/workers/{id}/uncordon":       {"viewer": 403, "executor": 403, "editor": 404, "admin": 200, "other": 404},
			"GET /api/v1/inquiries":                    all(200),
			"POST /api/v1/inquiries":                   all(401), // execution tokens only
			"GET /api/v1/inquiries/{id}":               readAll,
			"POST /api/v1/inquiries/{id}/respond":      {"viewer": 403, "executor": 403, "editor": 403, "admin": 200, "other": 404},
		},
		fixture: func(t *testing.T, e *env, tag string, f *matrixFixture) {
			f.extra["pipeline"] = seedPipeline(t, e.st, f.victim.ID)
		},
		request: func(rt Route, f matrixFixture, tag string) (string, any, bool) {
			pf, ok := f.extra["pipeline"].(pipelineFixture)
			if !ok {
				return "", nil, false
			}
			var id int64
			switch {
			case strings.HasPrefix(rt.Path, "/api/v1/webhooks/"):
				return "/api/v1/webhooks/" + pf.webhookKey, map[string]any{"hello": tag}, true
			case strings.HasPrefix(rt.Path, "/api/v1/executions"):
				id = pf.execID
			case rt.Path == "/api/v1/enforcements/{id}/executions", strings.HasPrefix(rt.Path, "/api/v1/enforcements"):
				id = pf.enfID
			case strings.HasPrefix(rt.Path, "/api/v1/events"):
				id = pf.eventID
			case strings.HasPrefix(rt.Path, "/api/v1/workers"):
				id = pf.workerID
			case strings.HasPrefix(rt.Path, "/api/v1/inquiries"):
				id = pf.inquiryID
			default:
				return "", nil, false
			}
			p := strings.NewReplacer("{id}", itoa64(id), "{status}", "requested").Replace(rt.Path)
			bodies := map[string]any{
				"POST /api/v1/executions/execute":     map[string]any{"action_ref": pf.actionRef, "parameters": map[string]any{}},
				"POST /api/v1/executions/{id}/rerun":  map[string]any{"parameters": map[string]any{"x": 1}},
				"POST /api/v1/events":                 map[string]any{"trigger_ref": pf.triggerRef, "payload": map[string]any{}},
				"POST /api/v1/workers/{id}/cordon":    map[string]any{"reason": "maintenance"},
				"POST /api/v1/inquiries":              map[string]any{"prompt": "x"},
				"POST /api/v1/inquiries/{id}/respond": map[string]any{"response": map[string]any{"ok": true}},
			}
			return p, bodies[rt.Method+" "+rt.Path], true
		},
	})
}
