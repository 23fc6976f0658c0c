package runtimeenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/attune-system/attune/modules/store"
)

// maxLog bounds the install log kept in pack_environment.install_log.
const maxLog = 64 << 10

// build is one (pack, runtime) environment and how to make it.
type build struct {
	cfg      execConfig
	packRef  string
	packDir  string
	envDir   string
	manifest string // absolute path in the pack, "" when the runtime has none
	rt       store.Runtime
}

func (m *Manager) newBuild(cfg execConfig, packRef, packDir string, rt store.Runtime) *build {
	b := &build{cfg: cfg, packRef: packRef, packDir: packDir, envDir: m.EnvDir(packRef, rt), rt: rt}
	if cfg.Dependencies != nil && cfg.Dependencies.ManifestFile != "" {
		b.manifest = filepath.Join(packDir, filepath.FromSlash(cfg.Dependencies.ManifestFile))
	}
	return b
}

func (b *build) hasManifest() bool {
	if b.manifest == "" {
		return false
	}
	fi, err := os.Stat(b.manifest)
	return err == nil && fi.Mode().IsRegular()
}

// checksum identifies what the environment is built from: the commands and
// the manifest's content, so editing either triggers a rebuild.
func (b *build) checksum() (string, error) {
	h := sha256.New()
	spec, _ := json.Marshal([]any{b.cfg.Environment, b.cfg.Dependencies})
	h.Write(spec)
	if b.hasManifest() {
		content, err := os.ReadFile(b.manifest)
		if err != nil {
			return "", fmt.Errorf("manifest: %w", err)
		}
		h.Write([]byte{0})
		h.Write(content)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (b *build) vars() map[string]string {
	v := map[string]string{"pack_dir": b.packDir, "env_dir": b.envDir, "manifest_path": b.manifest}
	v["interpreter"] = b.interpreterPath(expander(v))
	return v
}

// interpreterPath is interpreter_path once the environment exists, else the
// interpreter binary (resolved on PATH by env()).
func (b *build) interpreterPath(expand func(string) string) string {
	if b.cfg.Environment.InterpreterPath != "" {
		return expand(b.cfg.Environment.InterpreterPath)
	}
	if b.cfg.Interpreter != nil {
		return b.cfg.Interpreter.Binary
	}
	return ""
}

// intact reports whether the built environment is still usable: the
// directory exists and the interpreter resolves (os.Stat follows symlinks,
// so a venv whose base python vanished counts as broken).
func (b *build) intact() bool {
	if fi, err := os.Stat(b.envDir); err != nil || !fi.IsDir() {
		return false
	}
	if b.cfg.Environment.InterpreterPath != "" {
		p := expander(b.vars())(b.cfg.Environment.InterpreterPath)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func (b *build) env() (Env, error) {
	vars := b.vars()
	expand := expander(vars)
	env := Env{Dir: b.envDir}
	if ip := vars["interpreter"]; ip != "" {
		p := ip
		if !filepath.IsAbs(p) {
			lp, err := exec.LookPath(p)
			if err != nil {
				return Env{}, fmt.Errorf("runtime %s: interpreter: %w", b.rt.Ref, err)
			}
			p = lp
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return Env{}, err
		}
		env.Interpreter = abs
	}
	if b.cfg.Interpreter != nil {
		env.Args = b.cfg.Interpreter.Args
	}
	v, err := b.cfg.vars(expand, os.LookupEnv)
	if err != nil {
		return Env{}, fmt.Errorf("runtime %s: %w", b.rt.Ref, err)
	}
	env.Vars = v
	return env, nil
}

// run (re)creates the environment from scratch: remove, create_command,
// then install_command when the pack has the manifest. It returns the
// combined output (bounded) as the install log.
func (b *build) run(ctx context.Context) (string, error) {
	var log bytes.Buffer
	if err := os.RemoveAll(b.envDir); err != nil {
		return "", fmt.Errorf("remove old environment: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(b.envDir), 0o755); err != nil {
		return "", err
	}
	vars := b.vars()
	expand := expander(vars)
	if cmd := b.cfg.Environment.CreateCommand; len(cmd) > 0 {
		if err := runCmd(ctx, &log, b.packDir, cmd, expand); err != nil {
			_ = os.RemoveAll(b.envDir)
			return tail(log.Bytes()), err
		}
	} else if err := os.MkdirAll(b.envDir, 0o755); err != nil {
		return "", err
	}
	if b.cfg.Dependencies != nil && len(b.cfg.Dependencies.InstallCommand) > 0 && b.hasManifest() {
		if b.cfg.Environment.EnvType == "node_modules" {
			// `npm install --prefix DIR` reads DIR/package.json: the manifest
			// (and its lock file) is copied there so the pack stays read-only.
			if err := copyManifest(b.manifest, b.envDir); err != nil {
				return tail(log.Bytes()), err
			}
		}
		// Relative paths in the manifest (./vendor/lib, --find-links
		// wheels) are relative to the pack directory.
		if err := runCmd(ctx, &log, b.packDir, b.cfg.Dependencies.InstallCommand, expand); err != nil {
			_ = os.RemoveAll(b.envDir)
			return tail(log.Bytes()), err
		}
	}
	if !b.intact() {
		_ = os.RemoveAll(b.envDir)
		return tail(log.Bytes()), errors.New("environment built but its interpreter is missing")
	}
	return tail(log.Bytes()), nil
}

func copyManifest(manifest, envDir string) error {
	for _, name := range []string{filepath.Base(manifest), "package-lock.json", "npm-shrinkwrap.json"} {
		src := filepath.Join(filepath.Dir(manifest), name)
		b, err := os.ReadFile(src)
		if errors.Is(err, fs.ErrNotExist) && name != filepath.Base(manifest) {
			continue
		}
		if err != nil {
			return fmt.Errorf("copy manifest: %w", err)
		}
		if err := os.WriteFile(filepath.Join(envDir, name), b, 0o644); err != nil {
			return fmt.Errorf("copy manifest: %w", err)
		}
	}
	return nil
}

func runCmd(ctx context.Context, log *bytes.Buffer, dir string, argv []string, expand func(string) string) error {
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = expand(a)
	}
	fmt.Fprintf(log, "$ %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	// Keep the installers quiet and offline-friendly; nothing secret is
	// passed (the environment is the worker's own).
	cmd.Env = append(os.Environ(), "PIP_DISABLE_PIP_VERSION_CHECK=1", "npm_config_update_notifier=false",
		"npm_config_fund=false", "npm_config_audit=false")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", args[0], err, lastLine(log.Bytes()))
	}
	return nil
}

func tail(b []byte) string {
	if len(b) > maxLog {
		b = b[len(b)-maxLog:]
	}
	return string(b)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
