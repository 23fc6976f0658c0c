// Package worker is the module that runs actions: it registers the worker,
// heartbeats, consumes its dispatch queue and launches each action through its
// runtime with parameters on stdin.
package worker

import (
	"errors"
	"fmt"
	"time"
)

// Config is the `worker` section.
type Config struct {
	// Name identifies this worker; defaults to the hostname plus the process id.
	Name string `koanf:"name"`
	// MaxConcurrentTasks caps actions running at once. Defaults to 10.
	MaxConcurrentTasks int `koanf:"max_concurrent_tasks"`
	// HeartbeatInterval is how often the worker renews its lease. Defaults to 5s.
	HeartbeatInterval time.Duration `koanf:"heartbeat_interval"`
	// LeaseTimeout is how long after its last heartbeat a worker's running
	// executions are considered lost. Defaults to 30s.
	LeaseTimeout time.Duration `koanf:"lease_timeout"`
	// Runtimes overrides runtime detection (e.g. [shell, python]). Empty = detect.
	Runtimes []string `koanf:"runtimes"`
	// MaxStdoutBytes and MaxStderrBytes cap the output kept in memory and in
	// the result (the log files keep more). Default 1 MiB each: twenty busy
	// actions must not cost the worker hundreds of MiB.
	MaxStdoutBytes int64 `koanf:"max_stdout_bytes"`
	MaxStderrBytes int64 `koanf:"max_stderr_bytes"`
	// KillGrace is the wait between SIGTERM and SIGKILL on timeout or cancel. Defaults to 10s.
	KillGrace time.Duration `koanf:"kill_grace"`
	// LogDir keeps per-execution stdout/stderr log files. Defaults to <data_dir>/logs.
	LogDir string `koanf:"log_dir"`
}

// Defaults returns the documented defaults.
func Defaults() Config {
	return Config{
		MaxConcurrentTasks: 10,
		HeartbeatInterval:  5 * time.Second,
		LeaseTimeout:       30 * time.Second,
		MaxStdoutBytes:     1 << 20,
		MaxStderrBytes:     1 << 20,
		KillGrace:          10 * time.Second,
	}
}

// Validate checks the section; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.MaxConcurrentTasks < 1 {
		errs = append(errs, fmt.Errorf("worker.max_concurrent_tasks: must be at least 1, got %d", c.MaxConcurrentTasks))
	}
	if c.HeartbeatInterval <= 0 {
		errs = append(errs, errors.New("worker.heartbeat_interval: must be positive"))
	}
	if c.LeaseTimeout < 2*c.HeartbeatInterval {
		errs = append(errs, fmt.Errorf("worker.lease_timeout: must be at least twice worker.heartbeat_interval (%s), got %s", c.HeartbeatInterval, c.LeaseTimeout))
	}
	if c.MaxStdoutBytes < 1024 || c.MaxStderrBytes < 1024 {
		errs = append(errs, errors.New("worker.max_stdout_bytes/max_stderr_bytes: must be at least 1024"))
	}
	if c.KillGrace < 0 {
		errs = append(errs, errors.New("worker.kill_grace: must not be negative"))
	}
	return errors.Join(errs...)
}
