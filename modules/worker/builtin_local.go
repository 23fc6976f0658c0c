package worker

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/attune-system/attune/modules/runner"
)

// localSpec turns core.local into a runner launch: `/bin/sh -c <cmd>` with the
// `env` parameter added to the environment (never templated into cmd), in
// `cwd` (default the pack directory, relative paths resolved against it),
// bounded by the `timeout` parameter and the execution's own timeout.
func localSpec(s *runner.Spec, params map[string]any, env map[string]string, packDir string) error {
	cmd, _ := params["cmd"].(string)
	if strings.TrimSpace(cmd) == "" {
		return errors.New("core.local: parameter cmd: must be a non-empty string")
	}
	if raw, ok := params["env"]; ok && raw != nil {
		obj, ok := raw.(map[string]any)
		if !ok {
			return errors.New("core.local: parameter env: must be an object of strings")
		}
		for k, v := range anyStringMap(obj) {
			if err := checkEnvName(k); err != nil {
				return fmt.Errorf("core.local: parameter env: %w", err)
			}
			if isAttuneVar(k) {
				return fmt.Errorf("core.local: parameter env: %q: names starting with ATTUNE_ are reserved", k)
			}
			env[k] = v
		}
	}
	if cwd, ok := params["cwd"].(string); ok && cwd != "" {
		if !filepath.IsAbs(cwd) {
			cwd = filepath.Join(packDir, cwd)
		}
		s.Dir = cwd
	}
	if t, ok := params["timeout"].(float64); ok && t > 0 {
		if d := time.Duration(t * float64(time.Second)); s.Timeout <= 0 || d < s.Timeout {
			s.Timeout = d
		}
	}
	s.Path = "/bin/sh"
	s.Args = []string{"-c", cmd}
	return nil
}

// checkEnvName rejects names the kernel would mangle (empty, '=' or NUL).
func checkEnvName(k string) error {
	if k == "" || strings.ContainsAny(k, "=\x00") {
		return fmt.Errorf("%q is not a valid environment variable name", k)
	}
	return nil
}
