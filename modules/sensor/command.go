package sensor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/attune-system/attune/modules/runner"
	"github.com/attune-system/attune/modules/store"
)

// RuntimeEnv is a prepared interpreter environment of a pack runtime.
type RuntimeEnv struct {
	// Dir is the environment directory (e.g. the virtualenv).
	Dir string
	// Interpreter replaces the runtime's interpreter binary when non-empty.
	Interpreter string
	// Args replace the runtime's interpreter arguments when Interpreter is set.
	Args []string
	// Vars are extra environment variables (PYTHONPATH, NODE_PATH, …).
	Vars map[string]string
}

// RuntimeEnvFunc prepares (or reuses) the environment of packRef for
// runtime rt; the composition root adapts runtimeenv.Manager.Ensure to it.
type RuntimeEnvFunc func(ctx context.Context, packRef string, rt store.Runtime) (RuntimeEnv, error)

// execConfig is the part of runtime.execution_config a sensor launch uses.
type execConfig struct {
	Interpreter *struct {
		Binary string   `json:"binary"`
		Args   []string `json:"args"`
	} `json:"interpreter"`
	Environment *struct {
		EnvType string `json:"env_type"`
	} `json:"environment"`
}

type command struct {
	argv []string
	env  []string
	dir  string
}

// command resolves the argv, environment and working directory of a
// sensor: <packs_base_dir>/<pack>/sensors/<entry_point>, run by its
// runtime's interpreter, or executed directly for a native runtime.
func (m *Module) command(ctx context.Context, s *sensorSpec) (command, error) {
	if s.PackRef == "" {
		return command{}, fmt.Errorf("sensor %s: has no pack, so no entry point file", s.Ref)
	}
	if !filepath.IsLocal(s.Entrypoint) {
		return command{}, fmt.Errorf("sensor %s: entry_point %q must be a relative path inside sensors/", s.Ref, s.Entrypoint)
	}
	packDir := filepath.Join(m.d.PacksBaseDir, s.PackRef)
	path := filepath.Join(packDir, "sensors", s.Entrypoint)
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		return command{}, fmt.Errorf("sensor %s: entry_point file %s not found", s.Ref, path)
	}
	rt, err := m.d.Store.RuntimeGet(ctx, s.RuntimeID)
	if err != nil {
		return command{}, fmt.Errorf("sensor %s: runtime %s: %w", s.Ref, s.RuntimeRef, err)
	}
	var ec execConfig
	if len(rt.ExecutionConfig) > 0 {
		if err := json.Unmarshal(rt.ExecutionConfig, &ec); err != nil {
			return command{}, fmt.Errorf("sensor %s: runtime %s execution_config: %w", s.Ref, rt.Ref, err)
		}
	}
	env := m.sensorEnv(s)
	argv := []string{path}
	if ec.Interpreter != nil && ec.Interpreter.Binary != "" {
		bin, args := ec.Interpreter.Binary, ec.Interpreter.Args
		if ec.Environment != nil && ec.Environment.EnvType != "" && ec.Environment.EnvType != "none" && m.d.RuntimeEnv != nil {
			re, err := m.d.RuntimeEnv(ctx, s.PackRef, rt)
			if err != nil {
				return command{}, fmt.Errorf("sensor %s: prepare %s environment: %w", s.Ref, rt.Ref, err)
			}
			if re.Interpreter != "" {
				bin, args = re.Interpreter, re.Args
			}
			env = append(env, sortedVars(re.Vars)...)
		}
		argv = append(append([]string{bin}, args...), path)
	}
	return command{argv: argv, env: env, dir: packDir}, nil
}

// sensorEnv is the whole environment of a sensor process. Nothing of the
// server's own environment is inherited beyond the basics below, so server
// secrets given as ATTUNE_* variables never reach pack code. The sensor
// token is deliberately absent (it is on stdin).
func (m *Module) sensorEnv(s *sensorSpec) []string {
	var env []string
	for k, v := range runner.BaseEnv() {
		env = append(env, k+"="+v)
	}
	env = append(env,
		"ATTUNE_API_URL="+m.d.APIURL(),
		"ATTUNE_SENSOR_REF="+s.Ref,
		"ATTUNE_SENSOR_ID="+strconv.FormatInt(s.ID, 10),
		"ATTUNE_LOG_LEVEL="+m.d.LogLevel,
	)
	return append(env, configVars(s.Config)...)
}

// configVars turns the sensor's config object into ATTUNE_SENSOR_CONFIG_<KEY>
// variables: strings as is, anything else as JSON.
func configVars(raw json.RawMessage) []string {
	var cfg map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &cfg) != nil {
		return nil
	}
	vars := map[string]string{}
	for k, v := range cfg {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		vars["ATTUNE_SENSOR_CONFIG_"+envKey(k)] = s
	}
	return sortedVars(vars)
}

func envKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, k)
}

func sortedVars(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (m *Module) logDir() string {
	base := m.d.DataDir
	if base == "" {
		base = os.TempDir()
	}
	return filepath.Join(base, "sensor_logs")
}
