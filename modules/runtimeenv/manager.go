// Package runtimeenv builds and checks the per-pack runtime environments
// (Python virtualenvs, node_modules) that actions run in (spec §4.3), and
// detects which runtimes a machine can run.
//
// Environments live at {runtime_envs_dir}/{pack_ref}/{runtime_name_lower},
// never inside the pack (packs stay read-only). Building is idempotent: the
// pack_environment row records the manifest checksum the environment was
// built from, and a build is skipped while that checksum, the directory and
// the interpreter are intact. Builds are serialised across processes by a
// lease on the pack_environment row (claimed_by_worker/claim_expires_at)
// and within a process by a per-environment mutex.
package runtimeenv

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/attune-system/attune/modules/store"
)

// Env is what an action launch needs from its runtime environment.
type Env struct {
	// Dir is the environment directory, "" for runtimes without one.
	Dir string
	// Interpreter is the absolute path of the interpreter, or "" when the
	// runtime has none (native: the entry point is executed directly).
	Interpreter string
	// Args are the interpreter arguments placed before the action file.
	Args []string
	// Vars are environment variables to set for the action (env_vars after
	// template expansion, prepend/append applied to this process's values).
	Vars map[string]string
}

// Manager builds environments. It is safe for concurrent use.
type Manager struct {
	st       *store.Store
	envsDir  string
	packsDir string
	log      *slog.Logger
	holder   string

	// LeaseTTL is how long a build lease lasts without renewal. Defaults to 2m.
	LeaseTTL time.Duration
	// PollInterval is how often a waiting Ensure re-checks another
	// builder's progress. Defaults to 250ms.
	PollInterval time.Duration
	// Override, when non-empty, is the configured runtime list
	// (worker.capabilities.runtimes / ATTUNE_WORKER_RUNTIMES): DetectRuntimes
	// then returns the runtimes it names without running any command.
	Override []string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// NewManager returns a Manager. envsDir is runtime_envs_dir, packsDir is
// packs_base_dir; both are made absolute so returned paths are too.
func NewManager(st *store.Store, envsDir, packsDir string, log *slog.Logger) *Manager {
	if a, err := filepath.Abs(envsDir); err == nil {
		envsDir = a
	}
	if a, err := filepath.Abs(packsDir); err == nil {
		packsDir = a
	}
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &Manager{
		st: st, envsDir: envsDir, packsDir: packsDir, log: cmp.Or(log, slog.Default()),
		holder:   fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b)),
		LeaseTTL: 2 * time.Minute, PollInterval: 250 * time.Millisecond, locks: map[string]*sync.Mutex{},
	}
}

// EnvDir returns where the environment of (packRef, runtime) lives.
func (m *Manager) EnvDir(packRef string, rt store.Runtime) string {
	return filepath.Join(m.envsDir, packRef, strings.ToLower(rt.Name))
}

