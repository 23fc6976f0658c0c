// Package sensor is the module that fires triggers: built-in timers driven by
// rules and supervised custom sensor processes from packs.
package sensor

import (
	"errors"
	"fmt"
	"time"
)

// Config is the `sensor` section.
type Config struct {
	// CheckInterval is how often timers are evaluated. Defaults to 250ms.
	CheckInterval time.Duration `koanf:"check_interval"`
	// MissedFirePolicy says what happens to timer slots missed while no sensor
	// ran: "skip" (default: fire only from now on) or "fire_once" (fire the
	// most recent missed slot once, then continue).
	MissedFirePolicy string `koanf:"missed_fire_policy"`
	// RestartBackoffMax caps the backoff between restarts of a crashing sensor process. Defaults to 1m.
	RestartBackoffMax time.Duration `koanf:"restart_backoff_max"`
}

// Defaults returns the documented defaults.
func Defaults() Config {
	return Config{CheckInterval: 250 * time.Millisecond, MissedFirePolicy: "skip", RestartBackoffMax: time.Minute}
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.CheckInterval <= 0 || c.CheckInterval > time.Minute {
		errs = append(errs, fmt.Errorf("sensor.check_interval: must be between 1ms and 1m, got %s", c.CheckInterval))
	}
	if c.MissedFirePolicy != "skip" && c.MissedFirePolicy != "fire_once" {
		errs = append(errs, fmt.Errorf("sensor.missed_fire_policy: must be skip or fire_once, got %q", c.MissedFirePolicy))
	}
	if c.RestartBackoffMax <= 0 {
		errs = append(errs, errors.New("sensor.restart_backoff_max: must be positive"))
	}
	return errors.Join(errs...)
}
