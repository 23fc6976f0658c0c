package kernel

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

type fakeModule struct {
	name     string
	rec      *recorder
	startErr error
	fail     chan error
	health   error
}

func (f *fakeModule) Start(context.Context) error {
	f.rec.add("start " + f.name)
	return f.startErr
}

func (f *fakeModule) Stop(context.Context) error {
	f.rec.add("stop " + f.name)
	return nil
}

func (f *fakeModule) Failed() <-chan error { return f.fail }

func (f *fakeModule) CheckHealth(context.Context) error { return f.health }

func testRegistry(rec *recorder, mods map[string]*fakeModule) *Registry {
	reg := NewRegistry()
	def := func(name string, hidden bool, req ...string) {
		m := &fakeModule{name: name, rec: rec, fail: make(chan error, 1)}
		mods[name] = m
		reg.Register(Definition{Name: name, Hidden: hidden, Requires: req, New: func() (Module, error) { return m, nil }})
	}
	def("http", true)
	def("db", true)
	def("api", false, "http", "db")
	def("worker", false, "http", "db")
	def("sensor", false, "http")
	reg.Alias("all", "api", "worker", "sensor")
	return reg
}

func names(defs []Definition) []string {
	var out []string
	for _, d := range defs {
		out = append(out, d.Name)
	}
	return out
}

func TestResolveOrdersDependenciesFirst(t *testing.T) {
	t.Parallel()
	reg := testRegistry(&recorder{}, map[string]*fakeModule{})
	defs, err := reg.Resolve([]string{"worker", "api"})
	require.NoError(t, err)
	require.Equal(t, []string{"http", "db", "api", "worker"}, names(defs))

	defs, err = reg.Resolve([]string{"all"})
	require.NoError(t, err)
	require.Equal(t, []string{"http", "db", "api", "worker", "sensor"}, names(defs))
}

func TestResolveRejectsUnknownAndHidden(t *testing.T) {
	t.Parallel()
	reg := testRegistry(&recorder{}, map[string]*fakeModule{})
	_, err := reg.Resolve([]string{"bogus"})
	require.ErrorContains(t, err, "unknown role(s) bogus")
	require.ErrorContains(t, err, "valid roles: api, sensor, worker, all")
	_, err = reg.Resolve([]string{"http"})
	require.ErrorContains(t, err, "unknown role(s) http")
	_, err = reg.Resolve(nil)
	require.ErrorContains(t, err, "no roles given")
}

func TestResolveDetectsCycles(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	reg.Register(Definition{Name: "a", Requires: []string{"b"}})
	reg.Register(Definition{Name: "b", Requires: []string{"a"}})
	_, err := reg.Resolve([]string{"a"})
	require.ErrorContains(t, err, "dependency cycle")
}

func TestRunnerStartsInOrderAndStopsInReverse(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	reg := testRegistry(rec, map[string]*fakeModule{})
	defs, err := reg.Resolve([]string{"api"})
	require.NoError(t, err)
	r := NewRunner(defs, slog.New(slog.NewTextHandler(io.Discard, nil)), RunnerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	require.Eventually(t, func() bool { return len(rec.lines()) == 3 }, 5*time.Second, time.Millisecond)
	checks, ok := r.Readiness(context.Background(), time.Second, nil)
	require.True(t, ok, Describe(checks))
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, []string{"start http", "start db", "start api", "stop api", "stop db", "stop http"}, rec.lines())
	for _, s := range r.States() {
		require.Equal(t, StateStopped, s)
	}
}

func TestRunnerStopsEverythingWhenOneModuleFails(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	mods := map[string]*fakeModule{}
	reg := testRegistry(rec, mods)
	defs, err := reg.Resolve([]string{"all"})
	require.NoError(t, err)
	r := NewRunner(defs, slog.New(slog.NewTextHandler(io.Discard, nil)), RunnerOptions{})
	done := make(chan error)
	go func() { done <- r.Run(context.Background()) }()
	require.Eventually(t, func() bool { return len(rec.lines()) == 5 }, 5*time.Second, time.Millisecond)
	mods["worker"].fail <- errors.New("lost the plot")
	err = <-done
	require.EqualError(t, err, "module worker: lost the plot")
	require.Equal(t, "stop http", rec.lines()[len(rec.lines())-1])
	require.Equal(t, StateFailed, r.States()["worker"])
}

func TestRunnerStartFailureStopsStartedModules(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	mods := map[string]*fakeModule{}
	reg := testRegistry(rec, mods)
	mods["db"].startErr = errors.New("no database")
	defs, err := reg.Resolve([]string{"api"})
	require.NoError(t, err)
	r := NewRunner(defs, slog.New(slog.NewTextHandler(io.Discard, nil)), RunnerOptions{})
	err = r.Run(context.Background())
	require.EqualError(t, err, "module db: start: no database")
	require.Equal(t, []string{"start http", "start db", "stop db", "stop http"}, rec.lines())
}

func TestReadinessReportsUnhealthyModulesAndProbes(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	mods := map[string]*fakeModule{}
	reg := testRegistry(rec, mods)
	mods["api"].health = errors.New("degraded")
	defs, err := reg.Resolve([]string{"api"})
	require.NoError(t, err)
	r := NewRunner(defs, slog.New(slog.NewTextHandler(io.Discard, nil)), RunnerOptions{})
	_, ok := r.Readiness(context.Background(), time.Second, nil)
	require.False(t, ok, "modules not started yet")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	require.Eventually(t, func() bool { return len(rec.lines()) == 3 }, 5*time.Second, time.Millisecond)
	checks, ok := r.Readiness(context.Background(), time.Second, map[string]ProbeFunc{
		"database": func(context.Context) error { return nil },
	})
	require.False(t, ok)
	require.Contains(t, Describe(checks), "[-]health:api failed: degraded")
	require.Contains(t, Describe(checks), "[+]database ok")
	cancel()
	require.NoError(t, <-done)
}
