// Package executor is the module that turns events into enforcements and
// executions, applies policies, schedules executions onto workers, retries
// them, and reaps executions whose worker was lost.
package executor

import (
	"errors"
	"time"
)

// Config is the `executor` section.
type Config struct {
	// ReaperInterval is how often lost executions are looked for. Defaults to 5s.
	ReaperInterval time.Duration `koanf:"reaper_interval"`
	// OutboxPollInterval is how often the dispatch outbox is relayed when no
	// wake-up arrived. Defaults to 1s.
	OutboxPollInterval time.Duration `koanf:"outbox_poll_interval"`
}

// Defaults returns the documented defaults.
func Defaults() Config {
	return Config{ReaperInterval: 5 * time.Second, OutboxPollInterval: time.Second}
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
	return errors.Join(errs...)
}
