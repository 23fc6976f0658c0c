package pack

import (
	"math"

	"go.yaml.in/yaml/v4"
)

func (l *loader) decodePolicy(d *yamlDoc) *Policy {
	o := d.object(d.root, "")
	p := &Policy{Component: l.component(o, d, "policies")}
	o.allow("name")
	if n := o.str("name", false); n != "" {
		p.Label = n
	}
	p.ActionRef = o.str("action_ref", true)
	p.Enabled = o.boolean("enabled", true)
	p.Priority = o.integer("priority", 0, -1000, 1000)
	p.Parameters = o.strList("parameters")
	p.Method = o.enum("method", "", "cancel", "enqueue")
	p.Threshold = o.integer("threshold", 0, 1, math.MaxInt32)
	if (p.Method == "") != (p.Threshold == 0) {
		o.errAt("threshold", "method and threshold must be set together")
	}
	if rl := o.sub("rate_limit"); rl != nil {
		p.RateLimitMaxExecutions = rl.integer("max_executions", 0, 1, math.MaxInt32)
		p.RateLimitWindowSeconds = rl.integer("window_seconds", 0, 1, math.MaxInt32)
		if p.RateLimitMaxExecutions == 0 || p.RateLimitWindowSeconds == 0 {
			rl.errAt("", "max_executions and window_seconds are both required")
		}
		rl.finish()
	}
	if qn := o.node("quotas"); qn != nil {
		if qn.Kind != yaml.SequenceNode {
			o.errAt("quotas", "must be a list")
		}
		for i, q := range qn.Content {
			qo := d.object(q, "quotas["+itoaS(i)+"]")
			p.Quotas = append(p.Quotas, Quota{
				QuotaType: qo.enum("quota_type", "", "running_executions"),
				Limit:     qo.integer("limit", 0, 1, math.MaxInt32),
			})
			qo.finish()
		}
	}
	if p.Method == "" && p.RateLimitMaxExecutions == 0 && len(p.Quotas) == 0 {
		o.errAt("", "a policy needs at least one of method+threshold, rate_limit or quotas")
	}
	p.Tags = o.strList("tags")
	o.finish()
	return p
}

var (
	grantResources = set("packs", "actions", "policies", "queues", "queue_items", "rules", "triggers",
		"executions", "events", "enforcements", "inquiries", "keys", "artifacts", "runtimes", "workers",
		"retention", "identities", "permissions", "audit_log", "dashboards", "caches", "sensors")
	grantActions = set("read", "create", "install", "configure", "update", "delete", "execute",
		"cancel", "respond", "manage", "decrypt")
	grantConstraints = set("pack_refs", "owner", "owner_types", "owner_refs", "visibility",
		"execution_scope", "refs", "ids", "encrypted", "attributes")
)

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, i := range items {
		m[i] = true
	}
	return m
}

func (l *loader) decodePermissionSet(d *yamlDoc) *PermissionSet {
	o := d.object(d.root, "")
	ps := &PermissionSet{Component: l.component(o, d, "permission_sets")}
	gn := o.node("grants")
	if gn == nil || gn.Kind != yaml.SequenceNode {
		o.errAt("grants", "must be a list of {resource, actions, constraints}")
	} else {
		for i, g := range gn.Content {
			go_ := d.object(g, "grants["+itoaS(i)+"]")
			gr := Grant{Resource: go_.str("resource", true), Actions: go_.strList("actions")}
			if gr.Resource != "" && !grantResources[gr.Resource] {
				go_.errAt("resource", "unknown resource %q", gr.Resource)
			}
			if len(gr.Actions) == 0 {
				go_.errAt("actions", "must list at least one action")
			}
			for _, a := range gr.Actions {
				if !grantActions[a] {
					go_.errAt("actions", "unknown action %q", a)
				}
			}
			if co := go_.sub("constraints"); co != nil && co.n != nil {
				gr.Constraints = go_.mapValue("constraints")
				for k := range gr.Constraints {
					if !grantConstraints[k] {
						co.errAt(k, "unknown constraint")
					}
				}
			}
			go_.finish()
			ps.Grants = append(ps.Grants, gr)
		}
	}
	o.finish()
	return ps
}
