// Package packsvc registers, installs, lists and removes packs: the one
// implementation shared by the CLI (`attune pack …`) and the REST API.
//
// Registration is all-or-nothing. The pack is copied into a staging
// directory under packs_base_dir, validated there (so what is checked is
// exactly what gets installed), written to the database in one transaction
// in the spec's dependency order, and the staged files are swapped into
// packs_base_dir/<ref> just before that transaction commits. See
// Service.Register for the ordering argument.
package packsvc

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/runtimeenv"
	"github.com/attune-system/attune/modules/store"
)

// Options configures a Service.
type Options struct {
	// Store is required.
	Store *store.Store
	// PacksDir is packs_base_dir; installed packs live in PacksDir/<ref>.
	PacksDir string
	// Envs, when set, builds runtime environments best-effort after a
	// registration commits (the worker builds them otherwise).
	Envs *runtimeenv.Manager
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Limits bound archives (Install); zero fields take pack.DefaultLimits.
	Limits pack.Limits
	// EnvTimeout bounds the best-effort environment build. Defaults to 5m.
	EnvTimeout time.Duration
}

// Service is safe for concurrent use; registrations of one pack are
// serialised by a PostgreSQL advisory lock, across processes too.
type Service struct {
	st         *store.Store
	packsDir   string
	envs       *runtimeenv.Manager
	log        *slog.Logger
	limits     pack.Limits
	envTimeout time.Duration
}

// New returns a Service. PacksDir is created when missing.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("packsvc: Store is required")
	}
	if o.PacksDir == "" {
		return nil, errors.New("packsvc: PacksDir (packs_base_dir) is required")
	}
	dir, err := filepath.Abs(o.PacksDir)
	if err != nil {
		return nil, fmt.Errorf("packs_base_dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("packs_base_dir: %w", err)
	}
	return &Service{
		st: o.Store, packsDir: dir, envs: o.Envs, log: cmp.Or(o.Log, slog.Default()), limits: o.Limits,
		envTimeout: cmp.Or(o.EnvTimeout, 5*time.Minute),
	}, nil
}

// PacksDir returns the absolute packs_base_dir.
func (s *Service) PacksDir() string { return s.packsDir }

// PackDir returns where the pack ref is (or would be) installed.
func (s *Service) PackDir(ref string) string { return filepath.Join(s.packsDir, ref) }

// Installation methods recorded in pack.installation_method.
const (
	MethodCLI  = "cli"
	MethodAPI  = "api"
	MethodAuto = "auto"
)

// Source types recorded in pack.source_type.
const (
	SourceGit      = "git"
	SourceLocal    = "local"
	SourceRegistry = "registry"
)

// RegisterOptions describes one registration.
type RegisterOptions struct {
	// Force re-applies the pack even when the registered version, checksum
	// and installed files already match (otherwise that is a quick no-op).
	Force bool
	// InstalledBy is the identity id recorded on the pack, if any.
	InstalledBy *int64
	// Method is cli, api or auto (empty records nothing).
	Method string
	// SourceType (git, local, registry), SourceURL and SourceRef describe
	// where the pack came from; credentials are stripped from SourceURL.
	SourceType, SourceURL, SourceRef string
	// SkipEnvs skips the best-effort runtime environment build.
	SkipEnvs bool
}

// Result describes a registration.
type Result struct {
	Pack store.Pack `json:"pack"`
	// Unchanged is true when nothing had to be done (same checksum and files).
	Unchanged bool `json:"unchanged"`
	// Checksum is the sha256 of the pack's files (see Checksum).
	Checksum string           `json:"checksum"`
	Counts   store.PackCounts `json:"counts"`
	// Removed lists components deleted because they left the pack's files,
	// as "kind ref".
	Removed []string `json:"removed,omitempty"`
	// Envs reports the best-effort environment builds.
	Envs []EnvResult `json:"envs,omitempty"`
	// Duration is how long the registration took.
	Duration time.Duration `json:"duration_ns"`
}

// EnvResult is the outcome of one best-effort environment build.
type EnvResult struct {
	Runtime string `json:"runtime"`
	Dir     string `json:"dir,omitempty"`
	Error   string `json:"error,omitempty"`
}
