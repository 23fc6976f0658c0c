package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/runner"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
)

// launch is everything needed to run one attempt.
type launch struct {
	spec runner.Spec
	// builtin names a Go-implemented entry point (http_request); "" runs
	// spec through the runner.
	builtin string
}

// buildLaunch resolves the parameters, secrets, command, environment and
// timeout of a claimed execution (spec §4.2 steps 2-8) from its loaded
// launch inputs. Errors describe the problem without any secret value and
// fail the execution.
func (m *Module) buildLaunch(ctx context.Context, ex store.Execution, pre *prefetched, origin enforcementRefs, artifacts string) (*launch, error) {
	act := pre.action
	packDir := filepath.Join(m.d.PacksBaseDir, act.PackRef)
	params, secrets, err := m.resolveParams(ex, act, pre.keys, pre.secrets, pre.keysErr)
	if err != nil {
		return nil, err
	}
	timeout := m.resolveTimeout(ex, act)
	subject := derefInt64(ex.Executor)
	if subject == 0 {
		if subject, err = access.SystemIdentityID(ctx, m.d.Store); err != nil {
			return nil, fmt.Errorf("system identity for the execution token: %w", err)
		}
	}
	token, err := m.tokens.Issue(security.Claims{
		Subject: subject, Login: fmt.Sprintf("execution:%d", ex.ID), TokenType: security.TokenExecution,
		Metadata:          map[string]any{security.MetaExecutionID: ex.ID, security.MetaPackRef: act.PackRef},
		PermissionSetRefs: ex.PermissionSetRefs,
	}, timeout+60*time.Second)
	if err != nil {
		return nil, fmt.Errorf("issue execution token: %w", err)
	}
	secrets = append(secrets, token)

	rt, err := pre.runtime, pre.rtErr
	if err != nil {
		return nil, err
	}
	ec, err := decodeExecConfig(rt.ExecutionConfig)
	if err != nil {
		return nil, fmt.Errorf("runtime %s: %w", rt.Ref, err)
	}
	l := &launch{spec: runner.Spec{
		Dir: packDir, Params: params, Secrets: secrets, Timeout: timeout,
		ParamFormat: act.ParameterFormat, ParamDelivery: act.ParameterDelivery, OutputFormat: act.OutputFormat,
		KillGrace: m.d.Config.KillGrace, MaxStdout: m.d.Config.MaxStdoutBytes, MaxStderr: m.d.Config.MaxStderrBytes,
		LogDir: filepath.Join(m.logDir(), fmt.Sprint(ex.ID)),
	}}
	if out, err := parseSchema(act.OutSchema); err != nil {
		return nil, fmt.Errorf("action %s out_schema: %w", act.Ref, err)
	} else if out != nil {
		l.spec.SecretOutputFields = out.SecretFields()
	}

	env := runner.BaseEnv()
	vars := map[string]string{"pack_dir": packDir}
	builtin := ""
	if act.PackRef == "core" && isNative(ec) && pack.BuiltinEntryPoints[act.Entrypoint] == "action" {
		builtin = act.Entrypoint
	} else {
		renv, err := m.envs.Ensure(ctx, act.PackRef, rt)
		if err != nil {
			return nil, fmt.Errorf("runtime environment %s for pack %s: %w", rt.Ref, act.PackRef, err)
		}
		if err := m.command(&l.spec, act, ec, renv, vars); err != nil {
			return nil, err
		}
		if renv.Vars == nil {
			for name, ev := range ec.EnvVars {
				if !isAttuneVar(name) {
					applyEnvVar(env, name, ev, vars)
				}
			}
		}
		for k, v := range renv.Vars {
			if !isAttuneVar(k) { // runtimes may not set ATTUNE_*
				env[k] = v
			}
		}
	}
	if err := m.attuneEnv(ctx, env, ex, act, token, origin, artifacts); err != nil {
		return nil, err
	}
	userEnv, err := stringMap(ex.EnvVars, "execution env_vars")
	if err != nil {
		return nil, err
	}
	for k, v := range userEnv {
		if err := checkEnvName(k); err != nil {
			return nil, fmt.Errorf("execution env_vars: %w", err)
		}
		if !isAttuneVar(k) { // user values may not override ATTUNE_*
			env[k] = v
		}
	}
	switch builtin {
	case "local":
		if err := localSpec(&l.spec, params, env, packDir); err != nil {
			return nil, err
		}
	case "http_request":
		l.builtin = builtin
	}
	l.spec.Env = envList(env)
	return l, nil
}

// resolveParams merges execution.config, the action's keys and the schema
// defaults (spec §4.2 steps 2-3) and lists every secret value in them.
func (m *Module) resolveParams(ex store.Execution, act store.Action, keys map[string]any, keySecrets []string, keysErr error) (map[string]any, []string, error) {
	params := map[string]any{}
	if len(ex.Config) > 0 && string(ex.Config) != "null" {
		if err := json.Unmarshal(ex.Config, &params); err != nil {
			return nil, nil, fmt.Errorf("execution config: must be a JSON object: %w", err)
		}
	}
	if keysErr != nil {
		return nil, nil, keysErr
	}
	secrets := slices.Clone(keySecrets)
	maps.Copy(params, keys)
	schema, err := parseSchema(act.ParamSchema)
	if err != nil {
		return nil, nil, fmt.Errorf("action %s param_schema: %w", act.Ref, err)
	}
	if schema != nil {
		params = schema.ApplyDefaults(params)
		secrets = append(secrets, fieldValues(params, schema.SecretFields())...)
	}
	return params, secrets, nil
}

