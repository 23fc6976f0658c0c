// Package notifier is the module that streams live changes to WebSocket
// clients: it LISTENs on PostgreSQL and fans notifications out, filtered by
// each subscriber's subscriptions and permissions.
package notifier

import (
	"fmt"
	"time"
)

// Config is the `notifier` section.
type Config struct {
	// ClientBuffer is how many messages a slow client may lag before it is
	// disconnected (it then resyncs through the REST API). Defaults to 256.
	ClientBuffer int `koanf:"client_buffer"`
	// TokenCheckInterval is how often a connection's token is re-checked
	// (revocation, frozen identity, changed grants, finished execution).
	// Expiry itself closes the connection at the exact expiry time.
	// Defaults to 30s (spec §7).
	TokenCheckInterval time.Duration `koanf:"token_check_interval"`
}

// Defaults returns the documented defaults.
func Defaults() Config { return Config{ClientBuffer: 256, TokenCheckInterval: 30 * time.Second} }

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	if c.ClientBuffer < 1 {
		return fmt.Errorf("notifier.client_buffer: must be at least 1, got %d", c.ClientBuffer)
	}
	if c.TokenCheckInterval < 10*time.Millisecond {
		return fmt.Errorf("notifier.token_check_interval: must be at least 10ms, got %s", c.TokenCheckInterval)
	}
	return nil
}
