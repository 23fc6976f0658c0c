package app

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/attune-system/attune/modules/api"
	"github.com/attune-system/attune/modules/executor"
	"github.com/attune-system/attune/modules/httpserver"
	"github.com/attune-system/attune/modules/notifier"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/sensor"
	"github.com/attune-system/attune/modules/worker"
)

// Config is the whole process configuration. Shared sections are validated
// always; module sections only when their module is enabled.
type Config struct {
	// Dev turns on laptop conveniences: generated and persisted secrets,
	// auto-migration, creating the database, a private PostgreSQL when none
	// is reachable. Never on in production. Defaults to false.
	Dev bool `koanf:"dev"`
	// DataDir holds dev secrets, a private PostgreSQL cluster, execution logs.
	// Defaults to ./.attune.
	DataDir string `koanf:"data_dir"`
	// PacksBaseDir is where installed packs live. Defaults to <data_dir>/packs.
	PacksBaseDir string `koanf:"packs_base_dir"`
	// RuntimeEnvsDir holds per-pack virtualenvs and node_modules, never inside
	// the pack. Defaults to <data_dir>/runtime_envs.
	RuntimeEnvsDir string `koanf:"runtime_envs_dir"`
	// DefaultExecutionTimeoutSeconds applies when neither the execution nor
	// the action sets a timeout. Defaults to 600.
	DefaultExecutionTimeoutSeconds int `koanf:"default_execution_timeout_seconds"`

	Log          LogConfig          `koanf:"log"`
	Database     DatabaseConfig     `koanf:"database"`
	MessageQueue MessageQueueConfig `koanf:"message_queue"`
	Security     SecurityConfig     `koanf:"security"`
	Shutdown     ShutdownConfig     `koanf:"shutdown"`
	Server       httpserver.Config  `koanf:"server"`
	API          api.Config         `koanf:"api"`
	Executor     executor.Config    `koanf:"executor"`
	Worker       worker.Config      `koanf:"worker"`
	Sensor       sensor.Config      `koanf:"sensor"`
	Notifier     notifier.Config    `koanf:"notifier"`
}

// LogConfig is the `log` section.
type LogConfig struct {
	// Level is debug, info, warn or error. Defaults to info.
	Level string `koanf:"level"`
	// Format is json, pretty, or auto (pretty on a terminal, json otherwise). Defaults to auto.
	Format string `koanf:"format"`
}

// DatabaseConfig is the `database` section.
type DatabaseConfig struct {
	// URL is the PostgreSQL connection URL. Defaults to the local server's
	// `attune` database.
	URL string `koanf:"url"`
	// MaxConnections caps the pool. Defaults to 20.
	MaxConnections int `koanf:"max_connections"`
	// AutoMigrate applies pending migrations at start instead of refusing an
	// old schema. Defaults to false (true in dev mode).
	AutoMigrate bool `koanf:"auto_migrate"`
	// Embedded lets dev mode start a private PostgreSQL cluster under
	// <data_dir>/pgdata when none is reachable. Defaults to true.
	Embedded bool `koanf:"embedded"`
}

// MessageQueueConfig is the `message_queue` section.
type MessageQueueConfig struct {
	// URL of RabbitMQ (amqp://…). Empty means the in-process bus, which only
	// works when one process runs every role.
	URL string `koanf:"url"`
	// Prefix namespaces exchanges and queues so several installations (or
	// tests) can share one broker. Defaults to empty.
	Prefix string `koanf:"prefix"`
	// WakeCopyDelay is how long the broker copy of a message that also woke
	// its consumer through PostgreSQL (a dispatch, an event) is held back:
	// a consumer that handled the wake-up deletes it meanwhile, and only
	// messages no wake-up handled in time cross the broker. Zero publishes
	// every copy at once. At most 7.5s.
	WakeCopyDelay time.Duration `koanf:"wake_copy_delay"`
}

// SecurityConfig is the `security` section.
type SecurityConfig struct {
	// JWTSecret signs tokens; at least 32 characters. Required outside dev mode.
	JWTSecret string `koanf:"jwt_secret"`
	// EncryptionKey encrypts stored secrets; at least 32 characters. Required outside dev mode.
	EncryptionKey string `koanf:"encryption_key"`
	// JWTAccessExpiration is the access-token lifetime in seconds. Defaults to 3600.
	JWTAccessExpiration int `koanf:"jwt_access_expiration"`
	// JWTRefreshExpiration is the refresh-token lifetime in seconds. Defaults to 604800.
	JWTRefreshExpiration int `koanf:"jwt_refresh_expiration"`
	// AdminLogin is the login of the first-run admin. Defaults to admin.
	AdminLogin string `koanf:"admin_login"`
	// AdminPassword, when set, is used for the first-run admin instead of a
	// generated password printed once.
	AdminPassword string `koanf:"admin_password"`
}

