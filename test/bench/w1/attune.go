package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

const adminPassword = "W1-bench-Adm1n-Passw0rd"

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// benchAttune measures one topology: "inproc" (roles=all, in-process bus) or
// "split" (api, executor×2, worker×2 over RabbitMQ with a fresh prefix).
// benchAttune measures W1 against one topology. after, when set, runs with
// the API URL and the process-tree root once the measurements are done.
func benchAttune(o options, topo string, after func(api string, pid int)) (row, error) {
	ctx := context.Background()
	suffix := randHex(5)
	admin := envOr("ATTUNE_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	dsn, drop, err := createDatabase(ctx, admin, "w1_"+suffix)
	if err != nil {
		return row{}, err
	}
	if os.Getenv("W1_KEEP") != "" {
		// W1_KEEP keeps the databases and the work directory (logs) of a run
		// for investigation, e.g. stage latencies from the rows' times.
		fmt.Fprintf(os.Stderr, "w1: %s database kept: %s\n", topo, dsn)
	} else {
		defer drop()
	}
	attuneDSN := viaSocket(dsn, o.pgSocket)
	fmt.Fprintf(os.Stderr, "w1: %s reaches PostgreSQL at %s\n", topo, attuneDSN)
	dir := filepath.Join(o.work, topo)
	result := filepath.Join(dir, "result.txt")
	amqp, prefix := "", ""
	if topo == "split" {
		amqp, prefix = envOr("ATTUNE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), "w1"+suffix+"."
		defer cleanupBroker(ctx, dsn, amqp, prefix)
	}
	base := fmt.Sprintf("database: {url: %q}\nmessage_queue: {url: %q, prefix: %q}\n"+
		"security: {jwt_secret: 5c1e9a7d3b8f2a4e6c0d9b1f3a5e7c9d2b4f6a8c, encryption_key: 8a6c4e2f0d9b7a5c3e1f8d6b4a2c0e9f7d5b3a1c, admin_password: %s}\n"+
		"packs_base_dir: %s/packs\nruntime_envs_dir: %s/envs\nlog: {level: warn, format: json}\n"+
		"worker: {max_concurrent_tasks: 16}\n", attuneDSN, amqp, prefix, adminPassword, dir, dir)
	cfgFor := func(name string) (string, error) {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", err
		}
		body := base + "data_dir: " + d + "/data\n" + strings.Replace("worker: {max_concurrent_tasks: 16, name: NAME}\n", "NAME", topo+"-"+name, 1)
		body = strings.Replace(body, "worker: {max_concurrent_tasks: 16}\n", "", 1)
		return d, os.WriteFile(filepath.Join(d, "attune.yaml"), []byte(body), 0o600)
	}
	cli, err := cfgFor("cli")
	if err != nil {
		return row{}, err
	}
	if out, err := attuneCmd(o, cli, "migrate", "up").CombinedOutput(); err != nil {
		return row{}, fmt.Errorf("migrate: %w: %s", err, out)
	}
	roles := []string{"all"}
	if topo == "split" {
		roles = []string{"api", "executor", "executor", "worker", "worker", "sensor"}
	}
	// One shell parents every process so loadgen's -pid sees the whole tree.
	apiAddr, _ := freeAddr()
	var script strings.Builder
	for i, r := range roles {
		d, err := cfgFor(fmt.Sprintf("%s%d", r, i))
		if err != nil {
			return row{}, err
		}
		port := "0"
		if i == 0 {
			port = strings.Split(apiAddr, ":")[1]
		} else {
			a, _ := freeAddr()
			port = strings.Split(a, ":")[1]
		}
		fmt.Fprintf(&script, "cd %q && %q serve --port %s --roles=%s >%q 2>&1 &\n", d, o.attune, port, r, filepath.Join(d, "log"))
	}
	script.WriteString("wait\n")
	tree := exec.Command("/bin/sh", "-c", script.String())
	tree.Env = cleanEnv()
	tree.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := tree.Start(); err != nil {
		return row{}, err
	}
	defer func() {
		_ = syscall.Kill(-tree.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = tree.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-tree.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	apiURL := "http://" + apiAddr
	if err := waitReady(apiURL, 60*time.Second); err != nil {
		return row{}, fmt.Errorf("%w (logs under %s)", err, dir)
	}
	hook, err := enableWebhook(apiURL)
	if err != nil {
		return row{}, err
	}
	pack, err := writeW1Pack(dir, result)
	if err != nil {
		return row{}, err
	}
	if out, err := attuneCmd(o, cli, "pack", "register", pack).CombinedOutput(); err != nil {
		return row{}, fmt.Errorf("pack register: %w: %s", err, out)
	}
	r, err := measure(o, "attune "+topo, hook, result, tree.Process.Pid)
	if err == nil && after != nil {
		after(apiURL, tree.Process.Pid)
	}
	return r, err
}

func attuneCmd(o options, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(o.attune, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	return cmd
}

// cleanEnv drops ATTUNE_* so the developer's shell cannot change the run;
// ATTUNE_PPROF_ADDR stays so a `-tags pprof` build can be profiled under load.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ATTUNE_") || strings.HasPrefix(kv, "ATTUNE_PPROF_ADDR=") {
			env = append(env, kv)
		}
	}
	return env
}

func waitReady(api string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(api + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s/readyz not 200 within %s", api, d)
}

// enableWebhook logs in as admin and enables core.webhook's webhook,
// returning its URL.
func enableWebhook(api string) (string, error) {
	token, err := loginAdmin(api)
	if err != nil {
		return "", err
	}
	var hook struct {
		Data struct {
			WebhookKey string `json:"webhook_key"`
			URL        string `json:"url"`
		} `json:"data"`
	}
	if err := postJSON(api+"/api/v1/triggers/core.webhook/webhooks/enable", token, nil, &hook); err != nil {
		return "", fmt.Errorf("enable webhook on core.webhook: %w", err)
	}
	if hook.Data.WebhookKey == "" {
		return "", fmt.Errorf("enable webhook: no webhook_key in the answer")
	}
	return api + "/api/v1/webhooks/" + url.PathEscape(hook.Data.WebhookKey), nil
}

func postJSON(u, token string, body, out any) error {
	var rd io.Reader = http.NoBody // a nil body means no body, not JSON null
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(http.MethodPost, u, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: HTTP %d: %s", u, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// writeW1Pack writes the W1 rule: core.webhook → core.local with SEQ from
// the payload passed through env (never templated into cmd).
func writeW1Pack(dir, result string) (string, error) {
	p := filepath.Join(dir, "w1pack")
	files := map[string]string{
		"pack.yaml": "ref: w1\nlabel: W1\ndescription: webhook to shell benchmark\nversion: 1.0.0\n",
		"rules/w1.yaml": "ref: w1.shell\nlabel: W1\ntrigger_ref: core.webhook\naction_ref: core.local\nenabled: true\n" +
			"action_params:\n  cmd: 'printf ''%s %s\\n'' \"$SEQ\" \"$(date +%s%N)\" >> \"$RESULT_FILE\"'\n" +
			fmt.Sprintf("  env: {SEQ: \"{{ event.payload.seq }}\", RESULT_FILE: %q}\n", result),
	}
	for name, body := range files {
		f := filepath.Join(p, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	return p, nil
}

func createDatabase(ctx context.Context, admin, name string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect %s: %w", admin, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(ctx, admin)
		if err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	}
	return u.String(), drop, nil
}

// viaSocket points dsn at the Unix socket in dir when the server listens
// there on dsn's port; otherwise dsn is returned as it is.
func viaSocket(dsn, dir string) string {
	u, err := url.Parse(dsn)
	if err != nil || dir == "" {
		return dsn
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	if fi, err := os.Stat(filepath.Join(dir, ".s.PGSQL."+port)); err != nil || fi.Mode()&os.ModeSocket == 0 {
		return dsn
	}
	q := u.Query()
	q.Set("host", dir)
	q.Set("port", port)
	u.RawQuery = q.Encode()
	u.Host = ""
	return u.String()
}

// cleanupBroker deletes every queue and exchange under prefix, including the
// per-worker queues: quorum queues left behind wedge the shared broker.
func cleanupBroker(ctx context.Context, dsn, amqp, prefix string) {
	if err := deleteNamespace(ctx, dsn, amqp, prefix); err != nil {
		fmt.Fprintf(os.Stderr, "w1: cleanup broker prefix %s: %v\n", prefix, err)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// loginAdmin returns an access token for the bench's admin.
func loginAdmin(api string) (string, error) {
	var login struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	if err := postJSON(api+"/auth/login", "", map[string]string{"login": "admin", "password": adminPassword}, &login); err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	return login.Data.AccessToken, nil
}
