package kernel

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Registry holds module definitions and role aliases. Roles and dependencies
// are data here, never `if role == …` branches elsewhere.
type Registry struct {
	defs    map[string]Definition
	order   []string // registration order, for stable listings
	aliases map[string][]string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{defs: map[string]Definition{}, aliases: map[string][]string{}}
}

// Register adds a module definition. It panics on a duplicate or empty name:
// that is a programming error in the composition root, not a runtime condition.
func (r *Registry) Register(d Definition) {
	if d.Name == "" {
		panic("kernel: module with empty name")
	}
	if _, dup := r.defs[d.Name]; dup {
		panic("kernel: duplicate module " + d.Name)
	}
	if _, dup := r.aliases[d.Name]; dup {
		panic("kernel: module name collides with alias " + d.Name)
	}
	r.defs[d.Name] = d
	r.order = append(r.order, d.Name)
}

// Alias makes name expand to members, e.g. "all" → every visible module.
func (r *Registry) Alias(name string, members ...string) {
	if _, dup := r.defs[name]; dup {
		panic("kernel: alias collides with module " + name)
	}
	r.aliases[name] = members
}

// Definitions returns every definition in registration order.
func (r *Registry) Definitions() []Definition {
	out := make([]Definition, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.defs[n])
	}
	return out
}

// Roles lists what --roles accepts: visible modules then aliases, sorted.
func (r *Registry) Roles() []string {
	var roles []string
	for _, n := range r.order {
		if !r.defs[n].Hidden {
			roles = append(roles, n)
		}
	}
	sort.Strings(roles)
	aliases := make([]string, 0, len(r.aliases))
	for a := range r.aliases {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	return append(roles, aliases...)
}

// ExpandRoles turns a role list (modules and aliases) into the sorted set of
// visible module names it selects, rejecting unknown and hidden names.
func (r *Registry) ExpandRoles(roles []string) ([]string, error) {
	set := map[string]bool{}
	var unknown []string
	for _, raw := range roles {
		role := strings.TrimSpace(raw)
		if role == "" {
			continue
		}
		if members, ok := r.aliases[role]; ok {
			for _, m := range members {
				set[m] = true
			}
			continue
		}
		d, ok := r.defs[role]
		if !ok || d.Hidden {
			unknown = append(unknown, role)
			continue
		}
		set[role] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown role(s) %s; valid roles: %s",
			strings.Join(unknown, ", "), strings.Join(r.Roles(), ", "))
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("no roles given; valid roles: %s", strings.Join(r.Roles(), ", "))
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// Resolve expands roles, adds their transitive dependencies and returns the
// definitions in start order (dependencies first). Ties are broken by
// registration order so start-up is deterministic.
func (r *Registry) Resolve(roles []string) ([]Definition, error) {
	selected, err := r.ExpandRoles(roles)
	if err != nil {
		return nil, err
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []Definition
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		d, ok := r.defs[name]
		if !ok {
			return fmt.Errorf("module %q requires unknown module %q", path[len(path)-1], name)
		}
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(path, name), " -> "))
		}
		state[name] = visiting
		deps := slices.Clone(d.Requires)
		slices.SortStableFunc(deps, func(a, b string) int { return r.index(a) - r.index(b) })
		for _, dep := range deps {
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		out = append(out, d)
		return nil
	}
	slices.SortStableFunc(selected, func(a, b string) int { return r.index(a) - r.index(b) })
	for _, n := range selected {
		if err := visit(n, []string{"--roles"}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *Registry) index(name string) int {
	if i := slices.Index(r.order, name); i >= 0 {
		return i
	}
	return len(r.order)
}

// Aliases returns a copy of the alias table.
func (r *Registry) Aliases() map[string][]string {
	out := make(map[string][]string, len(r.aliases))
	for k, v := range r.aliases {
		out[k] = slices.Clone(v)
	}
	return out
}
