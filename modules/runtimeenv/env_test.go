package runtimeenv_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/runtimeenv"
	"github.com/attune-system/attune/modules/runtimeenv/envtest"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

type fx struct {
	st       *store.Store
	mgr      *runtimeenv.Manager
	svc      *packsvc.Service
	envsDir  string
	packsDir string
}

func setup(t *testing.T) fx {
	t.Helper()
	st := storetest.NewStore(t)
	dir := t.TempDir()
	f := fx{st: st, envsDir: filepath.Join(dir, "envs"), packsDir: filepath.Join(dir, "packs")}
	f.mgr = runtimeenv.NewManager(st, f.envsDir, f.packsDir, nil)
	svc, err := packsvc.New(packsvc.Options{Store: st, PacksDir: f.packsDir})
	require.NoError(t, err)
	f.svc = svc
	_, err = svc.EnsureCore(ctx(t))
	require.NoError(t, err)
	return f
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

func write(t *testing.T, path, content string) { envtest.Write(t, path, content) }

func pythonPack(t *testing.T, ref, version string) string { return envtest.PythonPack(t, ref, version) }

func runtimeByRef(t *testing.T, st *store.Store, ref string) store.Runtime {
	rt, err := st.RuntimeGetByRef(context.Background(), ref)
	require.NoError(t, err)
	return rt
}

func greetVersion(t *testing.T, env runtimeenv.Env) string {
	out, err := exec.Command(env.Interpreter, "-c", "import greetlib; print(greetlib.VERSION)").CombinedOutput()
	require.NoError(t, err, string(out))
	return strings.TrimSpace(string(out))
}

func TestPythonEnvsIsolatedAndRebuilt(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := ctx(t)
	for ref, v := range map[string]string{"pya": "1.0", "pyb": "2.0"} {
		_, err := f.svc.Register(c, pythonPack(t, ref, v), packsvc.RegisterOptions{SkipEnvs: true})
		require.NoError(t, err)
	}
	py := runtimeByRef(t, f.st, "core.python")
	a, err := f.mgr.Ensure(c, "pya", py)
	require.NoError(t, err)
	b, err := f.mgr.Ensure(c, "pyb", py)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(f.envsDir, "pya", "python"), a.Dir)
	require.True(t, filepath.IsAbs(a.Interpreter))
	require.Equal(t, filepath.Join(a.Dir, "bin", "python3"), a.Interpreter)
	require.Equal(t, "1.0", greetVersion(t, a))
	require.Equal(t, "2.0", greetVersion(t, b))
	require.Equal(t, filepath.Join(f.packsDir, "pya", "lib")+suffix(os.Getenv("PYTHONPATH")), a.Vars["PYTHONPATH"])

	rows, err := f.st.PackEnvironmentListByPack(c, "pya")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, store.EnvReady, rows[0].Status)
	require.Contains(t, *rows[0].InstallLog, "greetlib")
	require.Nil(t, rows[0].ClaimedBy)
	installed := *rows[0].InstalledAt

	// Idempotent: a second Ensure does not rebuild.
	again, err := f.mgr.Ensure(c, "pya", py)
	require.NoError(t, err)
	require.Equal(t, a.Interpreter, again.Interpreter)
	rows, _ = f.st.PackEnvironmentListByPack(c, "pya")
	require.Equal(t, installed, *rows[0].InstalledAt)

	// Broken: a dangling interpreter symlink triggers a rebuild.
	require.NoError(t, os.Remove(a.Interpreter))
	require.NoError(t, os.Symlink("/nonexistent/python3", a.Interpreter))
	fixed, err := f.mgr.Ensure(c, "pya", py)
	require.NoError(t, err)
	require.Equal(t, "1.0", greetVersion(t, fixed))
	rows, _ = f.st.PackEnvironmentListByPack(c, "pya")
	require.True(t, rows[0].InstalledAt.After(installed))
}

func suffix(cur string) string {
	if cur == "" {
		return ""
	}
	return ":" + cur
}