// Ensure returns the environment of packRef for rt, building it first when
// it is missing, broken (e.g. a dangling interpreter symlink) or built from
// another manifest. The worker calls it before launching an action.
func (m *Manager) Ensure(ctx context.Context, packRef string, rt store.Runtime) (Env, error) {
	cfg, err := parseExecConfig(rt.ExecutionConfig)
	if err != nil {
		return Env{}, fmt.Errorf("runtime %s: %w", rt.Ref, err)
	}
	packDir := filepath.Join(m.packsDir, packRef)
	if !cfg.hasEnv() {
		return m.plainEnv(cfg, packDir, rt)
	}
	lock := m.lockFor(packRef + "/" + rt.Ref)
	lock.Lock()
	defer lock.Unlock()

	b := m.newBuild(cfg, packRef, packDir, rt)
	pk, err := m.st.PackGetByRef(ctx, packRef)
	if err != nil {
		return Env{}, fmt.Errorf("environment %s/%s: %w", packRef, rt.Ref, err)
	}
	row, err := m.st.PackEnvironmentEnsure(ctx, pk.ID, packRef, rt.ID, rt.Ref, b.envDir)
	if err != nil {
		return Env{}, err
	}
	sum, err := b.checksum()
	if err != nil {
		return Env{}, err
	}
	for {
		built := row.Status == store.EnvReady && row.ManifestChecksum != nil && *row.ManifestChecksum == sum
		if built && b.intact() {
			_ = m.st.PackEnvironmentTouch(ctx, row.ID)
			return b.env()
		}
		// Not built as wanted: claim unless another builder finishes it
		// first. Built but its files gone: rebuild regardless.
		unlessReady := &sum
		if built {
			unlessReady = nil
		}
		claimed, ok, err := m.st.PackEnvironmentClaim(ctx, row.ID, m.holder, m.LeaseTTL, unlessReady)
		if err != nil {
			return Env{}, err
		}
		if ok {
			if err := m.build(ctx, b, claimed.ID, sum); err != nil {
				return Env{}, err
			}
			return b.env()
		}
		// Another process is building: wait for it to finish or for its
		// lease to lapse, then look again.
		select {
		case <-ctx.Done():
			return Env{}, fmt.Errorf("environment %s/%s: waiting for another builder: %w", packRef, rt.Ref, ctx.Err())
		case <-time.After(m.PollInterval):
		}
		if row, err = m.st.PackEnvironmentGet(ctx, row.ID); err != nil {
			return Env{}, err
		}
		if row.Status == store.EnvFailed && row.ClaimedBy == nil && row.ManifestChecksum != nil && *row.ManifestChecksum == sum {
			return Env{}, fmt.Errorf("environment %s/%s: build failed: %s", packRef, rt.Ref, deref(row.InstallError))
		}
	}
}

func (m *Manager) lockFor(key string) *sync.Mutex {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.locks[key]
	if !ok {
		l = &sync.Mutex{}
		m.locks[key] = l
	}
	return l
}

// plainEnv serves runtimes without an environment: the interpreter is
// resolved on PATH.
func (m *Manager) plainEnv(cfg execConfig, packDir string, rt store.Runtime) (Env, error) {
	env := Env{}
	if cfg.Interpreter != nil && cfg.Interpreter.Binary != "" {
		p, err := exec.LookPath(cfg.Interpreter.Binary)
		if err != nil {
			return Env{}, fmt.Errorf("runtime %s: interpreter: %w", rt.Ref, err)
		}
		if env.Interpreter, err = filepath.Abs(p); err != nil {
			return Env{}, err
		}
		env.Args = cfg.Interpreter.Args
	}
	vars, err := cfg.vars(expander(map[string]string{"pack_dir": packDir, "interpreter": env.Interpreter}), os.LookupEnv)
	if err != nil {
		return Env{}, fmt.Errorf("runtime %s: %w", rt.Ref, err)
	}
	env.Vars = vars
	return env, nil
}

// build runs the build holding the lease, renewing it meanwhile, and
// records the outcome.
func (m *Manager) build(ctx context.Context, b *build, id int64, sum string) error {
	renewCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		t := time.NewTicker(m.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-renewCtx.Done():
				return
			case <-t.C:
				if ok, err := m.st.PackEnvironmentRenew(renewCtx, id, m.holder, m.LeaseTTL); err == nil && !ok {
					m.log.Warn("environment build lease lost", "env", b.envDir)
				}
			}
		}
	}()
	m.log.Info("building runtime environment", "pack", b.packRef, "runtime", b.rt.Ref, "dir", b.envDir)
	log, berr := b.run(ctx)
	res := store.PackEnvironmentResult{Status: store.EnvReady, ManifestChecksum: sum, InstallLog: log}
	if berr != nil {
		res.Status, res.InstallError = store.EnvFailed, berr.Error()
	}
	// Record the outcome even if ctx was cancelled mid-build.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := m.st.PackEnvironmentFinish(fctx, id, m.holder, res); err != nil {
		return errors.Join(berr, err)
	}
	if berr != nil {
		return fmt.Errorf("environment %s/%s: %w", b.packRef, b.rt.Ref, berr)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// RemovePack deletes every environment directory of packRef (after the pack
// was removed; the pack_environment rows cascade with the pack).
func (m *Manager) RemovePack(packRef string) error {
	if packRef == "" || strings.ContainsAny(packRef, `/\`) || packRef == "." || packRef == ".." {
		return fmt.Errorf("invalid pack ref %q", packRef)
	}
	return os.RemoveAll(filepath.Join(m.envsDir, packRef))
}
