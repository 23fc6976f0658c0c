package rbac

import (
	"math"
	"slices"

	"github.com/attune-system/attune/modules/security"
)

// Subject is the caller: its identity, effective grants (direct assignments,
// role-mapped sets, ImplicitGrants for signed-in users) and token context.
type Subject struct {
	IdentityID  int64
	Login       string
	Grants      []Grant
	Attributes  map[string]any
	TokenType   security.TokenType
	ExecutionID int64  // execution tokens: the execution the token was minted for
	PackRef     string // execution/sensor tokens: the pack of the action or sensor
}

// Target describes the object (or, for create, the object to be) being
// accessed. Fields a constraint needs but the caller leaves empty make that
// constraint fail: the engine never guesses.
type Target struct {
	Resource, Action    string
	PackRef, Ref        string
	ID                  int64
	OwnerType, OwnerRef string
	OwnerIdentity       int64 // identity owning a key/artifact, 0 if none
	Encrypted           *bool
	ExecutorID          int64   // executions/inquiries: identity that started the execution
	AncestorExecutorIDs []int64 // executors of the execution's ancestors
	Visibility          string
}

// Allowed reports whether sub may perform t.Action on t. It is the union of
// sub's grants (no deny rules), each grant requiring all its given
// constraints to hold, further capped by the token type's ceiling (see
// tokenCeiling). Unknown resources, actions, token types or constraint values
// deny.
func Allowed(sub Subject, t Target) bool {
	if sub.IdentityID <= 0 || !KnownResource(t.Resource) || !KnownAction(t.Action) {
		return false
	}
	if !tokenCeiling(sub, t) {
		return false
	}
	for i := range sub.Grants {
		g := &sub.Grants[i]
		if g.Resource == t.Resource && slices.Contains(g.Actions, t.Action) && constraintsHold(g.Constraints, sub, t) {
			return true
		}
	}
	return false
}

// Unconstrained reports whether sub holds a global (constraint-free) grant
// for action on resource and its token type does not narrow it, so a list
// query may return every row without per-row filtering.
func Unconstrained(sub Subject, resource, action string) bool {
	if sub.IdentityID <= 0 || !KnownResource(resource) || !KnownAction(action) {
		return false
	}
	if !ceilingUnrestricted(sub, resource, action) {
		return false
	}
	for _, g := range sub.Grants {
		if g.Resource == resource && slices.Contains(g.Actions, action) && g.Constraints.empty() {
			return true
		}
	}
	return false
}

// PackRefsFor returns the list filter for resource/action: all=true when
// Unconstrained; otherwise the pack refs from grants constrained by pack_refs
// alone (sorted, deduplicated). Grants with other constraints (refs, ids,
// owner, ...) are not representable as a pack filter; list handlers that want
// those rows must additionally run Allowed per row.
func PackRefsFor(sub Subject, resource, action string) (all bool, refs []string) {
	if Unconstrained(sub, resource, action) {
		return true, nil
	}
	if sub.IdentityID <= 0 || !KnownResource(resource) || !KnownAction(action) ||
		!ceilingUnrestricted(sub, resource, action) {
		return false, nil
	}
	for _, g := range sub.Grants {
		if g.Resource == resource && slices.Contains(g.Actions, action) && g.Constraints.onlyPackRefs() {
			refs = append(refs, g.Constraints.PackRefs...)
		}
	}
	slices.Sort(refs)
	return false, slices.Compact(refs)
}

func constraintsHold(c *Constraints, sub Subject, t Target) bool {
	if c == nil {
		return true
	}
	if c.PackRefs != nil && !inList(c.PackRefs, t.PackRef) {
		return false
	}
	if c.Owner != "" && !ownerHolds(c.Owner, sub, t) {
		return false
	}
	if c.OwnerTypes != nil && !inList(c.OwnerTypes, t.OwnerType) {
		return false
	}
	if c.OwnerRefs != nil && !inList(c.OwnerRefs, t.OwnerRef) {
		return false
	}
	if c.Visibility != nil && !inList(c.Visibility, t.Visibility) {
		return false
	}
	if c.ExecutionScope != "" && !executionScopeHolds(c.ExecutionScope, sub, t) {
		return false
	}
	if c.Refs != nil && !inList(c.Refs, t.Ref) {
		return false
	}
	if c.IDs != nil && (t.ID <= 0 || !slices.Contains(c.IDs, t.ID)) {
		return false
	}
	if c.Encrypted != nil && (t.Encrypted == nil || *t.Encrypted != *c.Encrypted) {
		return false
	}
	for k, want := range c.Attributes {
		got, ok := sub.Attributes[k]
		if !ok || !scalarEqual(want, got) {
			return false
		}
	}
	return true
}

// inList treats an empty target value as "unknown" and never matches it, so
// a caller that forgot to fill PackRef cannot satisfy a pack_refs grant.
func inList(list []string, v string) bool {
	return v != "" && slices.Contains(list, v)
}

func ownerHolds(owner string, sub Subject, t Target) bool {
	switch owner {
	case OwnerSelf:
		return t.OwnerIdentity > 0 && t.OwnerIdentity == sub.IdentityID
	case OwnerNone:
		return t.OwnerIdentity == 0
	case OwnerAny:
		return true
	}
	return false
}

func executionScopeHolds(scope string, sub Subject, t Target) bool {
	switch scope {
	case ScopeSelf:
		return t.ExecutorID > 0 && t.ExecutorID == sub.IdentityID
	case ScopeDescendants:
		return (t.ExecutorID > 0 && t.ExecutorID == sub.IdentityID) || slices.Contains(t.AncestorExecutorIDs, sub.IdentityID)
	case ScopeAny:
		return true
	}
	return false
}

func isScalar(v any) bool {
	switch v.(type) {
	case nil, string, bool, float64, float32, int, int32, int64, uint, uint32, uint64:
		return true
	}
	return false
}

// scalarEqual compares JSON scalars, treating all numeric types as float64
// (attributes come from JSON, where 1 and 1.0 are the same value). Non-scalar
// values never match.
func scalarEqual(a, b any) bool {
	if !isScalar(a) || !isScalar(b) {
		return false
	}
	fa, aNum := toFloat(a)
	fb, bNum := toFloat(b)
	if aNum || bNum {
		return aNum && bNum && fa == fb && !math.IsNaN(fa)
	}
	return a == b
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}