func TestNodeEnvWithNpmDependency(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	f := setup(t)
	c := ctx(t)
	dir := envtest.NodePack(t, "nodey")
	mgr := runtimeenv.NewManager(f.st, f.envsDir, f.packsDir, nil)
	svc, err := packsvc.New(packsvc.Options{Store: f.st, PacksDir: f.packsDir, Envs: mgr})
	require.NoError(t, err)
	res, err := svc.Register(c, dir, packsvc.RegisterOptions{})
	require.NoError(t, err)
	require.Len(t, res.Envs, 1)
	require.Empty(t, res.Envs[0].Error, "registration builds the environment best-effort")

	env, err := mgr.Ensure(c, "nodey", runtimeByRef(t, f.st, "core.nodejs"))
	require.NoError(t, err)
	require.Equal(t, filepath.Join(f.envsDir, "nodey", "node.js", "node_modules"), env.Vars["NODE_PATH"])
	require.True(t, filepath.IsAbs(env.Interpreter))
	cmd := exec.Command(env.Interpreter, filepath.Join(f.packsDir, "nodey", "actions", "n.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+env.Vars["NODE_PATH"])
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "true", strings.TrimSpace(string(out)))
	_, err = os.Stat(filepath.Join(f.packsDir, "nodey", "node_modules"))
	require.True(t, os.IsNotExist(err), "nothing is written inside the pack")
}

func TestConcurrentEnsureBuildsOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := ctx(t)
	dir := filepath.Join(t.TempDir(), "slow")
	write(t, filepath.Join(dir, "pack.yaml"), "ref: slow\nlabel: S\ndescription: d\nversion: 1.0.0\n")
	write(t, filepath.Join(dir, "runtimes", "slow.yaml"), `ref: slow.slow
name: Slow
execution_config:
  interpreter: {binary: sh}
  environment:
    env_type: virtualenv
    create_command: ["sh", "-c", "echo built >> {env_dir}.count; sleep 1; mkdir -p {env_dir}/bin; ln -s /bin/sh {env_dir}/bin/sh"]
    interpreter_path: "{env_dir}/bin/sh"
`)
	_, err := f.svc.Register(c, dir, packsvc.RegisterOptions{})
	require.NoError(t, err)
	rt := runtimeByRef(t, f.st, "slow.slow")
	other := runtimeenv.NewManager(f.st, f.envsDir, f.packsDir, nil)
	other.PollInterval = 50 * time.Millisecond
	var wg sync.WaitGroup
	envs := make([]runtimeenv.Env, 4)
	errs := make([]error, 4)
	for i := range 4 {
		m := f.mgr
		if i%2 == 1 {
			m = other
		}
		wg.Add(1)
		go func() { defer wg.Done(); envs[i], errs[i] = m.Ensure(c, "slow", rt) }()
	}
	wg.Wait()
	for i := range 4 {
		require.NoError(t, errs[i])
		require.Equal(t, filepath.Join(f.envsDir, "slow", "slow", "bin", "sh"), envs[i].Interpreter)
	}
	count, err := os.ReadFile(filepath.Join(f.envsDir, "slow", "slow.count"))
	require.NoError(t, err)
	require.Equal(t, "built\n", string(count), "built exactly once")
}

func TestPlainRuntimeAndDetect(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := ctx(t)
	sh, err := f.mgr.Ensure(c, "core", runtimeByRef(t, f.st, "core.shell"))
	require.NoError(t, err)
	require.Equal(t, "/bin/sh", sh.Interpreter)
	require.Empty(t, sh.Dir)
	native, err := f.mgr.Ensure(c, "core", runtimeByRef(t, f.st, "core.native"))
	require.NoError(t, err)
	require.Empty(t, native.Interpreter)

	rts, err := f.st.RuntimeList(c)
	require.NoError(t, err)
	got := f.mgr.DetectRuntimes(c, rts)
	require.Contains(t, got, "shell")
	require.Contains(t, got, "native")
	require.Contains(t, got, "python") // python3 is installed on the test machine

	f.mgr.Override = []string{"node"}
	require.Equal(t, []string{"node.js"}, f.mgr.DetectRuntimes(c, rts))
}
