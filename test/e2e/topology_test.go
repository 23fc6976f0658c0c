package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app/apptest"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// adminPassword is security.admin_password of every test cluster (prodConfig).
const adminPassword = "Adm1n-e2e-Passw0rd"

// fastTimings shortens every loop the scenarios wait on: heartbeats, leases,
// the reaper, timer checks and rule resyncs.
const fastTimings = `worker:
  heartbeat_interval: 1s
  lease_timeout: 4s
  kill_grace: 1s
  max_stdout_bytes: 1048576
  name: %s
executor:
  reaper_interval: 1s
  worker_stale_after: 3s
sensor:
  check_interval: 100ms
  resync_interval: 500ms
`

// cluster is one running Attune deployment the scenarios drive. Both
// topologies run the built binary, so a scenario can kill or signal the
// process hosting a worker the same way in each.
type cluster interface {
	// URL is the base URL of a process serving the API.
	URL() string
	// Store is a connection to the cluster's database, for assertions.
	Store() *store.Store
	// RegisterPack registers a pack directory with `attune pack register`.
	RegisterPack(t *testing.T, dir string)
	// TryRegisterPack is RegisterPack returning the exit code and output.
	TryRegisterPack(t *testing.T, dir string) (int, string)
	// Logs is the output of every process so far.
	Logs() string
	// WorkerProcess is the OS process hosting the worker with this id.
	WorkerProcess(t *testing.T, workerID int64) *process
	// Restart starts a new process with the same roles as p (after p died).
	Restart(t *testing.T, p *process) *process
	// Stop sends SIGTERM to every process and requires a clean exit.
	Stop(t *testing.T)
}

// topologies are the two deployments every scenario runs in.
var topologies = []struct {
	name  string
	start func(t *testing.T) cluster
}{
	{"all", startAllInOne},
	{"split", startSplit},
}

// forEachTopology runs body as t.Run("all") and t.Run("split"), in parallel.
func forEachTopology(t *testing.T, body func(t *testing.T, c cluster)) {
	t.Helper()
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			t.Parallel()
			body(t, topo.start(t))
		})
	}
}

type procCluster struct {
	dsn, shared, base string
	st                *store.Store
	procs             []*process
	roles             map[*process]string
	names             map[*process]string // worker name hosted, if any
	api               *process
}

func newProcCluster(t *testing.T, amqp, prefix string) *procCluster {
	dsn := storetest.NewDatabase(t)
	if prefix != "" {
		apptest.CleanupBroker(t, dsn, prefix)
	}
	shared := t.TempDir()
	return &procCluster{
		dsn: dsn, shared: shared,
		base: prodConfig(dsn, amqp, prefix) +
			"packs_base_dir: " + shared + "/packs\nruntime_envs_dir: " + shared + "/envs\n",
		roles: map[*process]string{}, names: map[*process]string{},
	}
}

func (c *procCluster) start(t *testing.T, roles, workerName string) *process {
	t.Helper()
	dir := writeConfig(t, c.base+fmt.Sprintf("data_dir: %s/data-%s\n", c.shared, workerName)+
		fmt.Sprintf(fastTimings, workerName))
	p := startServe(t, dir, nil, "--roles="+roles)
	c.procs = append(c.procs, p)
	c.roles[p], c.names[p] = roles, workerName
	if roles == "all" || roles == "api" {
		c.api = p
	}
	return p
}

func (c *procCluster) ready(t *testing.T) {
	t.Helper()
	for _, p := range c.procs {
		p.waitStatus(t, "/readyz", 200, 60*time.Second)
	}
	c.st = openStore(t, c.dsn)
}

// startAllInOne is `attune serve --roles=all` on the in-process bus.
func startAllInOne(t *testing.T) cluster {
	c := newProcCluster(t, "", "")
	c.start(t, "all", "solo")
	c.ready(t)
	return c
}

