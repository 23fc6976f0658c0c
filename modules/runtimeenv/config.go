package runtimeenv

import (
	"encoding/json"
	"fmt"
	"strings"
)

// execConfig is the stored runtime.execution_config (spec §2.6), decoded
// leniently: it was validated when the pack was registered.
type execConfig struct {
	Interpreter *struct {
		Binary string   `json:"binary"`
		Args   []string `json:"args"`
	} `json:"interpreter"`
	Environment *struct {
		EnvType         string   `json:"env_type"`
		DirName         string   `json:"dir_name"`
		CreateCommand   []string `json:"create_command"`
		InterpreterPath string   `json:"interpreter_path"`
	} `json:"environment"`
	Dependencies *struct {
		ManifestFile   string   `json:"manifest_file"`
		InstallCommand []string `json:"install_command"`
	} `json:"dependencies"`
	EnvVars map[string]json.RawMessage `json:"env_vars"`
}

func parseExecConfig(raw json.RawMessage) (execConfig, error) {
	var c execConfig
	if len(raw) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("execution_config: %w", err)
	}
	return c, nil
}

// hasEnv reports whether the runtime builds a per-pack environment.
func (c execConfig) hasEnv() bool {
	return c.Environment != nil && c.Environment.EnvType != "" && c.Environment.EnvType != "none"
}

// envVar is one env_vars entry; a plain string means "set".
type envVar struct {
	Operation string `json:"operation"`
	Value     string `json:"value"`
	Separator string `json:"separator"`
}

// vars expands env_vars. Prepend/append are returned as the value to add and
// applied against the process environment by the caller (the worker), so
// here they become `value + separator + $NAME` only when base has NAME.
func (c execConfig) vars(expand func(string) string, base func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	for name, raw := range c.EnvVars {
		if strings.HasPrefix(strings.ToUpper(name), "ATTUNE_") {
			return nil, fmt.Errorf("env_vars.%s: ATTUNE_* variables are reserved", name)
		}
		var v envVar
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			v = envVar{Operation: "set", Value: s}
		} else if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("env_vars.%s: %w", name, err)
		}
		val := expand(v.Value)
		sep := v.Separator
		if sep == "" {
			sep = ":"
		}
		cur, ok := base(name)
		switch v.Operation {
		case "prepend":
			if ok && cur != "" {
				val = val + sep + cur
			}
		case "append":
			if ok && cur != "" {
				val = cur + sep + val
			}
		}
		out[name] = val
	}
	return out, nil
}

// expander substitutes the spec's template variables ({pack_dir},
// {env_dir}, {interpreter}, {manifest_path}); unknown ones stay verbatim.
func expander(vars map[string]string) func(string) string {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}