func parseSchema(raw json.RawMessage) (*pack.ParamSchema, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == "{}" {
		return nil, nil
	}
	return pack.CachedParamSchema(raw)
}

// resolveTimeout: execution.timeout_seconds → action.timeout_seconds → default.
func (m *Module) resolveTimeout(ex store.Execution, act store.Action) time.Duration {
	switch {
	case ex.TimeoutSeconds != nil && *ex.TimeoutSeconds > 0:
		return time.Duration(*ex.TimeoutSeconds) * time.Second
	case act.TimeoutSeconds != nil && *act.TimeoutSeconds > 0:
		return time.Duration(*act.TimeoutSeconds) * time.Second
	}
	return m.d.DefaultTimeout
}

func (m *Module) actionRuntime(ctx context.Context, act store.Action) (store.Runtime, error) {
	switch {
	case act.Runtime != nil:
		return m.d.Store.RuntimeGet(ctx, *act.Runtime)
	case act.RuntimeRef != nil && *act.RuntimeRef != "":
		return m.d.Store.RuntimeGetByRef(ctx, *act.RuntimeRef)
	}
	return store.Runtime{}, fmt.Errorf("action %s has no runtime", act.Ref)
}

// command sets the program and arguments: `<interpreter> <args>
// <packs_base_dir>/<pack>/actions/<entrypoint>`, the file itself for native
// runtimes, or the inline text for ad-hoc actions.
func (m *Module) command(s *runner.Spec, act store.Action, ec pack.ExecutionConfig, renv RuntimeEnv, vars map[string]string) error {
	actionsDir := filepath.Join(s.Dir, "actions")
	if renv.Dir != "" {
		vars["env_dir"] = renv.Dir
	}
	if act.IsAdhoc {
		if isNative(ec) {
			return fmt.Errorf("action %s: ad-hoc actions need an interpreter runtime", act.Ref)
		}
		s.Path = ec.Interpreter.Binary
		s.Args = []string{"-c", act.Entrypoint}
		return nil
	}
	file := filepath.Join(actionsDir, filepath.Clean("/"+act.Entrypoint))
	if act.Entrypoint == "" || !strings.HasPrefix(file, actionsDir+string(filepath.Separator)) {
		return fmt.Errorf("action %s: entry point %q is not a file under the pack's actions directory", act.Ref, act.Entrypoint)
	}
	vars["action_file"] = file
	if isNative(ec) {
		s.Path = file
		return nil
	}
	interp, args := ec.Interpreter.Binary, ec.Interpreter.Args
	if renv.Interpreter != "" {
		interp, args = renv.Interpreter, renv.Args
	}
	vars["interpreter"] = interp
	s.Path = expand(interp, vars)
	for _, a := range args {
		s.Args = append(s.Args, expand(a, vars))
	}
	s.Args = append(s.Args, file)
	return nil
}

// attuneEnv adds the ATTUNE_* variables of spec §4.2 step 6.
// enforcementRefs are the rule and trigger refs of the enforcement that
// started an execution; empty when the dispatch did not carry them.
type enforcementRefs struct{ rule, trigger string }

func (m *Module) attuneEnv(ctx context.Context, env map[string]string, ex store.Execution, act store.Action, token string, origin enforcementRefs, artifacts string) error {
	env["ATTUNE_EXEC_ID"] = fmt.Sprint(ex.ID)
	env["ATTUNE_ACTION"] = act.Ref
	env["ATTUNE_PACK_REF"] = act.PackRef
	env["ATTUNE_API_URL"] = strings.Replace(m.d.APIURL(), "0.0.0.0", "127.0.0.1", 1)
	env["ATTUNE_RUNTIME_ENVS_DIR"] = m.d.RuntimeEnvsDir
	env["ATTUNE_API_TOKEN"] = token
	if artifacts != "" {
		// One directory per execution, so actions that write fixed file
		// names cannot overwrite each other's artifacts.
		env["ATTUNE_ARTIFACTS_DIR"] = artifacts
	}
	if ex.Enforcement != nil {
		if origin.rule == "" && origin.trigger == "" {
			enf, err := m.d.Store.EnforcementGet(ctx, *ex.Enforcement)
			if err != nil {
				return fmt.Errorf("load enforcement %d: %w", *ex.Enforcement, err)
			}
			origin = enforcementRefs{rule: enf.RuleRef, trigger: enf.TriggerRef}
		}
		env["ATTUNE_RULE"] = origin.rule
		env["ATTUNE_TRIGGER"] = origin.trigger
	}
	return nil
}

// artifactsDir is the root of the per-execution artifacts directories
// (artifacts.go).
func (m *Module) artifactsDir() string {
	if m.d.DataDir == "" {
		return ""
	}
	return filepath.Join(m.d.DataDir, "artifacts")
}

func (m *Module) logDir() string {
	if m.d.Config.LogDir != "" {
		return m.d.Config.LogDir
	}
	return filepath.Join(m.d.DataDir, "logs")
}

func isAttuneVar(name string) bool {
	return strings.HasPrefix(strings.ToUpper(name), "ATTUNE_")
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// stringMap decodes a JSON object of environment values; non-string values
// keep their JSON text.
func stringMap(raw json.RawMessage, what string) (map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("%s: must be a JSON object: %w", what, err)
	}
	return anyStringMap(obj), nil
}

func anyStringMap(obj map[string]any) map[string]string {
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		if s, ok := v.(string); ok {
			out[k] = s
		} else if v != nil {
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out
}

func derefInt64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
