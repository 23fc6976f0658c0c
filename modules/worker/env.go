package worker

import (
	"context"
	"slices"
	"strings"

	"github.com/attune-system/attune/modules/runtimeenv"
	"github.com/attune-system/attune/modules/store"
)

// RuntimeEnv is a prepared per-pack runtime environment (spec §4.3).
type RuntimeEnv struct {
	// Dir is {runtime_envs_dir}/{pack_ref}/{runtime_name_lower}; "" when the
	// runtime has no environment.
	Dir string
	// Interpreter, when non-empty, replaces interpreter.binary and Args
	// replace interpreter.args.
	Interpreter string
	Args        []string
	// Vars are the runtime's env_vars, already expanded. When nil the worker
	// expands execution_config.env_vars itself.
	Vars map[string]string
}

// EnvProvider builds runtime environments and detects runtimes. The default
// is modules/runtimeenv's Manager; tests or embedders may substitute one.
type EnvProvider interface {
	Ensure(ctx context.Context, packRef string, rt store.Runtime) (RuntimeEnv, error)
	DetectRuntimes(ctx context.Context, rts []store.Runtime) []string
}

func defaultEnvProvider(d Deps) EnvProvider {
	return managerEnvs{runtimeenv.NewManager(d.Store, d.RuntimeEnvsDir, d.PacksBaseDir, d.Log)}
}

// managerEnvs adapts runtimeenv.Manager to EnvProvider.
type managerEnvs struct{ m *runtimeenv.Manager }

func (a managerEnvs) Ensure(ctx context.Context, packRef string, rt store.Runtime) (RuntimeEnv, error) {
	e, err := a.m.Ensure(ctx, packRef, rt)
	if err != nil {
		return RuntimeEnv{}, err
	}
	vars := e.Vars
	if vars == nil {
		vars = map[string]string{}
	}
	return RuntimeEnv{Dir: e.Dir, Interpreter: e.Interpreter, Args: e.Args, Vars: vars}, nil
}

func (a managerEnvs) DetectRuntimes(ctx context.Context, rts []store.Runtime) []string {
	return a.m.DetectRuntimes(ctx, rts)
}

// capabilityRuntimes is what the worker advertises: the detected runtime
// names plus the aliases of those runtimes, lowercased, with shell and native
// always present (the worker itself provides them).
func capabilityRuntimes(detected []string, rts []store.Runtime) []string {
	set := map[string]bool{"shell": true, "native": true}
	for _, n := range detected {
		set[strings.ToLower(n)] = true
	}
	for _, rt := range rts {
		if set[strings.ToLower(rt.Name)] {
			for _, a := range rt.Aliases {
				set[strings.ToLower(a)] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
