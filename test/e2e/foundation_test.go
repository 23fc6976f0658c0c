package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app/apptest"
	"github.com/attune-system/attune/modules/store/storetest"
)

func TestMigrateUpResetUpAndConcurrentUp(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewEmptyDatabase(t)
	dir := writeConfig(t, "{}\n")
	for _, step := range []string{"up", "reset", "up"} {
		code, out, errOut := runAttune(t, dir, nil, "migrate", step, "--database-url", dsn)
		require.Equal(t, 0, code, "migrate %s: %s%s", step, out, errOut)
	}
	code, out, _ := runAttune(t, dir, nil, "migrate", "status", "--database-url", dsn)
	require.Equal(t, 0, code)
	require.Contains(t, out, "00001")
	require.NotContains(t, out, " no\n", "every migration applied")

	fresh := storetest.NewEmptyDatabase(t)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	outs := make([]string, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, o, e := runAttune(t, dir, nil, "migrate", "up", "--database-url", fresh)
			codes[i], outs[i] = c, o+e
		}()
	}
	wg.Wait()
	require.Equal(t, []int{0, 0}, codes, "both concurrent runs succeed: %v", outs)
}

func TestBogusRoleListsValidRoles(t *testing.T) {
	t.Parallel()
	code, _, errOut := runAttune(t, writeConfig(t, "{}\n"), nil, "serve", "--roles=bogus")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "unknown role(s) bogus; valid roles: api, executor, notifier, sensor, worker, all")
}

func TestRoleSplitWithoutBrokerFails(t *testing.T) {
	t.Parallel()
	dir := writeConfig(t, prodConfig("postgres://postgres@127.0.0.1:5432/x?sslmode=disable", "", ""))
	code, _, errOut := runAttune(t, dir, nil, "serve", "--roles=api")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "need a message broker")
	require.Contains(t, errOut, "ATTUNE__MESSAGE_QUEUE__URL")
}

func TestBadConfigurationIsNamed(t *testing.T) {
	t.Parallel()
	dir := writeConfig(t, "server:\n  port: 8080\n\thost: oops\n")
	code, _, errOut := runAttune(t, dir, nil, "config", "show")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "attune.yaml")
	require.Contains(t, errOut, "line 3")

	dir = writeConfig(t, "servr:\n  port: 1\n")
	code, _, errOut = runAttune(t, dir, nil, "config", "show")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "attune.yaml: key servr.port: unknown configuration key")

	code, _, errOut = runAttune(t, writeConfig(t, "dev: true\n"), []string{"ATTUNE__SERVER__PORT=http"}, "config", "show")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `environment variable ATTUNE__SERVER__PORT: invalid value "http" for an integer`)

	code, out, _ := runAttune(t, writeConfig(t, "dev: true\nsecurity:\n  jwt_secret: abcdefghijklmnopqrstuvwxyz0123456789\n"),
		[]string{"ATTUNE__DATABASE__URL=postgres://u@db:5432/attune"}, "config", "show")
	require.Equal(t, 0, code)
	require.Contains(t, out, "url: postgres://u@db:5432/attune")
	require.Contains(t, out, "jwt_secret: <redacted>")
	require.NotContains(t, out, "abcdefghijklmnopqrstuvwxyz")
}

func TestProductionRefusesMissingSecrets(t *testing.T) {
	t.Parallel()
	dir := writeConfig(t, "database:\n  url: postgres://postgres@127.0.0.1:5432/x?sslmode=disable\n")
	code, _, errOut := runAttune(t, dir, nil, "serve", "--roles=all")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "security.jwt_secret: required outside dev mode")
}

func TestRolesSplitAcrossProcessesEachBecomeReady(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	prefix := apptest.RandomPrefix()
	apptest.CleanupBroker(t, dsn, prefix)
	dir := writeConfig(t, prodConfig(dsn, apptest.AMQPURL(), prefix))
	var procs []*process
	for _, roles := range []string{"api", "executor", "worker,sensor", "notifier"} {
		procs = append(procs, startServe(t, dir, nil, "--roles="+roles))
	}
	for _, p := range procs {
		p.waitStatus(t, "/readyz", 200, 60*time.Second)
	}
	for _, p := range procs {
		require.Equal(t, 0, p.stop(t, syscall.SIGTERM, 30*time.Second), p.output())
	}
}

func TestReadyzFollowsPostgresOutage(t *testing.T) {
	t.Parallel()
	pg := startPrivatePostgres(t)
	dir := writeConfig(t, prodConfig(pg.URL("postgres"), "", ""))
	code, out, errOut := runAttune(t, dir, nil, "migrate", "up")
	require.Equal(t, 0, code, out+errOut)

	p := startServe(t, dir, nil, "--roles=all")
	p.waitStatus(t, "/readyz", 200, 60*time.Second)
	pg.stop(t)
	p.waitStatus(t, "/readyz", 503, 30*time.Second)
	p.waitStatus(t, "/livez", 200, 5*time.Second)
	pg.start(t)
	p.waitStatus(t, "/readyz", 200, 60*time.Second)
	require.Equal(t, 0, p.stop(t, syscall.SIGTERM, 30*time.Second))
}

// TestDevModeOnAFreshMachine is `make run`: dev config, nothing prepared.
// With no server at database.url it starts a private cluster; Ctrl-C exits 0
// and leaves no child process behind.
func TestDevModeOnAFreshMachine(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("initdb"); err != nil {
		postgresBin(t)
	}
	pgPort := freePort(t)
	root, err := os.MkdirTemp("", "attune-dev-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(root, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	require.NoError(t, os.WriteFile(filepath.Join(root, "attune.yaml"), []byte(fmt.Sprintf(
		"dev: true\ndata_dir: .attune\ndatabase:\n  url: postgres://postgres@127.0.0.1:%d/attune?sslmode=disable\n  auto_migrate: true\n", pgPort)), 0o600))

	begin := time.Now()
	p := startServe(t, root, nil, "--roles=all")
	p.waitStatus(t, "/readyz", 200, 60*time.Second)
	t.Logf("dev mode ready in %s (including initdb)", time.Since(begin))
	require.Eventually(t, func() bool { return strings.Contains(p.output(), "Attune is ready at "+p.url) },
		5*time.Second, 20*time.Millisecond, "make run prints where to go")
	require.FileExists(t, filepath.Join(root, ".attune", "dev-secrets.json"))
	info, err := os.Stat(filepath.Join(root, ".attune", "dev-secrets.json"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	code, out, errOut := runAttune(t, root, nil, "pack", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "core", "a fresh install has the core pack registered")

	children := childPIDs(p.cmd.Process.Pid)
	require.NotEmpty(t, children, "the private postgres runs as a child")
	require.Equal(t, 0, p.stop(t, syscall.SIGINT, 40*time.Second), p.output())
	for _, pid := range children {
		require.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil }, 10*time.Second, 50*time.Millisecond,
			"child %d still running after exit", pid)
	}
}

// childPIDs lists the direct children of pid from /proc (a Go process forks
// from any of its threads, so every task's list is read).
func childPIDs(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			var c int
			if _, err := fmt.Sscan(field, &c); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}
