package packsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// writer performs the database half of one registration inside tx.
type writer struct {
	tx      *store.Tx
	p       *pack.Pack
	opts    RegisterOptions
	sum     string
	storage string

	packRow  store.Pack
	runtimes map[string]int64 // ref → id, this pack's and looked-up ones
	actions  map[string]int64
	triggers map[string]int64
	removed  []string
}

func (w *writer) write(ctx context.Context) error {
	if err := w.verifyExternal(ctx); err != nil {
		return err
	}
	if err := w.refuseForeign(ctx); err != nil {
		return err
	}
	before := map[string]store.Rule{}
	if cur, err := w.tx.PackGetByRef(ctx, w.p.Ref); err == nil {
		rs, err := w.tx.RuleListByPack(ctx, cur.ID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			before[r.Ref] = r
		}
	} else if !isNotFound(err) {
		return err
	}
	if err := w.upsertPack(ctx); err != nil {
		return err
	}
	w.runtimes, w.actions, w.triggers = map[string]int64{}, map[string]int64{}, map[string]int64{}
	steps := []func(context.Context) error{
		w.permissionSets, w.runtimesStep, w.triggersStep, w.actionsStep, w.policies,
		func(ctx context.Context) error { return w.rules(ctx, before) }, w.sensors,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	if err := w.prune(ctx); err != nil {
		return err
	}
	return pipeline.Enqueue(ctx, w.tx, bus.ExchangeEvents, bus.KeyPackRegistered, pipeline.TypePackRegistered,
		pipeline.PackChanged{PackID: w.packRow.ID, PackRef: w.packRow.Ref, Version: w.packRow.Version})
}

// verifyExternal checks declared dependencies and the refs the loader could
// not resolve inside the pack against the database.
func (w *writer) verifyExternal(ctx context.Context) error {
	var probs pack.Problems
	for _, dep := range w.p.Dependencies {
		if _, err := w.tx.PackGetByRef(ctx, dep); isNotFound(err) {
			probs = append(probs, pack.Problem{File: "pack.yaml", Field: "dependencies",
				Msg: fmt.Sprintf("pack %q is not installed", dep)})
		} else if err != nil {
			return err
		}
	}
	for _, er := range w.p.ExternalRefs {
		var err error
		switch er.Kind {
		case "action":
			_, err = w.tx.ActionGetByRef(ctx, er.Ref)
		case "trigger":
			_, err = w.tx.TriggerGetByRef(ctx, er.Ref)
		case "runtime":
			_, err = w.tx.RuntimeGetByRef(ctx, er.Ref)
		case "permission_set":
			err = w.permissionSetExists(ctx, er.Ref)
		default:
			continue
		}
		if isNotFound(err) {
			probs = append(probs, pack.Problem{File: er.File, Field: er.Kind + "_ref",
				Msg: fmt.Sprintf("%s %q does not exist", strings.ReplaceAll(er.Kind, "_", " "), er.Ref)})
		} else if err != nil {
			return err
		}
	}
	return problemsErr(probs)
}

func (w *writer) permissionSetExists(ctx context.Context, ref string) error {
	owner, _, _ := strings.Cut(ref, ".")
	pk, err := w.tx.PackGetByRef(ctx, owner)
	if err != nil {
		return err
	}
	refs, err := w.tx.PermissionSetRefsByPack(ctx, pk.ID)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if r == ref {
			return nil
		}
	}
	return domain.NotFoundf("permission set %q", ref)
}

