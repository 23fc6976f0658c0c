package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// privatePostgres is a throwaway PostgreSQL cluster the test may stop and
// start, so outages can be tested without touching the shared server.
type privatePostgres struct {
	bin, dir string
	port     int
	cred     *syscall.Credential
}

func (p *privatePostgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

func postgresBin(t *testing.T) string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		t.Skip("PostgreSQL server binaries not installed")
	}
	return filepath.Dir(matches[len(matches)-1])
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	p := &privatePostgres{bin: postgresBin(t), port: freePort(t)}
	root, err := os.MkdirTemp("", "attune-pg-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(root, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	p.dir = filepath.Join(root, "data")
	require.NoError(t, os.Mkdir(p.dir, 0o700))
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root needs a postgres user")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		require.NoError(t, os.Chown(p.dir, uid, gid))
	}
	p.run(t, "initdb", "-D", p.dir, "-U", "postgres", "--auth=trust", "--no-sync")
	p.start(t)
	t.Cleanup(func() { _ = p.ctl("stop", "-m", "immediate") })
	return p
}

func (p *privatePostgres) run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", name, out)
}

func (p *privatePostgres) ctl(args ...string) error {
	args = append(args, "-D", p.dir, "-w")
	cmd := exec.Command(filepath.Join(p.bin, "pg_ctl"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	// Output goes to a file, not a pipe: a postmaster started without -l
	// inherits pg_ctl's stdout and would keep a pipe open forever.
	out, err := os.CreateTemp("", "pg_ctl-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		return fmt.Errorf("pg_ctl %v: %w: %s", args, err, b)
	}
	return nil
}

func (p *privatePostgres) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", p.port, p.dir)
	require.NoError(t, p.ctl("start", "-o", opts, "-l", filepath.Join(p.dir, "log")))
}

func (p *privatePostgres) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.ctl("stop", "-m", "fast"))
}
