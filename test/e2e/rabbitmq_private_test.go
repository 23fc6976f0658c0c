package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rabbitmqBin holds the Debian package's real scripts. The /usr/sbin
// wrappers are not used: as root they `su rabbitmq` into /var/lib/rabbitmq,
// whose HOME (and so Erlang cookie) belongs to the shared node.
const rabbitmqBin = "/usr/lib/rabbitmq/bin"

// privateRabbitMQ is a throwaway single RabbitMQ node the test may stop and
// start, so broker outages can be tested without touching the shared broker
// on 5672. It has its own node name, AMQP and distribution ports, data and
// log directories, Erlang cookie and no plugins (so no management listener).
type privateRabbitMQ struct {
	t    *testing.T
	node string
	port int
	dir  string
	env  []string
	cred *syscall.Credential

	cmd  *exec.Cmd     // the running rabbitmq-server, nil when stopped
	done chan struct{} // closed when cmd exited
}

// URL is the AMQP URL of the node (guest is allowed over loopback).
func (r *privateRabbitMQ) URL() string {
	return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", r.port)
}

// startPrivateRabbitMQ starts a node and stops it (then kills whatever is
// left of its process group) at cleanup. It skips only when RabbitMQ is not
// installed; any other start-up problem fails the test.
func startPrivateRabbitMQ(t *testing.T) *privateRabbitMQ {
	t.Helper()
	if _, err := os.Stat(filepath.Join(rabbitmqBin, "rabbitmq-server")); err != nil {
		t.Skip("rabbitmq-server not installed (" + rabbitmqBin + ")")
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	r := &privateRabbitMQ{t: t, node: "attune-t" + hex.EncodeToString(suffix) + "@localhost", port: freePort(t)}
	distPort := freePort(t)
	for distPort == r.port {
		distPort = freePort(t)
	}
	root, err := os.MkdirTemp("", "attune-rmq-")
	require.NoError(t, err)
	// The server runs as the rabbitmq user, which must reach its directory.
	require.NoError(t, os.Chmod(root, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	r.dir = root
	home := filepath.Join(root, "home")
	for _, d := range []string{home, filepath.Join(root, "mnesia"), filepath.Join(root, "log")} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	// A cookie of our own: the node and rabbitmqctl both read $HOME/.erlang.cookie.
	cookie := make([]byte, 16)
	_, _ = rand.Read(cookie)
	files := map[string]string{
		// Empty, so /etc/rabbitmq/rabbitmq-env.conf (the shared node's
		// NODENAME) is not sourced.
		"rabbitmq-env.conf":   "",
		"rabbitmq.conf":       fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\n", r.port),
		"enabled_plugins":     "[].\n",
		"home/.erlang.cookie": strings.ToUpper(hex.EncodeToString(cookie)),
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(body), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(home, ".erlang.cookie"), 0o400))
	if os.Geteuid() == 0 {
		// Run the broker unprivileged, as the package does.
		if u, err := user.Lookup("rabbitmq"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
			require.NoError(t, filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(p, uid, gid)
			}))
		}
	}
	r.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"LANG=C.UTF-8",
		"RABBITMQ_NODENAME=" + r.node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		fmt.Sprintf("RABBITMQ_NODE_PORT=%d", r.port),
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", distPort),
		"RABBITMQ_CONF_ENV_FILE=" + filepath.Join(root, "rabbitmq-env.conf"),
		"RABBITMQ_CONFIG_FILE=" + filepath.Join(root, "rabbitmq"),
		"RABBITMQ_ENABLED_PLUGINS_FILE=" + filepath.Join(root, "enabled_plugins"),
		"RABBITMQ_MNESIA_BASE=" + filepath.Join(root, "mnesia"),
		"RABBITMQ_LOG_BASE=" + filepath.Join(root, "log"),
		"RABBITMQ_PID_FILE=" + filepath.Join(root, "rabbitmq.pid"),
		// Distribution only on loopback, like the shared node.
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
	}
	t.Cleanup(r.cleanup)
	require.NoError(t, r.start(), r.log())
	return r
}

// start launches rabbitmq-server in its own process group and waits until it
// accepts AMQP connections and reports the rabbit application running.
func (r *privateRabbitMQ) start() error {
	out, err := os.OpenFile(filepath.Join(r.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(filepath.Join(rabbitmqBin, "rabbitmq-server"))
	cmd.Dir = filepath.Join(r.dir, "home")
	cmd.Env = r.env
	// A file, never a pipe: Erlang helpers inherit the descriptors.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start rabbitmq-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	// The AMQP listener opens last in the boot sequence; await_startup then
	// confirms the application is fully up (it fails fast before the node
	// registered with epmd, hence the port poll first).
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("rabbitmq-server exited during start-up")
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rabbitmq node %s did not open port %d within 90s", r.node, r.port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r.ctl(60*time.Second, "await_startup", "--timeout", "60")
}

// stop stops the whole node (not just the rabbit application) and waits for
// its OS processes to exit.
func (r *privateRabbitMQ) stop() error {
	if r.cmd == nil {
		return nil
	}
	if err := r.ctl(60*time.Second, "stop"); err != nil {
		return err
	}
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		return fmt.Errorf("rabbitmq node %s still running 60s after stop", r.node)
	}
	r.cmd, r.done = nil, nil
	return nil
}

// ctl runs rabbitmqctl against the node with the node's cookie.
func (r *privateRabbitMQ) ctl(timeout time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := os.CreateTemp("", "rabbitmqctl-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(rabbitmqBin, "rabbitmqctl"), append([]string{"-n", r.node}, args...)...)
	cmd.Dir = filepath.Join(r.dir, "home")
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		return fmt.Errorf("rabbitmqctl %v: %w: %s", args, err, b)
	}
	return nil
}

// log is the tail of the server's output, for failure messages.
func (r *privateRabbitMQ) log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "server.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// cleanup stops the node gracefully, then kills its process group if it
// lingers, so no beam process or epmd registration outlives the test.
func (r *privateRabbitMQ) cleanup() {
	if r.cmd == nil {
		return
	}
	if err := r.ctl(30*time.Second, "stop"); err != nil {
		r.t.Logf("stop private rabbitmq: %v", err)
	}
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		// The script is not reaped yet, so its group id is still ours; the
		// group also holds beam, erl_child_setup and inet_gethost.
		r.t.Logf("private rabbitmq %s did not stop; killing it", r.node)
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
	if r.t.Failed() {
		r.t.Logf("private rabbitmq output:\n%s", r.log())
	}
}
