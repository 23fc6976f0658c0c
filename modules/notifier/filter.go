package notifier

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
)

// filter is one parsed subscription (spec §7). Filters are ORed; matching is
// case-sensitive.
type filter struct {
	kind  string // all | entity_type | entity | notification_type | trigger_ref
	value string // entity type, channel or trigger ref
	id    int64  // entity:<t>:<id>
}

// parseFilter parses a client filter string; errors say what is wrong.
func parseFilter(s string) (filter, error) {
	if s == "all" {
		return filter{kind: "all"}, nil
	}
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return filter{}, fmt.Errorf("unknown filter %q: use all, entity_type:<t>, entity:<t>:<id>, notification_type:<channel> or trigger_ref:<ref>", s)
	}
	switch kind {
	case "entity_type", "notification_type", "trigger_ref":
		return filter{kind: kind, value: rest}, nil
	case "entity":
		t, idText, ok := strings.Cut(rest, ":")
		id, err := strconv.ParseInt(idText, 10, 64)
		if !ok || t == "" || err != nil || id <= 0 {
			return filter{}, fmt.Errorf("filter %q: want entity:<type>:<numeric id>", s)
		}
		return filter{kind: kind, value: t, id: id}, nil
	case "user":
		return filter{}, fmt.Errorf("filter %q: user:<id> is reserved and not supported", s)
	}
	return filter{}, fmt.Errorf("unknown filter kind %q in %q", kind, s)
}

// String is the canonical form (the key of a subscription set).
func (f filter) String() string {
	switch f.kind {
	case "all":
		return "all"
	case "entity":
		return "entity:" + f.value + ":" + strconv.FormatInt(f.id, 10)
	}
	return f.kind + ":" + f.value
}

func (f filter) matches(n *notification) bool {
	switch f.kind {
	case "all":
		return true
	case "entity_type":
		return n.EntityType == f.value
	case "entity":
		return n.EntityType == f.value && n.EntityID == f.id
	case "notification_type":
		return n.Channel == f.value
	case "trigger_ref":
		return n.EntityType == entityRuleLifecycle && n.str("trigger_ref") == f.value
	}
	return false
}

// permitFilter decides whether p may subscribe with f. It only guards the
// subscription itself; every message is still authorised on delivery.
func permitFilter(p *access.Principal, f filter) error {
	if p.TokenType() == security.TokenSensor {
		// Sensors only follow rule lifecycle of the triggers they serve.
		triggers, _ := p.Claims.MetadataStrings(security.MetaTriggerTypes)
		if f.kind != "trigger_ref" || !slices.Contains(triggers, f.value) {
			return fmt.Errorf("sensor tokens may only subscribe to trigger_ref:<ref> for their trigger types")
		}
		return nil
	}
	if f.kind == "all" {
		for _, res := range []string{rbac.ResEvents, rbac.ResEnforcements, rbac.ResExecutions, rbac.ResRules} {
			if !mayReadSome(p, res) {
				return fmt.Errorf("filter all needs read access to events, enforcements, executions and rules")
			}
		}
	}
	return nil
}

// mayReadSome reports whether p holds any read grant on res that its token
// type does not cap away (an administrator holds them all unconstrained).
func mayReadSome(p *access.Principal, res string) bool {
	switch p.TokenType() {
	case security.TokenAccess, security.TokenIntegration:
	default:
		return rbac.Unconstrained(p.Subject, res, rbac.ActRead)
	}
	for _, g := range p.Subject.Grants {
		if g.Resource == res && slices.Contains(g.Actions, rbac.ActRead) {
			return true
		}
	}
	return false
}

// filterSet is an immutable set of filters; a client swaps in a new one on
// every subscribe/unsubscribe so the hub reads it without locks.
type filterSet []filter

func (s filterSet) matches(n *notification) bool {
	for _, f := range s {
		if f.matches(n) {
			return true
		}
	}
	return false
}

func (s filterSet) with(f filter) filterSet {
	if slices.Contains(s, f) {
		return s
	}
	return append(slices.Clone(s), f)
}

func (s filterSet) without(f filter) filterSet {
	return slices.DeleteFunc(slices.Clone(s), func(x filter) bool { return x == f })
}
