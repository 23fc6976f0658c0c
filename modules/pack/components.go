package pack

import (
	"encoding/json"
	"math"
	"path"
	"strings"

	"go.yaml.in/yaml/v4"
)

// loadComponents decodes every component directory in the spec's load order.
func (l *loader) loadComponents() {
	p := l.pack
	seen := map[string]string{}
	dup := func(kind string, c Component, d *yamlDoc) bool {
		key := kind + "/" + c.Ref
		if prev, ok := seen[key]; ok {
			d.rep.at(1, 1, "ref", "duplicate %s %q (also defined in %s)", kind, c.Ref, prev)
			return true
		}
		seen[key] = c.File
		return false
	}
	for _, f := range l.yamlFiles("permission_sets") {
		if d := l.read(f); d != nil {
			if ps := l.decodePermissionSet(d); !dup("permission set", ps.Component, d) {
				p.PermissionSets = append(p.PermissionSets, ps)
			}
		}
	}
	for _, f := range l.yamlFiles("runtimes") {
		if d := l.read(f); d != nil {
			if rt := l.decodeRuntime(d); !dup("runtime", rt.Component, d) {
				p.Runtimes = append(p.Runtimes, rt)
			}
		}
	}
	for _, f := range l.yamlFiles("triggers") {
		if d := l.read(f); d != nil {
			if t := l.decodeTrigger(d); !dup("trigger", t.Component, d) {
				p.Triggers = append(p.Triggers, t)
			}
		}
	}
	workflows := map[string]*Workflow{}
	for _, f := range l.yamlFiles("actions/workflows", ".workflow.yaml") {
		if d := l.read(f); d != nil {
			w := l.decodeWorkflow(d)
			workflows[f] = w
			p.Workflows = append(p.Workflows, w)
		}
	}
	for _, f := range l.yamlFiles("actions") {
		if d := l.read(f); d != nil {
			if a := l.decodeAction(d, workflows); !dup("action", a.Component, d) {
				p.Actions = append(p.Actions, a)
			}
		}
	}
	for _, f := range l.yamlFiles("policies") {
		if d := l.read(f); d != nil {
			if pol := l.decodePolicy(d); !dup("policy", pol.Component, d) {
				p.Policies = append(p.Policies, pol)
			}
		}
	}
	for _, f := range l.yamlFiles("rules") {
		if d := l.read(f); d != nil {
			if r := l.decodeRule(d); !dup("rule", r.Component, d) {
				p.Rules = append(p.Rules, r)
			}
		}
	}
	for _, f := range l.yamlFiles("sensors") {
		if d := l.read(f); d != nil {
			if s := l.decodeSensor(d); !dup("sensor", s.Component, d) {
				p.Sensors = append(p.Sensors, s)
			}
		}
	}
}

var visibilities = []string{"public", "private", "restricted"}