// startSplit is every role in its own process over RabbitMQ: api, two
// executors, two workers and a sensor.
func startSplit(t *testing.T) cluster {
	c := newProcCluster(t, apptest.AMQPURL(), apptest.RandomPrefix())
	for i, roles := range []string{"api", "executor", "executor", "worker", "worker", "sensor"} {
		c.start(t, roles, fmt.Sprintf("p%d", i))
	}
	c.ready(t)
	return c
}

func (c *procCluster) URL() string         { return c.api.url }
func (c *procCluster) Store() *store.Store { return c.st }

func (c *procCluster) RegisterPack(t *testing.T, dir string) {
	t.Helper()
	code, out := c.TryRegisterPack(t, dir)
	require.Equal(t, 0, code, out)
}

func (c *procCluster) TryRegisterPack(t *testing.T, dir string) (int, string) {
	t.Helper()
	cfg := writeConfig(t, c.base+"data_dir: "+t.TempDir()+"\n")
	code, out, errOut := runAttune(t, cfg, nil, "pack", "register", "--force", dir)
	return code, out + errOut
}

func (c *procCluster) Logs() string {
	var b strings.Builder
	for _, p := range c.procs {
		b.WriteString(p.output())
	}
	return b.String()
}

func (c *procCluster) WorkerProcess(t *testing.T, workerID int64) *process {
	t.Helper()
	var name string
	require.NoError(t, c.st.Pool().QueryRow(t.Context(), `SELECT name FROM worker WHERE id = $1`, workerID).Scan(&name))
	for _, p := range c.procs {
		if (c.roles[p] == "worker" || c.roles[p] == "all") && c.names[p] == name {
			return p
		}
	}
	t.Fatalf("no process hosts worker %d (%s)", workerID, name)
	return nil
}

func (c *procCluster) Restart(t *testing.T, p *process) *process {
	t.Helper()
	np := c.start(t, c.roles[p], c.names[p])
	np.waitStatus(t, "/readyz", 200, 60*time.Second)
	return np
}

func (c *procCluster) Stop(t *testing.T) {
	t.Helper()
	for _, p := range c.procs {
		select {
		case <-p.done:
			continue
		default:
		}
		require.Equal(t, 0, p.stop(t, syscall.SIGTERM, 30*time.Second), p.output())
	}
}

// client is an authenticated API client of a cluster.
type client struct {
	c     cluster
	token string
}

// tokens caches one admin token per cluster: the scenarios sharing a
// cluster would otherwise trip the login rate limiter (429).
var (
	tokens  sync.Map
	loginMu sync.Mutex
)

// login signs in as the admin (once per cluster).
func login(t *testing.T, c cluster) *client {
	t.Helper()
	loginMu.Lock()
	defer loginMu.Unlock()
	if tok, ok := tokens.Load(c); ok {
		return &client{c: c, token: tok.(string)}
	}
	cl := &client{c: c}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	status, raw := cl.do(t, "POST", "/auth/login", map[string]any{"login": "admin", "password": adminPassword})
	require.Equal(t, http.StatusOK, status, string(raw))
	require.NoError(t, json.Unmarshal(unwrap(raw), &tok))
	require.NotEmpty(t, tok.AccessToken)
	cl.token = tok.AccessToken
	tokens.Store(c, cl.token)
	return cl
}

// do sends body as JSON and returns the status and raw response.
func (cl *client) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, cl.c.URL()+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if cl.token != "" && !strings.HasPrefix(path, "/api/v1/webhooks/") {
		req.Header.Set("Authorization", "Bearer "+cl.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// call is do that requires want and decodes the {"data": ...} envelope into out.
func (cl *client) call(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	status, raw := cl.do(t, method, path, body)
	require.Equal(t, want, status, "%s %s: %s", method, path, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(unwrap(raw), out), string(raw))
	}
}

// unwrap returns the data member of an API envelope, or raw itself.
func unwrap(raw []byte) []byte {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &env) == nil && len(env.Data) > 0 {
		return env.Data
	}
	return raw
}
