package api

import (
	"errors"
	"fmt"
	"time"
)

// Config is the `api` section (listener settings are in `server`).
type Config struct {
	// LoginRateLimit is the number of login attempts allowed per identity and
	// per source address per LoginRateWindow. Defaults to 10 per minute.
	LoginRateLimit  int           `koanf:"login_rate_limit"`
	LoginRateWindow time.Duration `koanf:"login_rate_window"`
	// RateLimit is the number of authenticated requests allowed per identity
	// per second before 429. Defaults to 50 (burst twice that).
	RateLimit int `koanf:"rate_limit"`
}

// Defaults returns the documented defaults.
func Defaults() Config {
	return Config{LoginRateLimit: 10, LoginRateWindow: time.Minute, RateLimit: 50}
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.LoginRateLimit < 1 {
		errs = append(errs, fmt.Errorf("api.login_rate_limit: must be at least 1, got %d", c.LoginRateLimit))
	}
	if c.LoginRateWindow <= 0 {
		errs = append(errs, errors.New("api.login_rate_window: must be positive"))
	}
	if c.RateLimit < 1 {
		errs = append(errs, fmt.Errorf("api.rate_limit: must be at least 1, got %d", c.RateLimit))
	}
	return errors.Join(errs...)
}
