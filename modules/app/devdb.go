package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// devSecrets are generated once per data dir so dev tokens and encrypted
// keys survive restarts. The file is 0600 and never printed.
type devSecrets struct {
	JWTSecret     string `json:"jwt_secret"`
	EncryptionKey string `json:"encryption_key"`
}

// prepareDev fills what dev mode may generate: the data dir, and secrets
// that were not configured.
func prepareDev(cfg *Config, log *slog.Logger) error {
	// 0711: the private PostgreSQL may run as another user and must reach pgdata.
	if err := os.MkdirAll(cfg.DataDir, 0o711); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	if cfg.Security.JWTSecret != "" && cfg.Security.EncryptionKey != "" {
		return nil
	}
	path := filepath.Join(cfg.DataDir, "dev-secrets.json")
	var s devSecrets
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		s = devSecrets{JWTSecret: randomHex(32), EncryptionKey: randomHex(32)}
		b, _ := json.Marshal(s)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		log.Info("dev mode: generated secrets", "file", path)
	default:
		return fmt.Errorf("read %s: %w", path, err)
	}
	if cfg.Security.JWTSecret == "" {
		cfg.Security.JWTSecret = s.JWTSecret
	}
	if cfg.Security.EncryptionKey == "" {
		cfg.Security.EncryptionKey = s.EncryptionKey
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// devDatabase is a private PostgreSQL cluster run as a child process, used
// in dev mode when no server answers at database.url.
type devDatabase struct {
	cmd  *exec.Cmd
	done chan error
	log  *slog.Logger
}

// ensureDevDatabase returns nil when database.url answers. Otherwise, if
// PostgreSQL binaries are installed and the URL points at this machine, it
// starts a private cluster in <data_dir>/pgdata on the URL's port.
func ensureDevDatabase(ctx context.Context, cfg Config, log *slog.Logger) (*devDatabase, error) {
	pcfg, err := pgx.ParseConfig(cfg.Database.URL)
	if err != nil {
		return nil, fmt.Errorf("database.url: %w", err)
	}
	addr := net.JoinHostPort(pcfg.Host, strconv.Itoa(int(pcfg.Port)))
	if reachable(addr) {
		return nil, nil
	}
	if !cfg.Database.Embedded || !isLocal(pcfg.Host) {
		return nil, fmt.Errorf("no PostgreSQL answers at %s", addr)
	}
	bin, err := findPostgresBin()
	if err != nil {
		return nil, fmt.Errorf("no PostgreSQL answers at %s and %w", addr, err)
	}
	dataDir, err := filepath.Abs(filepath.Join(cfg.DataDir, "pgdata"))
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		log.Info("dev mode: creating a private PostgreSQL cluster", "dir", dataDir)
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, err
		}
		if cred != nil {
			_ = os.Chown(dataDir, int(cred.Uid), int(cred.Gid))
		}
		initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", dataDir, "-U", pcfg.User,
			"--auth=trust", "--encoding=UTF8", "--no-sync")
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, out)
		}
	}
	sockDir := filepath.Join(dataDir, "sock")
	_ = os.MkdirAll(sockDir, 0o700)
	if cred != nil {
		_ = os.Chown(sockDir, int(cred.Uid), int(cred.Gid))
	}
	// A child (not pg_ctl's daemon) so it cannot outlive us: it gets its own
	// process group, is stopped with SIGINT (fast shutdown) and waited for.
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", dataDir, "-p", strconv.Itoa(int(pcfg.Port)),
		"-h", pcfg.Host, "-k", sockDir, "-c", "fsync=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGINT}
	logFile, _ := os.OpenFile(filepath.Join(cfg.DataDir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start private postgres: %w", err)
	}
	d := &devDatabase{cmd: cmd, done: make(chan error, 1), log: log}
	go func() { d.done <- cmd.Wait(); _ = logFile.Close() }()
	// Its port opens before it accepts sessions ("the database system is
	// starting up"): ready means a session could be opened.
	for !accepting(ctx, pcfg) {
		select {
		case err := <-d.done:
			d.done <- err
			return nil, fmt.Errorf("private postgres exited: %v (see %s)", err, filepath.Join(cfg.DataDir, "postgres.log"))
		case <-ctx.Done():
			_ = d.stop()
			return nil, fmt.Errorf("private postgres did not start: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	log.Info("dev mode: private PostgreSQL running", "addr", addr, "dir", dataDir)
	return d, nil
}

func (d *devDatabase) stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
	return nil
}

// accepting reports whether the server behind cfg opens a session on its
// maintenance database.
func accepting(ctx context.Context, cfg *pgx.ConnConfig) bool {
	c := cfg.Copy()
	c.Database = "postgres"
	c.ConnectTimeout = 500 * time.Millisecond
	conn, err := pgx.ConnectConfig(ctx, c)
	if err != nil {
		return false
	}
	_ = conn.Close(context.WithoutCancel(ctx))
	return true
}

func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func isLocal(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// findPostgresBin locates initdb: on PATH, else Debian's versioned dir.
func findPostgresBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	return "", errors.New("no PostgreSQL binaries (initdb) are installed")
}

// postgresCredential: PostgreSQL refuses to run as root, so as root we run
// it as the `postgres` user; otherwise as ourselves.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root needs a `postgres` user to run a private PostgreSQL")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
