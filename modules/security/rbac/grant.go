package rbac

import (
	"errors"
	"fmt"
)

// Grant allows Actions on Resource, optionally narrowed by Constraints.
type Grant struct {
	Resource    string       `json:"resource"`
	Actions     []string     `json:"actions"`
	Constraints *Constraints `json:"constraints,omitempty"`
}

// Constraints narrow a grant; every non-nil field must hold (spec §9.4). A
// nil slice means "not given"; a non-nil empty slice is given and matches
// nothing (ValidateGrants rejects it so it never reaches the engine by
// accident).
type Constraints struct {
	PackRefs       []string       `json:"pack_refs,omitempty"`
	Owner          string         `json:"owner,omitempty"` // self | any | none
	OwnerTypes     []string       `json:"owner_types,omitempty"`
	OwnerRefs      []string       `json:"owner_refs,omitempty"`
	Visibility     []string       `json:"visibility,omitempty"`
	ExecutionScope string         `json:"execution_scope,omitempty"` // self | descendants | any
	Refs           []string       `json:"refs,omitempty"`
	IDs            []int64        `json:"ids,omitempty"`
	Encrypted      *bool          `json:"encrypted,omitempty"`
	Attributes     map[string]any `json:"attributes,omitempty"`
}

// empty reports whether no constraint is given, i.e. the grant is global.
func (c *Constraints) empty() bool {
	return c == nil || (c.PackRefs == nil && c.Owner == "" && c.OwnerTypes == nil &&
		c.OwnerRefs == nil && c.Visibility == nil && c.ExecutionScope == "" && c.Refs == nil &&
		c.IDs == nil && c.Encrypted == nil && len(c.Attributes) == 0)
}

// onlyPackRefs reports whether pack_refs is the sole constraint given.
func (c *Constraints) onlyPackRefs() bool {
	if c == nil || c.PackRefs == nil {
		return false
	}
	cp := *c
	cp.PackRefs = nil
	return cp.empty()
}

// Which resources each resource-specific constraint can apply to; using one
// elsewhere would make a grant that silently never matches.
var constraintResources = map[string]map[string]struct{}{
	"owner":           toSet([]string{ResKeys, ResArtifacts}),
	"owner_types":     toSet([]string{ResKeys, ResArtifacts}),
	"owner_refs":      toSet([]string{ResKeys, ResArtifacts}),
	"encrypted":       toSet([]string{ResKeys}),
	"visibility":      toSet([]string{ResArtifacts, ResActions, ResTriggers}),
	"execution_scope": toSet([]string{ResExecutions, ResInquiries}),
}

// ValidateGrants checks a permission set's grants before it is saved. Every
// problem is reported, each naming the grant index and field, e.g.
// "grants[2].constraints.owner: unknown value \"me\" (want self|any|none)".
func ValidateGrants(grants []Grant) error {
	var errs []error
	bad := func(i int, field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("grants[%d].%s: %s", i, field, fmt.Sprintf(format, args...)))
	}
	for i, g := range grants {
		if !KnownResource(g.Resource) {
			bad(i, "resource", "unknown resource %q", g.Resource)
		}
		if len(g.Actions) == 0 {
			bad(i, "actions", "must list at least one action")
		}
		for j, a := range g.Actions {
			if !KnownAction(a) {
				bad(i, fmt.Sprintf("actions[%d]", j), "unknown action %q", a)
			}
		}
		if g.Constraints != nil {
			validateConstraints(i, g.Resource, g.Constraints, bad)
		}
	}
	return errors.Join(errs...)
}

func validateConstraints(i int, resource string, c *Constraints, bad func(int, string, string, ...any)) {
	applies := func(name string) {
		if _, ok := constraintResources[name][resource]; !ok && KnownResource(resource) {
			bad(i, "constraints."+name, "does not apply to resource %q", resource)
		}
	}
	lists := []struct {
		name string
		vals []string
	}{
		{"pack_refs", c.PackRefs}, {"owner_types", c.OwnerTypes}, {"owner_refs", c.OwnerRefs},
		{"visibility", c.Visibility}, {"refs", c.Refs},
	}
	for _, l := range lists {
		if l.vals == nil {
			continue
		}
		if len(l.vals) == 0 {
			bad(i, "constraints."+l.name, "empty list matches nothing; omit it or list values")
		}
		for j, v := range l.vals {
			if v == "" {
				bad(i, fmt.Sprintf("constraints.%s[%d]", l.name, j), "must not be empty")
			}
		}
	}
	if c.OwnerTypes != nil {
		applies("owner_types")
	}
	if c.OwnerRefs != nil {
		applies("owner_refs")
	}
	if c.Visibility != nil {
		applies("visibility")
		for j, v := range c.Visibility {
			if _, ok := visibilites[v]; !ok && v != "" {
				bad(i, fmt.Sprintf("constraints.visibility[%d]", j), "unknown value %q (want public|private|restricted)", v)
			}
		}
	}
	if c.Owner != "" {
		applies("owner")
		if c.Owner != OwnerSelf && c.Owner != OwnerAny && c.Owner != OwnerNone {
			bad(i, "constraints.owner", "unknown value %q (want self|any|none)", c.Owner)
		}
	}
	if c.ExecutionScope != "" {
		applies("execution_scope")
		if c.ExecutionScope != ScopeSelf && c.ExecutionScope != ScopeDescendants && c.ExecutionScope != ScopeAny {
			bad(i, "constraints.execution_scope", "unknown value %q (want self|descendants|any)", c.ExecutionScope)
		}
	}
	if c.Encrypted != nil {
		applies("encrypted")
	}
	if c.IDs != nil {
		if len(c.IDs) == 0 {
			bad(i, "constraints.ids", "empty list matches nothing; omit it or list values")
		}
		for j, id := range c.IDs {
			if id <= 0 {
				bad(i, fmt.Sprintf("constraints.ids[%d]", j), "must be a positive id, got %d", id)
			}
		}
	}
	for k, v := range c.Attributes {
		if k == "" {
			bad(i, "constraints.attributes", "empty attribute name")
		}
		if !isScalar(v) {
			bad(i, "constraints.attributes."+k, "must be a string, number, bool or null, got %T", v)
		}
	}
}