// ShutdownConfig is the `shutdown` section.
type ShutdownConfig struct {
	// GracePeriod bounds the whole drain on SIGTERM/SIGINT. Defaults to 30s.
	GracePeriod time.Duration `koanf:"grace_period"`
}

// DefaultConfig returns every documented default.
func DefaultConfig() Config {
	return Config{
		DataDir:                        ".attune",
		DefaultExecutionTimeoutSeconds: 600,
		Log:                            LogConfig{Level: "info", Format: "auto"},
		Database: DatabaseConfig{
			URL:            "postgres://postgres@127.0.0.1:5432/attune?sslmode=disable",
			MaxConnections: 20,
			Embedded:       true,
		},
		MessageQueue: MessageQueueConfig{WakeCopyDelay: time.Second},
		Security:     SecurityConfig{JWTAccessExpiration: 3600, JWTRefreshExpiration: 604800, AdminLogin: "admin"},
		Shutdown:     ShutdownConfig{GracePeriod: 30 * time.Second},
		Server:       httpserver.Defaults(),
		API:          api.Defaults(),
		Executor:     executor.Defaults(),
		Worker:       worker.Defaults(),
		Sensor:       sensor.Defaults(),
		Notifier:     notifier.Defaults(),
	}
}

// resolveDirs fills the directories documented as "defaults to <data_dir>/…".
func (c *Config) resolveDirs() {
	if c.PacksBaseDir == "" {
		c.PacksBaseDir = filepath.Join(c.DataDir, "packs")
	}
	if c.RuntimeEnvsDir == "" {
		c.RuntimeEnvsDir = filepath.Join(c.DataDir, "runtime_envs")
	}
	if c.Worker.LogDir == "" {
		c.Worker.LogDir = filepath.Join(c.DataDir, "logs")
	}
}

// secretKeys are redacted by `attune config show` and never logged.
var secretKeys = map[string]bool{
	"security.jwt_secret":     true,
	"security.encryption_key": true,
	"security.admin_password": true,
}

// Validate checks the shared sections and the sections of enabled modules,
// joining every problem so one run shows them all.
func (c Config) Validate(enabled []string) error {
	var errs []error
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: must be debug, info, warn or error, got %q", c.Log.Level))
	}
	switch c.Log.Format {
	case "json", "pretty", "auto":
	default:
		errs = append(errs, fmt.Errorf("log.format: must be json, pretty or auto, got %q", c.Log.Format))
	}
	if u, err := url.Parse(c.Database.URL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, fmt.Errorf("database.url: must be a postgres:// URL"))
	}
	if c.Database.MaxConnections < 2 {
		errs = append(errs, fmt.Errorf("database.max_connections: must be at least 2, got %d", c.Database.MaxConnections))
	}
	if c.MessageQueue.URL != "" {
		if u, err := url.Parse(c.MessageQueue.URL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
			errs = append(errs, fmt.Errorf("message_queue.url: must be an amqp:// or amqps:// URL"))
		}
	}
	if c.MessageQueue.WakeCopyDelay < 0 || c.MessageQueue.WakeCopyDelay > 7500*time.Millisecond {
		errs = append(errs, fmt.Errorf("message_queue.wake_copy_delay: must be between 0 and 7.5s"))
	}
	if c.DefaultExecutionTimeoutSeconds < 1 {
		errs = append(errs, fmt.Errorf("default_execution_timeout_seconds: must be at least 1"))
	}
	if c.Security.JWTAccessExpiration < 60 || c.Security.JWTRefreshExpiration < c.Security.JWTAccessExpiration {
		errs = append(errs, fmt.Errorf("security.jwt_access_expiration/jwt_refresh_expiration: access must be >= 60s and refresh >= access"))
	}
	if c.Shutdown.GracePeriod <= 0 {
		errs = append(errs, fmt.Errorf("shutdown.grace_period: must be positive"))
	}
	errs = append(errs, c.Server.Validate())
	for _, m := range enabled {
		switch m {
		case "api":
			errs = append(errs, c.API.Validate())
		case "executor":
			errs = append(errs, c.Executor.Validate())
		case "worker":
			errs = append(errs, c.Worker.Validate())
		case "sensor":
			errs = append(errs, c.Sensor.Validate())
		case "notifier":
			errs = append(errs, c.Notifier.Validate())
		}
	}
	if !c.Dev {
		errs = append(errs, checkSecret("security.jwt_secret", c.Security.JWTSecret))
		errs = append(errs, checkSecret("security.encryption_key", c.Security.EncryptionKey))
	}
	return errors.Join(errs...)
}

// checkSecret refuses missing and weak secrets outside dev mode: a weak JWT
// secret lets anyone mint an admin token.
func checkSecret(key, v string) error {
	if v == "" {
		return fmt.Errorf("%s: required outside dev mode (set it in the config file or %s)", key, envName(key))
	}
	if err := security.CheckSecretStrength(v); err != nil {
		return fmt.Errorf("%s: %w; generate one with `openssl rand -hex 32`", key, err)
	}
	return nil
}
