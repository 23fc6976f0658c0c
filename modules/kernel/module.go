// Package kernel is the small framework every attune process runs on: modules
// register a Definition with a Registry, `--roles` picks which ones run, and a
// Runner starts them in dependency order, watches them, and stops them in
// reverse. It imports no attune module, so any module can depend on it.
package kernel

import "context"

// Module is a named, independently startable part of the process.
//
// Start returns once the module is ready (listening, subscribed); background
// work runs in goroutines tied to the module's own lifetime, not to the ctx
// passed to Start, which only bounds start-up. Stop is graceful, idempotent,
// safe when Start never ran, and bounded by its ctx deadline.
type Module interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// HealthChecker is implemented by modules that take part in /readyz.
type HealthChecker interface {
	CheckHealth(ctx context.Context) error
}

// Failer is implemented by modules whose background work can fail after
// Start returned. A value on the channel stops the whole process with that
// error: a process that silently lost a module is worse than one that exits.
type Failer interface {
	Failed() <-chan error
}

// Drainer is implemented by modules that want to know the process is about to
// stop before Stop is called on anything (the HTTP module flips /readyz to 503
// so load balancers stop sending traffic while the rest drains).
type Drainer interface {
	Drain()
}

// Definition describes one module to the Registry.
type Definition struct {
	// Name is what --roles accepts (unless Hidden) and what logs and /readyz show.
	Name string
	// Requires lists modules started before this one and stopped after it.
	Requires []string
	// Hidden modules are infrastructure pulled in as dependencies; --roles rejects them.
	Hidden bool
	// Description is shown by `attune roles`.
	Description string
	// New builds the module. It is called only for modules that will run, in
	// start order, so constructors can rely on their dependencies being built.
	New func() (Module, error)
}
