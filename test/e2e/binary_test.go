package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binPath is the attune binary built once for the package (TestMain).
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "attune-e2e-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "attune")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build attune:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the environment for child processes: ours minus any attune
// configuration, so a developer's shell cannot change what a test sees.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ATTUNE_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runAttune runs a short attune command and returns its exit code and output.
func runAttune(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.String(), stderr.String()
}

// process is a long-running `attune serve`.
type process struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String() + p.stderr.String()
}

// startServe starts `attune serve` with the given args on a free port and
// stops it (SIGKILL if needed) at cleanup.
func startServe(t *testing.T, dir string, env []string, args ...string) *process {
	t.Helper()
	port := freePort(t)
	p := &process{url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	p.cmd = exec.Command(binPath, append([]string{"serve", "--port", fmt.Sprint(port)}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = cleanEnv(env...)
	p.cmd.Stdout = lockedWriter{&p.mu, &p.stdout}
	p.cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %v:\n%s", p.cmd.Args, p.output())
		}
	})
	return p
}

// waitStatus polls path until it answers want, or fails after timeout.
func (p *process) waitStatus(t *testing.T, path string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := 0
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("process exited (%v) while waiting for %s=%d:\n%s", p.err, path, want, p.output())
		default:
		}
		resp, err := http.Get(p.url + path)
		if err == nil {
			last = resp.StatusCode
			resp.Body.Close()
			if last == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %d within %s (last %d):\n%s", path, want, timeout, last, p.output())
}

// stop sends sig and returns the exit code.
func (p *process) stop(t *testing.T, sig syscall.Signal, timeout time.Duration) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("process did not exit within %s after %v:\n%s", timeout, sig, p.output())
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", p.err)
	return -1
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeConfig writes an attune.yaml into a new directory and returns it.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "attune.yaml"), []byte(body), 0o600))
	return dir
}

// prodConfig is a non-dev configuration with strong secrets.
func prodConfig(dsn, amqp, prefix string) string {
	return fmt.Sprintf(`database:
  url: %q
message_queue:
  url: %q
  prefix: %q
security:
  jwt_secret: 3f9a1c7e5b2d8046f1e9a3c5b7d2e4f6a8c0b1d3e5f7a9c2
  encryption_key: 9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f
  admin_password: Adm1n-e2e-Passw0rd
shutdown:
  grace_period: 10s
log:
  level: info
  format: json
`, dsn, amqp, prefix)
}