// refuseForeign stops a pack from overwriting another pack's components.
func (w *writer) refuseForeign(ctx context.Context) error {
	var refs store.PackComponentRefs
	for _, x := range w.p.Actions {
		refs.Actions = append(refs.Actions, x.Ref)
		if x.Workflow != nil {
			refs.Workflows = append(refs.Workflows, x.Ref)
		}
	}
	for _, x := range w.p.Triggers {
		refs.Triggers = append(refs.Triggers, x.Ref)
	}
	for _, x := range w.p.Rules {
		refs.Rules = append(refs.Rules, x.Ref)
	}
	for _, x := range w.p.Sensors {
		refs.Sensors = append(refs.Sensors, x.Ref)
	}
	for _, x := range w.p.Runtimes {
		refs.Runtimes = append(refs.Runtimes, x.Ref)
	}
	for _, x := range w.p.Policies {
		refs.Policies = append(refs.Policies, x.Ref)
	}
	for _, x := range w.p.PermissionSets {
		refs.PermissionSets = append(refs.PermissionSets, x.Ref)
	}
	foreign, err := w.tx.PackForeignComponents(ctx, w.p.Ref, refs)
	if err != nil || len(foreign) == 0 {
		return err
	}
	msgs := make([]string, len(foreign))
	for i, f := range foreign {
		owner := f.Owner
		if owner == "" {
			owner = "no pack"
		} else {
			owner = "pack " + owner
		}
		msgs[i] = fmt.Sprintf("%s %q belongs to %s", f.Kind, f.Ref, owner)
	}
	return fmt.Errorf("pack %q may not overwrite components owned by another pack: %s: %w",
		w.p.Ref, strings.Join(msgs, "; "), domain.ErrConflict)
}

func (w *writer) upsertPack(ctx context.Context) error {
	p, o := w.p, w.opts
	now := time.Now()
	row := store.Pack{
		Ref: p.Ref, Label: p.Label, Description: optStr(p.Description), Version: p.Version,
		ConfSchema: schemaJSON(p.ConfSchema), Config: mustJSON(p.Config), Meta: mustJSON(p.Meta),
		Tags: p.Tags, RuntimeDeps: p.RuntimeDeps, Dependencies: p.Dependencies, IsStandard: p.System,
		SourceType: optStr(o.SourceType), SourceURL: optStr(redactURL(o.SourceURL)), SourceRef: optStr(o.SourceRef),
		Checksum: &w.sum, ChecksumVerified: true, InstalledAt: &now, InstalledBy: o.InstalledBy,
		InstallationMethod: optStr(o.Method), StoragePath: &w.storage,
	}
	var err error
	w.packRow, err = w.tx.PackUpsert(ctx, row)
	return err
}

func (w *writer) packID() *int64 { id := w.packRow.ID; return &id }

func (w *writer) permissionSets(ctx context.Context) error {
	for _, ps := range w.p.PermissionSets {
		if _, err := w.tx.PermissionSetRegister(ctx, store.PackPermissionSet{
			Ref: ps.Ref, Pack: w.packRow.ID, PackRef: w.p.Ref, Label: optStr(ps.Label),
			Description: optStr(ps.Description), Grants: mustJSONArray(ps.Grants),
		}); err != nil {
			return fileErr(ps.File, err)
		}
	}
	return nil
}

func (w *writer) runtimesStep(ctx context.Context) error {
	for _, rt := range w.p.Runtimes {
		row, err := w.tx.RuntimeUpsert(ctx, store.Runtime{
			Ref: rt.Ref, Pack: w.packID(), PackRef: &w.p.Ref, Description: optStr(rt.Description),
			Name: rt.RuntimeName, Aliases: rt.Aliases, Distributions: mustJSON(rt.Distributions),
			Installation: optJSON(rt.Installation), ExecutionConfig: mustJSON(rt.ExecutionConfig),
		})
		if err != nil {
			return fileErr(rt.File, err)
		}
		w.runtimes[rt.Ref] = row.ID
	}
	return nil
}

func (w *writer) runtimeID(ctx context.Context, ref string) (*int64, error) {
	if ref == "" {
		return nil, nil
	}
	if id, ok := w.runtimes[ref]; ok {
		return &id, nil
	}
	rt, err := w.tx.RuntimeGetByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	w.runtimes[ref] = rt.ID
	return &rt.ID, nil
}

