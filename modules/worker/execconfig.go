package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/attune-system/attune/modules/pack"
)

// decodeExecConfig reads a runtime's stored execution_config: the runtime
// YAML kept verbatim (spec §2.6), so inline_execution is an object and an
// env_vars entry is either a string or {operation, value, separator}.
func decodeExecConfig(raw json.RawMessage) (pack.ExecutionConfig, error) {
	var ec pack.ExecutionConfig
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ec, nil
	}
	var doc struct {
		Interpreter     *pack.Interpreter `json:"interpreter"`
		InlineExecution *struct {
			Strategy  string `json:"strategy"`
			Extension string `json:"extension"`
		} `json:"inline_execution"`
		InlineStrategy string                     `json:"inline_strategy"`
		Environment    *pack.Environment          `json:"environment"`
		Dependencies   *pack.Dependencies         `json:"dependencies"`
		EnvVars        map[string]json.RawMessage `json:"env_vars"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return ec, fmt.Errorf("runtime execution_config: %w", err)
	}
	ec.Interpreter, ec.Environment, ec.Dependencies = doc.Interpreter, doc.Environment, doc.Dependencies
	ec.InlineStrategy = doc.InlineStrategy
	if doc.InlineExecution != nil {
		ec.InlineStrategy = doc.InlineExecution.Strategy
	}
	if len(doc.EnvVars) > 0 {
		ec.EnvVars = map[string]pack.EnvVar{}
	}
	for name, v := range doc.EnvVars {
		var s string
		if json.Unmarshal(v, &s) == nil {
			ec.EnvVars[name] = pack.EnvVar{Operation: "set", Value: s}
			continue
		}
		var ev pack.EnvVar
		if err := json.Unmarshal(v, &ev); err != nil {
			return ec, fmt.Errorf("runtime execution_config.env_vars.%s: %w", name, err)
		}
		if ev.Operation == "" {
			ev.Operation = "set"
		}
		ec.EnvVars[name] = ev
	}
	return ec, nil
}

// isNative reports whether a runtime executes the entry point directly.
func isNative(ec pack.ExecutionConfig) bool {
	return ec.Interpreter == nil || ec.Interpreter.Binary == ""
}

// expand substitutes the runtime template variables ({pack_dir}, {env_dir},
// {interpreter}, {action_file}, {manifest_path}) in s.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// applyEnvVar applies one runtime env_vars entry to env (set, prepend or
// append with the separator, default ":").
func applyEnvVar(env map[string]string, name string, ev pack.EnvVar, vars map[string]string) {
	val := expand(ev.Value, vars)
	sep := ev.Separator
	if sep == "" {
		sep = ":"
	}
	cur, ok := env[name]
	switch {
	case ev.Operation == "prepend" && ok && cur != "":
		env[name] = val + sep + cur
	case ev.Operation == "append" && ok && cur != "":
		env[name] = cur + sep + val
	default:
		env[name] = val
	}
}
