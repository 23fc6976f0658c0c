// Package notifier is the module that streams live changes to WebSocket
// clients: it LISTENs on PostgreSQL and fans notifications out, filtered by
// each subscriber's subscriptions and permissions.
package notifier

import "fmt"

// Config is the `notifier` section.
type Config struct {
	// ClientBuffer is how many messages a slow client may lag before it is
	// disconnected (it then resyncs through the REST API). Defaults to 256.
	ClientBuffer int `koanf:"client_buffer"`
}

// Defaults returns the documented defaults.
func Defaults() Config { return Config{ClientBuffer: 256} }

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	if c.ClientBuffer < 1 {
		return fmt.Errorf("notifier.client_buffer: must be at least 1, got %d", c.ClientBuffer)
	}
	return nil
}