func (w *writer) triggersStep(ctx context.Context) error {
	for _, t := range w.p.Triggers {
		row, err := w.tx.TriggerUpsert(ctx, store.Trigger{
			Ref: t.Ref, Pack: w.packID(), PackRef: &w.p.Ref, Label: t.Label, Description: optStr(t.Description),
			Enabled: t.Enabled, ParamSchema: schemaJSON(t.Parameters), OutSchema: schemaJSON(t.Output),
			ReferenceVisibility: t.ReferenceVisibility, ReferenceAllowedPackRefs: t.ReferenceAllowedPackRefs,
		})
		if err != nil {
			return fileErr(t.File, err)
		}
		w.triggers[t.Ref] = row.ID
	}
	return nil
}

func (w *writer) actionsStep(ctx context.Context) error {
	for _, a := range w.p.Actions {
		row := store.Action{
			Ref: a.Ref, Pack: w.packRow.ID, PackRef: w.p.Ref, Label: a.Label, Description: optStr(a.Description),
			Entrypoint: a.EntryPoint, Enabled: a.Enabled, ParamSchema: schemaJSON(a.Parameters),
			OutSchema: schemaJSON(a.Output), ParameterDelivery: a.ParameterDelivery,
			ParameterFormat: a.ParameterFormat, OutputFormat: a.OutputFormat, MaxRetries: int32(a.MaxRetries),
			RuntimeVersionConstraint:          optStr(a.RuntimeVersionConstraint),
			DefaultExecutionPermissionSetRefs: a.DefaultExecutionPermissionSetRefs,
			ReferenceVisibility:               a.ReferenceVisibility, ReferenceAllowedPackRefs: a.ReferenceAllowedPackRefs,
			OnWorkerLost: a.OnWorkerLost, MaxAttempts: int32(a.MaxAttempts),
		}
		if a.TimeoutSeconds > 0 {
			t := int32(a.TimeoutSeconds)
			row.TimeoutSeconds = &t
		}
		if a.Workflow != nil {
			wf, err := w.tx.WorkflowDefinitionUpsert(ctx, store.WorkflowDefinition{
				Ref: a.Ref, Pack: w.packRow.ID, PackRef: w.p.Ref, Label: a.Label, Description: optStr(a.Description),
				Version: w.p.Version, ParamSchema: schemaJSON(a.Parameters), OutSchema: schemaJSON(a.Output),
				Definition: a.Workflow.JSON, Tags: a.Tags,
			})
			if err != nil {
				return fileErr(a.Workflow.File, err)
			}
			row.WorkflowDef = &wf.ID
			if row.Entrypoint == "" {
				row.Entrypoint = a.WorkflowFile
			}
		} else {
			id, err := w.runtimeID(ctx, a.RuntimeRef)
			if err != nil {
				return fileErr(a.File, err)
			}
			row.Runtime = id
			row.RuntimeRef = optStr(a.RuntimeRef)
		}
		got, err := w.tx.ActionUpsert(ctx, row)
		if err != nil {
			return fileErr(a.File, err)
		}
		w.actions[a.Ref] = got.ID
	}
	return nil
}

func (w *writer) actionID(ctx context.Context, ref string) (*int64, error) {
	if id, ok := w.actions[ref]; ok {
		return &id, nil
	}
	a, err := w.tx.ActionGetByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &a.ID, nil
}

func (w *writer) triggerID(ctx context.Context, ref string) (*int64, error) {
	if id, ok := w.triggers[ref]; ok {
		return &id, nil
	}
	t, err := w.tx.TriggerGetByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &t.ID, nil
}