func (l *loader) decodeAction(d *yamlDoc, workflows map[string]*Workflow) *Action {
	o := d.object(d.root, "")
	a := &Action{Component: l.component(o, d, "actions")}
	a.Enabled = o.boolean("enabled", true)
	a.WorkflowFile = o.str("workflow_file", false)
	if a.WorkflowFile != "" {
		for _, k := range []string{"runner_type", "entry_point", "parameter_delivery", "output_format"} {
			if o.has(k) {
				o.errAt(k, "must be omitted for a workflow action (workflow_file is set)")
			}
		}
		a.EntryPoint = a.WorkflowFile
		full, ok := packPath("actions", a.WorkflowFile)
		switch {
		case !ok:
			o.errAt("workflow_file", "%q must be a relative path inside the pack", a.WorkflowFile)
		case workflows[full] != nil:
			a.Workflow = workflows[full]
		case l.files[full]:
			if wd := l.read(full); wd != nil {
				a.Workflow = l.decodeWorkflow(wd)
				l.pack.Workflows = append(l.pack.Workflows, a.Workflow)
			}
		default:
			o.errAt("workflow_file", "file %s does not exist", full)
		}
		a.ParameterDelivery, a.OutputFormat = "stdin", "json"
		a.ParameterFormat = o.enum("parameter_format", "json", "json", "dotenv", "yaml")
	} else {
		a.RunnerType = strings.ToLower(o.str("runner_type", true))
		a.EntryPoint = o.str("entry_point", true)
		a.ParameterDelivery = o.enum("parameter_delivery", "stdin", "stdin", "file")
		a.ParameterFormat = o.enum("parameter_format", "json", "json", "dotenv", "yaml")
		a.OutputFormat = o.enum("output_format", "text", "text", "json", "yaml", "jsonl")
	}
	a.TimeoutSeconds = o.integer("timeout", 0, 1, math.MaxInt32)
	a.MaxRetries = o.integer("max_retries", 0, 0, 100)
	a.MaxAttempts = o.integer("max_attempts", 0, 1, 100)
	a.OnWorkerLost = o.enum("on_worker_lost", "abandon", "abandon", "retry")
	a.Parameters = l.schemaField(o, d, "parameters", "")
	a.Output = l.schemaField(o, d, "output", "output_schema")
	a.Tags = o.strList("tags")
	a.RuntimeVersionConstraint = o.str("runtime_version_constraint", false)
	a.DefaultExecutionPermissionSetRefs = o.strList("default_execution_permission_set_refs")
	a.ReferenceVisibility = o.enum("reference_visibility", "public", visibilities...)
	a.ReferenceAllowedPackRefs = o.strList("reference_allowed_pack_refs")
	a.Placement = placement(o)
	o.finish()
	return a
}

// schemaField reads a parameter schema stored under key (or its legacy
// alias). An absent field yields an empty object schema.
func (l *loader) schemaField(o *obj, d *yamlDoc, key, alias string) *ParamSchema {
	if alias != "" && o.has(alias) {
		if o.has(key) {
			o.errAt(alias, "use either %s or %s, not both", key, alias)
		}
		key = alias
	}
	n := o.node(key)
	if alias != "" {
		o.allow(alias)
	}
	if n == nil {
		if strings.HasPrefix(key, "out") || strings.HasPrefix(key, "payload") {
			return nil
		}
		s, _ := compileSchema(map[string]any{"type": "object", "properties": map[string]any{}})
		return s
	}
	return d.paramSchema(n, key)
}

// packPath joins a component-relative path and checks that it stays inside
// the pack (no absolute paths, no "..").
func packPath(dir, rel string) (string, bool) {
	if rel == "" || path.IsAbs(rel) || strings.Contains(rel, "\\") {
		return "", false
	}
	full := path.Join(dir, rel)
	if full == dir || !strings.HasPrefix(full, dir+"/") {
		return "", false
	}
	return full, true
}

func (l *loader) decodeWorkflow(d *yamlDoc) *Workflow {
	w := &Workflow{File: d.rep.file, Raw: d.raw}
	o := d.object(d.root, "")
	if o.n == nil {
		return w
	}
	v, err := toValue(d.root)
	if err != nil {
		d.rep.at(1, 1, "", "%v", err)
		return w
	}
	w.Definition = v.(map[string]any)
	w.JSON, _ = json.Marshal(w.Definition)
	tn := o.node("tasks")
	if tn == nil || tn.Kind != yaml.SequenceNode || len(tn.Content) == 0 {
		o.errAt("tasks", "must be a non-empty list of tasks")
		return w
	}
	names := map[string]bool{}
	for i, t := range tn.Content {
		to := d.object(t, "tasks["+itoaS(i)+"]")
		name := to.str("name", true)
		if names[name] {
			to.errAt("name", "duplicate task name %q", name)
		}
		names[name] = true
	}
	// Transitions may only target tasks that exist; the engine owns the
	// rest of the semantics.
	for i, t := range tn.Content {
		to := d.object(t, "tasks["+itoaS(i)+"]")
		nn := to.node("next")
		if nn == nil || nn.Kind != yaml.SequenceNode {
			continue
		}
		for j, tr := range nn.Content {
			tro := d.object(tr, to.field("next")+"["+itoaS(j)+"]")
			for _, target := range tro.strList("do") {
				if !names[target] {
					tro.errAt("do", "unknown task %q", target)
				}
			}
		}
	}
	return w
}

