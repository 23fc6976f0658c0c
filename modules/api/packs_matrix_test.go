package api

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/store"
)

// defsFixture is the definition objects one matrix cell targets: a non-core
// pack with one of every component.
type defsFixture struct {
	pack, action, trigger, rule, sensor, runtime, policy string
}

// ensurePacks gives a test env the pack service (newEnv has no
// packs_base_dir); the atomic pointer makes the late set race-free.
func ensurePacks(t testing.TB, e *env) *packsvc.Service {
	t.Helper()
	if s := e.m.packs.Load(); s != nil {
		return s
	}
	svc, err := packsvc.New(packsvc.Options{Store: e.st, PacksDir: filepath.Join(t.TempDir(), "packs")})
	require.NoError(t, err)
	e.m.packs.CompareAndSwap(nil, svc)
	return e.m.packs.Load()
}

func newDefsFixture(t testing.TB, e *env, tag string) defsFixture {
	t.Helper()
	ctx := context.Background()
	name := "p" + strings.ReplaceAll(tag, "-", "")
	if len(name) > 60 {
		name = name[:60]
	}
	f := defsFixture{pack: name, action: name + ".act", trigger: name + ".trg", rule: name + ".rul",
		sensor: name + ".sen", runtime: name + ".rt", policy: name + ".pol"}
	pk, err := e.st.PackUpsert(ctx, store.Pack{Ref: name, Label: name, Version: "1.0.0"})
	require.NoError(t, err)
	rt, err := e.st.RuntimeUpsert(ctx, store.Runtime{Ref: f.runtime, Pack: &pk.ID, PackRef: &pk.Ref, Name: "rt"})
	require.NoError(t, err)
	a, err := e.st.ActionUpsert(ctx, store.Action{Ref: f.action, Pack: pk.ID, PackRef: pk.Ref, Label: "A",
		Entrypoint: "run.sh", Runtime: &rt.ID, RuntimeRef: &rt.Ref, Enabled: true})
	require.NoError(t, err)
	tr, err := e.st.TriggerUpsert(ctx, store.Trigger{Ref: f.trigger, Pack: &pk.ID, PackRef: &pk.Ref, Label: "T", Enabled: true})
	require.NoError(t, err)
	key := "wh_" + strings.Repeat("0", 32-len(itoa64(tr.ID))) + itoa64(tr.ID)
	_, err = e.st.TriggerSetWebhook(ctx, tr.ID, true, &key, nil)
	require.NoError(t, err)
	_, err = e.st.RuleUpsert(ctx, store.Rule{Ref: f.rule, Pack: pk.ID, PackRef: pk.Ref, Label: "R", Action: &a.ID,
		ActionRef: a.Ref, Trigger: &tr.ID, TriggerRef: tr.Ref, Enabled: true,
		Conditions: json.RawMessage(`[]`), ActionParams: json.RawMessage(`{}`), TriggerParams: json.RawMessage(`{}`)})
	require.NoError(t, err)
	_, err = e.st.SensorUpsert(ctx, store.Sensor{Ref: f.sensor, Pack: &pk.ID, PackRef: &pk.Ref, Label: "S",
		Entrypoint: "s.sh", Runtime: rt.ID, RuntimeRef: rt.Ref, Enabled: true, Config: json.RawMessage(`{}`)})
	require.NoError(t, err)
	method, threshold := "enqueue", int32(2)
	_, err = e.st.PolicyUpsert(ctx, store.Policy{Ref: f.policy, Pack: &pk.ID, PackRef: &pk.Ref, Action: &a.ID,
		ActionRef: a.Ref, Enabled: true, Method: &method, Threshold: &threshold, Quotas: json.RawMessage(`[]`)})
	require.NoError(t, err)
	return f
}