func (w *writer) policies(ctx context.Context) error {
	for _, po := range w.p.Policies {
		aid, err := w.actionID(ctx, po.ActionRef)
		if err != nil {
			return fileErr(po.File, err)
		}
		row := store.Policy{
			Ref: po.Ref, Pack: w.packID(), PackRef: &w.p.Ref, Action: aid, ActionRef: po.ActionRef,
			Enabled: po.Enabled, Priority: int32(po.Priority), Parameters: po.Parameters,
			Quotas: mustJSONArray(po.Quotas), Name: optStr(po.Label), Description: optStr(po.Description), Tags: po.Tags,
		}
		if po.Method != "" {
			m, t := po.Method, int32(po.Threshold)
			row.Method, row.Threshold = &m, &t
		}
		if po.RateLimitMaxExecutions > 0 {
			n, s := int32(po.RateLimitMaxExecutions), int32(po.RateLimitWindowSeconds)
			row.RateLimitMaxExecutions, row.RateLimitWindowSeconds = &n, &s
		}
		if _, err := w.tx.PolicyUpsert(ctx, row); err != nil {
			return fileErr(po.File, err)
		}
	}
	return nil
}

func (w *writer) rules(ctx context.Context, before map[string]store.Rule) error {
	for _, r := range w.p.Rules {
		aid, err := w.actionID(ctx, r.ActionRef)
		if err != nil {
			return fileErr(r.File, err)
		}
		tid, err := w.triggerID(ctx, r.TriggerRef)
		if err != nil {
			return fileErr(r.File, err)
		}
		row, err := w.tx.RuleUpsert(ctx, store.Rule{
			Ref: r.Ref, Pack: w.packRow.ID, PackRef: w.p.Ref, Label: r.Label, Description: optStr(r.Description),
			Action: aid, ActionRef: r.ActionRef, Trigger: tid, TriggerRef: r.TriggerRef,
			Conditions: conditionsJSON(r.Conditions), ActionParams: mustJSON(r.ActionParams),
			TriggerParams: mustJSON(r.TriggerParams), PermissionSetRefs: r.PermissionSetRefs, Enabled: r.Enabled,
		})
		if err != nil {
			return fileErr(r.File, err)
		}
		old, existed := before[r.Ref]
		key := ""
		switch {
		case !existed:
			key = bus.KeyRuleCreated
		case old.Enabled && !row.Enabled:
			key = bus.KeyRuleDisabled
		case !old.Enabled && row.Enabled:
			key = bus.KeyRuleEnabled
		}
		if key != "" {
			if err := enqueueRule(ctx, w.tx, key, row); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *writer) sensors(ctx context.Context) error {
	for _, se := range w.p.Sensors {
		rid, err := w.runtimeID(ctx, se.RuntimeRef)
		if err != nil {
			return fileErr(se.File, err)
		}
		if rid == nil {
			return fileErr(se.File, domain.NewValidationError("runner_type", "sensor has no runtime"))
		}
		row, err := w.tx.SensorUpsert(ctx, store.Sensor{
			Ref: se.Ref, Pack: w.packID(), PackRef: &w.p.Ref, Label: se.Label, Description: optStr(se.Description),
			Entrypoint: se.EntryPoint, Runtime: *rid, RuntimeRef: se.RuntimeRef, Enabled: se.Enabled,
			ParamSchema: schemaJSON(se.Parameters), Config: mustJSON(se.Config),
			RuntimeVersionConstraint: optStr(se.RuntimeVersionConstraint),
		})
		if err != nil {
			return fileErr(se.File, err)
		}
		// Only this pack's triggers are linked: pointing another pack's
		// trigger at our sensor would modify a component we do not own.
		if _, err := w.tx.TriggerLinkSensor(ctx, w.packRow.ID, row.ID, row.Ref, se.TriggerTypes); err != nil {
			return fileErr(se.File, err)
		}
	}
	return nil
}

// prune deletes, in reverse dependency order, the components of this pack
// that are no longer in its files; ad-hoc rules, actions, triggers and
// sensors are kept.
func (w *writer) prune(ctx context.Context) error {
	id := w.packRow.ID
	var sensors, ruleRefs, policies, actions, workflows, triggers, runtimes, permsets []string
	for _, x := range w.p.Sensors {
		sensors = append(sensors, x.Ref)
	}
	for _, x := range w.p.Rules {
		ruleRefs = append(ruleRefs, x.Ref)
	}
	for _, x := range w.p.Policies {
		policies = append(policies, x.Ref)
	}
	for _, x := range w.p.Actions {
		actions = append(actions, x.Ref)
		if x.Workflow != nil {
			workflows = append(workflows, x.Ref)
		}
	}
	for _, x := range w.p.Triggers {
		triggers = append(triggers, x.Ref)
	}
	for _, x := range w.p.Runtimes {
		runtimes = append(runtimes, x.Ref)
	}
	for _, x := range w.p.PermissionSets {
		permsets = append(permsets, x.Ref)
	}
	note := func(kind string, refs []string, err error) error {
		for _, r := range refs {
			w.removed = append(w.removed, kind+" "+r)
		}
		return err
	}
	gsensors, err := w.tx.SensorPruneByPack(ctx, id, sensors)
	if err := note("sensor", gsensors, err); err != nil {
		return err
	}
	gone, err := w.tx.RulePruneByPack(ctx, id, ruleRefs)
	if err != nil {
		return err
	}
	for _, r := range gone {
		w.removed = append(w.removed, "rule "+r.Ref)
		if err := enqueueRule(ctx, w.tx, bus.KeyRuleDeleted, r); err != nil {
			return err
		}
	}
	steps := []struct {
		kind string
		fn   func(context.Context, int64, []string) ([]string, error)
		keep []string
	}{
		{"policy", w.tx.PolicyPruneByPack, policies},
		{"action", w.tx.ActionPruneByPack, actions},
		{"workflow", w.tx.WorkflowDefinitionPruneByPack, workflows},
		{"trigger", w.tx.TriggerPruneByPack, triggers},
		{"runtime", w.tx.RuntimePruneByPack, runtimes},
		{"permission_set", w.tx.PermissionSetPruneByPack, permsets},
	}
	for _, s := range steps {
		refs, err := s.fn(ctx, id, s.keep)
		if err := func() error {
			for _, r := range refs {
				w.removed = append(w.removed, s.kind+" "+r)
			}
			return err
		}(); err != nil {
			return err
		}
	}
	return nil
}

// enqueueRule writes one rule lifecycle message to the outbox.
func enqueueRule(ctx context.Context, tx *store.Tx, key string, r store.Rule) error {
	types := map[string]string{
		bus.KeyRuleCreated: pipeline.TypeRuleCreated, bus.KeyRuleEnabled: pipeline.TypeRuleEnabled,
		bus.KeyRuleDisabled: pipeline.TypeRuleDisabled, bus.KeyRuleDeleted: pipeline.TypeRuleDeleted,
	}
	var tp any
	if len(r.TriggerParams) > 0 {
		tp = r.TriggerParams
	}
	return pipeline.Enqueue(ctx, tx, bus.ExchangeEvents, key, types[key], pipeline.RuleLifecycle{
		RuleID: r.ID, RuleRef: r.Ref, TriggerRef: r.TriggerRef, TriggerParams: tp,
		Enabled: r.Enabled && key != bus.KeyRuleDeleted,
	})
}

// fileErr prefixes an error with the pack file it came from.
func fileErr(file string, err error) error { return fmt.Errorf("%s: %w", file, err) }

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func schemaJSON(s *pack.ParamSchema) json.RawMessage {
	if s == nil {
		return nil
	}
	return s.JSON()
}

// mustJSON encodes v; nil maps become `{}`. The values come from YAML that
// was already decoded into JSON-able types, so encoding cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return json.RawMessage(`{}`)
	}
	return b
}

func mustJSONArray(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return json.RawMessage(`[]`)
	}
	return b
}

func optJSON(m map[string]any) json.RawMessage {
	if m == nil {
		return nil
	}
	return mustJSON(m)
}

// conditionsJSON stores conditions in the form rules.Compile reads.
func conditionsJSON(c pack.Conditions) json.RawMessage {
	switch {
	case c.Expression != "":
		return mustJSON(map[string]string{"expression": c.Expression})
	case len(c.Legacy) > 0:
		return mustJSONArray(c.Legacy)
	}
	return json.RawMessage(`[]`)
}

// redactURL drops credentials from a source URL before it is stored.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