func (l *loader) decodeTrigger(d *yamlDoc) *Trigger {
	o := d.object(d.root, "")
	t := &Trigger{Component: l.component(o, d, "triggers")}
	t.Enabled = o.boolean("enabled", true)
	t.Type = o.enum("type", "", "interval", "cron", "one_shot", "webhook", "custom")
	t.Parameters = l.schemaField(o, d, "parameters", "parameters_schema")
	t.Output = l.schemaField(o, d, "output", "payload_schema")
	t.ReferenceVisibility = o.enum("reference_visibility", "public", visibilities...)
	t.ReferenceAllowedPackRefs = o.strList("reference_allowed_pack_refs")
	t.Tags = o.strList("tags")
	t.Examples = o.value("examples")
	o.finish()
	return t
}

func (l *loader) decodeSensor(d *yamlDoc) *Sensor {
	o := d.object(d.root, "")
	s := &Sensor{Component: l.component(o, d, "sensors")}
	s.Enabled = o.boolean("enabled", true)
	s.RunnerType = strings.ToLower(o.str("runner_type", true))
	s.EntryPoint = o.str("entry_point", true)
	s.TriggerTypes = o.strList("trigger_types")
	if len(s.TriggerTypes) == 0 {
		o.errAt("trigger_types", "must list at least one trigger")
	}
	s.Parameters = l.schemaField(o, d, "parameters", "")
	s.Config = s.Parameters.ApplyDefaults(nil)
	s.PollInterval = o.integer("poll_interval", 0, 1, 86400)
	s.Tags = o.strList("tags")
	s.Meta = o.mapValue("meta")
	s.Examples = o.value("examples")
	s.RuntimeVersionConstraint = o.str("runtime_version_constraint", false)
	s.Placement = placement(o)
	o.finish()
	return s
}

func (l *loader) decodeRule(d *yamlDoc) *Rule {
	o := d.object(d.root, "")
	r := &Rule{Component: l.component(o, d, "rules")}
	r.Enabled = o.boolean("enabled", true)
	r.TriggerRef = o.str("trigger_ref", true)
	r.ActionRef = o.str("action_ref", true)
	r.TriggerParams = o.mapValue("trigger_params")
	if r.TriggerParams == nil {
		r.TriggerParams = map[string]any{}
	}
	r.ActionParams = o.mapValue("action_params")
	if r.ActionParams == nil {
		r.ActionParams = map[string]any{}
	}
	if o.has("permission_set_refs") {
		r.PermissionSetRefs = o.strList("permission_set_refs")
		if r.PermissionSetRefs == nil {
			r.PermissionSetRefs = []string{}
		}
	}
	r.Conditions = l.decodeConditions(o)
	o.finish()
	return r
}

var legacyOperators = []string{"equals", "not_equals", "contains"}

// decodeConditions accepts the expression object or the legacy list; it
// checks shape only, leaving compilation to Checker.ConditionCompiler.
func (l *loader) decodeConditions(o *obj) Conditions {
	var c Conditions
	n := o.node("conditions")
	if o.isNull(n) {
		return c
	}
	switch n.Kind {
	case yaml.MappingNode:
		co := o.sub("conditions")
		c.Expression = co.str("expression", false)
		co.finish()
		if c.Expression != "" && l.c.ConditionCompiler != nil {
			if err := l.c.ConditionCompiler(c.Expression); err != nil {
				co.errAt("expression", "%v", err)
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			io := o.d.object(item, "conditions["+itoaS(i)+"]")
			lc := LegacyCondition{Field: io.str("field", true), Value: io.value("value")}
			lc.Operator = io.enum("operator", "", legacyOperators...)
			if lc.Operator == "" && !io.has("operator") {
				io.errAt("operator", "is required")
			}
			io.finish()
			c.Legacy = append(c.Legacy, lc)
		}
	default:
		o.errAt("conditions", "must be {expression: ...} or a list of {field, operator, value}, got %s", kindName(n))
	}
	return c
}
