// Package executor is the module that turns events into enforcements and
// executions, applies policies, schedules executions onto workers, retries
// them, and reaps executions whose worker was lost.
package executor

import (
	"errors"
	"time"

	"github.com/attune-system/attune/modules/bus"
)

// Config is the `executor` section.
type Config struct {
	// ReaperInterval is how often lost executions are looked for. Defaults to 5s.
	ReaperInterval time.Duration `koanf:"reaper_interval"`
	// OutboxPollInterval is how often the dispatch outbox is relayed when no
	// wake-up arrived. Defaults to 1s.
	OutboxPollInterval time.Duration `koanf:"outbox_poll_interval"`
	// UnschedulableTimeout is how long an execution waits for an eligible
	// worker before it fails as unschedulable. Defaults to 60s.
	UnschedulableTimeout time.Duration `koanf:"unschedulable_timeout"`
	// WorkerStaleAfter is the heartbeat age beyond which a worker is not
	// eligible (the lease window). Defaults to 30s.
	WorkerStaleAfter time.Duration `koanf:"worker_stale_after"`
	// DispatchClaimTimeout is how long a scheduled execution may wait for its
	// worker to claim it before the reaper requeues it. Defaults to the
	// per-worker dispatch TTL (300s).
	DispatchClaimTimeout time.Duration `koanf:"dispatch_claim_timeout"`
}

// Defaults returns the documented defaults.
func Defaults() Config {
	return Config{
		ReaperInterval: 5 * time.Second, OutboxPollInterval: time.Second,
		UnschedulableTimeout: time.Minute, WorkerStaleAfter: 30 * time.Second,
		DispatchClaimTimeout: bus.WorkerDispatchTTL,
	}
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.ReaperInterval <= 0 {
		errs = append(errs, errors.New("executor.reaper_interval: must be positive"))
	}
	if c.OutboxPollInterval <= 0 {
		errs = append(errs, errors.New("executor.outbox_poll_interval: must be positive"))
	}
	if c.UnschedulableTimeout <= 0 {
		errs = append(errs, errors.New("executor.unschedulable_timeout: must be positive"))
	}
	if c.WorkerStaleAfter <= 0 {
		errs = append(errs, errors.New("executor.worker_stale_after: must be positive"))
	}
	if c.DispatchClaimTimeout <= 0 {
		errs = append(errs, errors.New("executor.dispatch_claim_timeout: must be positive"))
	}
	return errors.Join(errs...)
}