func init() {
	// Roles: viewer and executor read every definition (core.viewer);
	// editor holds packs r/create/install/configure, actions r/c/u, rules
	// r/c/u, runtimes r/c/u but nothing on non-core triggers or policies
	// (hidden → 404); admin holds everything; other only sees core.
	readAll := map[string]int{"viewer": 200, "executor": 200, "editor": 200, "admin": 200, "other": 404}
	readNoEditor := map[string]int{"viewer": 200, "executor": 200, "editor": 404, "admin": 200, "other": 404}
	list := all(200)
	adminMut := func(ok int) map[string]int {
		return map[string]int{"viewer": 403, "executor": 403, "editor": 403, "admin": ok, "other": 404}
	}
	editorMut := func(ok int) map[string]int {
		return map[string]int{"viewer": 403, "executor": 403, "editor": ok, "admin": ok, "other": 404}
	}
	hiddenFromEditor := map[string]int{"viewer": 403, "executor": 403, "editor": 404, "admin": 200, "other": 404}
	create := func(editor, admin int) map[string]int {
		return map[string]int{"viewer": 403, "executor": 403, "editor": editor, "admin": admin, "other": 403}
	}
	expect := map[string]map[string]int{
		"GET /api/v1/packs":          list,
		"GET /api/v1/packs/{ref}":    readAll,
		"DELETE /api/v1/packs/{ref}": adminMut(200),
		// A path/source that does not exist: authorised callers reach the
		// pack service and get 422 naming the field.
		"POST /api/v1/packs/register": create(422, 422),
		"POST /api/v1/packs/install":  create(422, 422),
		// The matrix posts JSON, which the contract refuses before the
		// handler (multipart only); upload authorisation is in packs_test.go.
		"POST /api/v1/packs/upload":                       all(400),
		"GET /api/v1/actions":                             list,
		"POST /api/v1/actions":                            create(201, 201),
		"GET /api/v1/actions/{ref}":                       readAll,
		"PUT /api/v1/actions/{ref}":                       editorMut(200),
		"DELETE /api/v1/actions/{ref}":                    adminMut(200),
		"GET /api/v1/actions/{ref}/queue-stats":           readAll,
		"GET /api/v1/rules":                               list,
		"POST /api/v1/rules":                              create(422, 201), // the editor cannot see the non-core trigger
		"GET /api/v1/rules/{ref}":                         readAll,
		"PUT /api/v1/rules/{ref}":                         editorMut(200),
		"DELETE /api/v1/rules/{ref}":                      adminMut(200),
		"POST /api/v1/rules/{ref}/enable":                 editorMut(200),
		"POST /api/v1/rules/{ref}/disable":                editorMut(200),
		"GET /api/v1/triggers":                            list,
		"POST /api/v1/triggers":                           create(403, 201),
		"GET /api/v1/triggers/{ref}":                      readNoEditor,
		"PUT /api/v1/triggers/{ref}":                      hiddenFromEditor,
		"DELETE /api/v1/triggers/{ref}":                   hiddenFromEditor,
		"POST /api/v1/triggers/{ref}/enable":              hiddenFromEditor,
		"POST /api/v1/triggers/{ref}/disable":             hiddenFromEditor,
		"POST /api/v1/triggers/{ref}/webhooks/enable":     hiddenFromEditor,
		"POST /api/v1/triggers/{ref}/webhooks/disable":    hiddenFromEditor,
		"POST /api/v1/triggers/{ref}/webhooks/regenerate": hiddenFromEditor,
		"GET /api/v1/sensors":                             list,
		"GET /api/v1/sensors/{ref}":                       readAll,
		"POST /api/v1/sensors/{ref}/enable":               editorMut(200),
		"POST /api/v1/sensors/{ref}/disable":              editorMut(200),
		"GET /api/v1/runtimes":                            list,
		"GET /api/v1/runtimes/{ref}":                      readAll,
		"POST /api/v1/runtimes":                           create(201, 201),
		"PUT /api/v1/runtimes/{ref}":                      editorMut(200),
		"DELETE /api/v1/runtimes/{ref}":                   adminMut(200),
		"GET /api/v1/policies":                            list,
		"GET /api/v1/policies/{ref}":                      readNoEditor,
		"POST /api/v1/policies":                           create(403, 201), // editor holds nothing on policies
		"PUT /api/v1/policies/{ref}":                      hiddenFromEditor,
		"DELETE /api/v1/policies/{ref}":                   hiddenFromEditor,
	}
	for _, k := range []string{"actions", "triggers", "sensors", "rules", "runtimes", "policies"} {
		expect["GET /api/v1/packs/{ref}/"+k] = readAll
	}
	registerMatrix(matrixGroup{
		expect: expect,
		fixture: func(t *testing.T, e *env, tag string, f *matrixFixture) {
			ensurePacks(t, e)
			f.extra["defs"] = newDefsFixture(t, e, tag)
		},
		request: func(rt Route, f matrixFixture, tag string) (string, any, bool) {
			d, ok := f.extra["defs"].(defsFixture)
			if !ok {
				return "", nil, false
			}
			var ref string
			switch seg := strings.Split(rt.Path, "/"); {
			case len(seg) < 4:
				return "", nil, false
			default:
				ref = map[string]string{"packs": d.pack, "actions": d.action, "rules": d.rule, "triggers": d.trigger,
					"sensors": d.sensor, "runtimes": d.runtime, "policies": d.policy}[seg[3]]
				if ref == "" {
					return "", nil, false
				}
			}
			bodies := map[string]any{
				"POST /api/v1/packs/register": map[string]any{"path": "/nonexistent/" + tag},
				"POST /api/v1/packs/install":  map[string]any{"source": "/nonexistent/" + tag},
				"POST /api/v1/packs/upload":   map[string]any{"file": "x"},
				"POST /api/v1/actions": map[string]any{"ref": d.pack + ".new", "pack_ref": d.pack, "label": "N",
					"entrypoint": "n.sh", "param_schema": map[string]any{"x": map[string]any{"type": "string"}}},
				"PUT /api/v1/actions/{ref}": map[string]any{"label": "B"},
				"POST /api/v1/rules": map[string]any{"ref": d.pack + ".new", "pack_ref": d.pack, "label": "N",
					"trigger_ref": d.trigger, "action_ref": d.action, "conditions": map[string]any{"expression": "true"}},
				"PUT /api/v1/rules/{ref}":    map[string]any{"label": "B"},
				"POST /api/v1/triggers":      map[string]any{"ref": d.pack + ".new", "pack_ref": d.pack, "label": "N"},
				"PUT /api/v1/triggers/{ref}": map[string]any{"label": "B"},
				"POST /api/v1/runtimes":      map[string]any{"ref": d.pack + ".newrt", "pack_ref": d.pack, "name": "N"},
				"PUT /api/v1/runtimes/{ref}": map[string]any{"name": "B"},
				"POST /api/v1/policies": map[string]any{"ref": d.pack + ".newpol", "name": "N",
					"scope":       map[string]any{"type": "action", "action_ref": d.action},
					"concurrency": map[string]any{"limit": 1, "method": "cancel"}},
				"PUT /api/v1/policies/{ref}": map[string]any{"name": "B"},
			}
			return strings.ReplaceAll(rt.Path, "{ref}", ref), bodies[rt.Method+" "+rt.Path], true
		},
	})
}
