package pack

import (
	"strings"

	"go.yaml.in/yaml/v4"
)

// Runtime is one runtimes/*.yaml file (spec §2.6). The JSON-able maps are
// stored verbatim in the DB; Exec is the typed view workers use.
type Runtime struct {
	Component
	RuntimeName     string           `json:"runtime_name"` // display name, e.g. "Python"
	Aliases         []string         `json:"aliases"`      // lowercase, includes the lowercased name
	Distributions   map[string]any   `json:"distributions"`
	Installation    map[string]any   `json:"installation,omitempty"`
	ExecutionConfig map[string]any   `json:"execution_config"`
	Exec            ExecutionConfig  `json:"-"`
	Versions        []RuntimeVersion `json:"versions,omitempty"`
}

// RuntimeVersion is one entry of `versions`; its execution_config fully
// replaces the runtime's when selected.
type RuntimeVersion struct {
	Version         string         `json:"version"`
	IsDefault       bool           `json:"is_default"`
	ExecutionConfig map[string]any `json:"execution_config,omitempty"`
	Distributions   map[string]any `json:"distributions,omitempty"`
}

// ExecutionConfig is the typed form of execution_config. An all-zero value
// means "native/direct": the worker executes the entry point itself.
type ExecutionConfig struct {
	Interpreter    *Interpreter      `json:"interpreter,omitempty"`
	InlineStrategy string            `json:"inline_strategy,omitempty"` // direct | temp_file
	Environment    *Environment      `json:"environment,omitempty"`
	Dependencies   *Dependencies     `json:"dependencies,omitempty"`
	EnvVars        map[string]EnvVar `json:"env_vars,omitempty"`
}

// Interpreter runs action files: `<binary> <args...> <action_file>`.
type Interpreter struct {
	Binary        string   `json:"binary"`
	Args          []string `json:"args,omitempty"`
	FileExtension string   `json:"file_extension,omitempty"`
}

// Environment describes an isolated per-pack environment built under
// `{runtime_envs_dir}/{pack_ref}/{runtime_name_lower}`.
type Environment struct {
	EnvType         string   `json:"env_type"` // virtualenv | node_modules | none
	DirName         string   `json:"dir_name,omitempty"`
	CreateCommand   []string `json:"create_command,omitempty"`
	InterpreterPath string   `json:"interpreter_path,omitempty"`
}

// Dependencies says how to install a pack's manifest into its environment.
type Dependencies struct {
	ManifestFile   string   `json:"manifest_file"`
	InstallCommand []string `json:"install_command"`
}

// EnvVar is one env_vars entry: a plain string is Operation "set".
type EnvVar struct {
	Operation string `json:"operation"` // set | prepend | append
	Value     string `json:"value"`
	Separator string `json:"separator,omitempty"`
}

func (l *loader) decodeRuntime(d *yamlDoc) *Runtime {
	o := d.object(d.root, "")
	rt := &Runtime{Component: l.component(o, d, "runtimes")}
	rt.RuntimeName = o.str("name", true)
	aliases := o.strList("aliases")
	rt.Aliases = lowerUnique(append([]string{rt.RuntimeName}, aliases...))
	rt.Distributions = o.mapValue("distributions")
	if rt.Distributions == nil {
		rt.Distributions = map[string]any{}
	}
	if v := o.sub("distributions"); v != nil {
		l.checkDistributions(v)
	}
	rt.Installation = o.mapValue("installation")
	rt.ExecutionConfig = o.mapValue("execution_config")
	if rt.ExecutionConfig == nil {
		rt.ExecutionConfig = map[string]any{}
	}
	if ec := o.sub("execution_config"); ec != nil {
		rt.Exec = decodeExecConfig(ec)
	}
	if vn := o.node("versions"); vn != nil {
		if vn.Kind != yaml.SequenceNode {
			o.errAt("versions", "must be a list")
		}
		for i, c := range vn.Content {
			vo := d.object(c, "versions["+itoaS(i)+"]")
			v := RuntimeVersion{Version: vo.str("version", true), IsDefault: vo.boolean("is_default", false)}
			v.ExecutionConfig = vo.mapValue("execution_config")
			if ec := vo.sub("execution_config"); ec != nil {
				decodeExecConfig(ec)
			}
			v.Distributions = vo.mapValue("distributions")
			vo.finish()
			rt.Versions = append(rt.Versions, v)
		}
	}
	o.finish()
	return rt
}

func (l *loader) checkDistributions(o *obj) {
	if v := o.sub("verification"); v != nil {
		v.boolean("always_available", false)
		v.boolean("check_required", false)
		if cn := v.node("commands"); cn != nil {
			if cn.Kind != yaml.SequenceNode {
				v.errAt("commands", "must be a list")
			} else {
				for i, c := range cn.Content {
					co := o.d.object(c, v.field("commands")+"["+itoaS(i)+"]")
					co.str("binary", true)
					co.strList("args")
					co.integer("exit_code", 0, -255, 255)
					co.str("pattern", false)
					co.integer("priority", 0, 0, 1000)
					co.finish()
				}
			}
		}
		v.finish()
	}
	o.allow("min_version", "max_version", "notes")
	o.finish()
}

func decodeExecConfig(o *obj) ExecutionConfig {
	var ec ExecutionConfig
	if in := o.sub("interpreter"); in != nil {
		ec.Interpreter = &Interpreter{Binary: in.str("binary", true), Args: in.strList("args"), FileExtension: in.str("file_extension", false)}
		in.finish()
	}
	if ie := o.sub("inline_execution"); ie != nil {
		ec.InlineStrategy = ie.enum("strategy", "direct", "direct", "temp_file")
		ie.str("extension", false)
		ie.boolean("inject_shell_helpers", false)
		ie.finish()
	}
	if en := o.sub("environment"); en != nil {
		ec.Environment = &Environment{
			EnvType:         en.enum("env_type", "none", "virtualenv", "node_modules", "none"),
			DirName:         en.str("dir_name", false),
			CreateCommand:   en.strList("create_command"),
			InterpreterPath: en.str("interpreter_path", false),
		}
		en.finish()
	}
	if de := o.sub("dependencies"); de != nil {
		ec.Dependencies = &Dependencies{ManifestFile: de.str("manifest_file", true), InstallCommand: de.strList("install_command")}
		if len(ec.Dependencies.InstallCommand) == 0 {
			de.errAt("install_command", "is required")
		}
		de.finish()
	}
	if ev := o.sub("env_vars"); ev != nil && ev.n != nil {
		ec.EnvVars = map[string]EnvVar{}
		for i := 0; i+1 < len(ev.n.Content); i += 2 {
			name := ev.n.Content[i].Value
			if strings.HasPrefix(strings.ToUpper(name), "ATTUNE_") {
				ev.errAt(name, "runtimes may not set ATTUNE_* variables")
			}
			vn := resolve(ev.n.Content[i+1])
			if vn.Kind == yaml.ScalarNode {
				ec.EnvVars[name] = EnvVar{Operation: "set", Value: ev.str(name, false)}
				continue
			}
			vo := ev.sub(name)
			ec.EnvVars[name] = EnvVar{
				Operation: vo.enum("operation", "set", "set", "prepend", "append"),
				Value:     vo.str("value", true),
				Separator: vo.str("separator", false),
			}
			vo.finish()
		}
		ev.finish()
	}
	o.finish()
	return ec
}

func lowerUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
