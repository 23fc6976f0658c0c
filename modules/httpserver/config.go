package httpserver

import (
	"errors"
	"fmt"
	"time"
)

// Config is the `server` section: the one HTTP listener every role has.
// Key names follow upstream Attune so ATTUNE__SERVER__PORT works as expected.
type Config struct {
	// Host to bind. Defaults to 127.0.0.1 (loopback: no open default).
	Host string `koanf:"host"`
	// Port to bind; 0 picks a free port (tests). Defaults to 8080.
	Port int `koanf:"port"`
	// CORSOrigins is the exact-match list of browser origins allowed to call
	// the API. Empty (the default) allows none. "*" and "null" are rejected.
	CORSOrigins []string `koanf:"cors_origins"`
	// MaxBodySize caps request bodies in bytes. Defaults to 10 MiB.
	MaxBodySize int64 `koanf:"max_body_size"`
	// RequestTimeout bounds each request. Defaults to 30s.
	RequestTimeout time.Duration `koanf:"request_timeout"`
	// PublicURL is how clients reach this server (webhook URLs, the API URL
	// handed to actions). Defaults to http://HOST:PORT.
	PublicURL string `koanf:"public_url"`
}

// Defaults returns the documented defaults.
func Defaults() Config {
	return Config{Host: "127.0.0.1", Port: 8080, MaxBodySize: 10 << 20, RequestTimeout: 30 * time.Second}
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("server.port: %d is not a valid port", c.Port))
	}
	if c.MaxBodySize < 1024 {
		errs = append(errs, fmt.Errorf("server.max_body_size: must be at least 1024 bytes, got %d", c.MaxBodySize))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("server.request_timeout: must be positive"))
	}
	for i, o := range c.CORSOrigins {
		if o == "*" || o == "null" || o == "" {
			errs = append(errs, fmt.Errorf("server.cors_origins[%d]: %q is not allowed; list exact origins like https://attune.example.com", i, o))
		}
	}
	return errors.Join(errs...)
}
