// Package sensor is the module that fires triggers: built-in timers driven by
// rules and supervised custom sensor processes from packs. docs/sensors.md
// describes the behaviour operators and pack authors rely on.
package sensor

import (
	"errors"
	"fmt"
	"time"
)

// Missed-fire policies (Config.MissedFirePolicy).
const (
	PolicySkip     = "skip"
	PolicyFireOnce = "fire_once"
)

// Config is the `sensor` section.
type Config struct {
	// CheckInterval is the longest the timer loop sleeps between checks; it
	// also wakes exactly at the next due slot. Defaults to 250ms.
	CheckInterval time.Duration `koanf:"check_interval"`
	// MissedFirePolicy says what happens to timer slots missed while no sensor
	// ran: "skip" (default: fire only from now on) or "fire_once" (fire the
	// most recent missed slot once, then continue).
	MissedFirePolicy string `koanf:"missed_fire_policy"`
	// MisfireGrace is how late a slot may still be fired normally; older
	// unfired slots count as missed and follow MissedFirePolicy. Defaults to 5s.
	MisfireGrace time.Duration `koanf:"misfire_grace"`
	// ResyncInterval is how often the enabled rules are re-read from the
	// database, so a lost lifecycle message never leaves a timer or sensor
	// process wrong for longer than this. Defaults to 5s.
	ResyncInterval time.Duration `koanf:"resync_interval"`
	// RestartBackoffMax caps the backoff between restarts of a crashing sensor process. Defaults to 1m.
	RestartBackoffMax time.Duration `koanf:"restart_backoff_max"`
	// StopGrace is how long a sensor process gets between SIGTERM and
	// SIGKILL. Defaults to 30s.
	StopGrace time.Duration `koanf:"stop_grace"`
}

// Defaults returns the documented defaults.
func Defaults() Config {
	return Config{
		CheckInterval: 250 * time.Millisecond, MissedFirePolicy: PolicySkip, MisfireGrace: 5 * time.Second,
		ResyncInterval: 5 * time.Second, RestartBackoffMax: time.Minute, StopGrace: 30 * time.Second,
	}
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.CheckInterval <= 0 || c.CheckInterval > time.Minute {
		errs = append(errs, fmt.Errorf("sensor.check_interval: must be between 1ms and 1m, got %s", c.CheckInterval))
	}
	if c.MissedFirePolicy != PolicySkip && c.MissedFirePolicy != PolicyFireOnce {
		errs = append(errs, fmt.Errorf("sensor.missed_fire_policy: must be skip or fire_once, got %q", c.MissedFirePolicy))
	}
	if c.MisfireGrace < c.CheckInterval {
		errs = append(errs, fmt.Errorf("sensor.misfire_grace: must be at least sensor.check_interval (%s), got %s",
			c.CheckInterval, c.MisfireGrace))
	}
	if c.ResyncInterval < 100*time.Millisecond || c.ResyncInterval > 10*time.Minute {
		errs = append(errs, fmt.Errorf("sensor.resync_interval: must be between 100ms and 10m, got %s", c.ResyncInterval))
	}
	if c.RestartBackoffMax <= 0 {
		errs = append(errs, errors.New("sensor.restart_backoff_max: must be positive"))
	}
	if c.StopGrace <= 0 {
		errs = append(errs, errors.New("sensor.stop_grace: must be positive"))
	}
	return errors.Join(errs...)
}
