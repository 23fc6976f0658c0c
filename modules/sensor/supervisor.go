package sensor

import (
	"context"
	"sync"
	"time"
)

// lifecycleDebounce delays acting on a changed rule set so a burst of rule
// changes (a pack registration) restarts a sensor process once.
const lifecycleDebounce = time.Second

// stableRun is how long a process must live for its restart backoff to reset.
const stableRun = 30 * time.Second

// supervisor keeps one sensorProc goroutine per sensor it has seen; each
// runs its process only while the sensor is wanted.
type supervisor struct {
	m      *Module
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	procs    map[int64]*sensorProc
	stopped  bool
	deadline time.Time // of the Stop call, bounds the SIGTERM grace at shutdown
}

func newSupervisor(m *Module) *supervisor {
	ctx, cancel := context.WithCancel(context.Background())
	return &supervisor{m: m, ctx: ctx, cancel: cancel, procs: map[int64]*sensorProc{}}
}

// reconcile hands each sensor its desired spec (nil: not wanted).
func (s *supervisor) reconcile(desired map[int64]*sensorSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	for id, spec := range desired {
		p := s.procs[id]
		if p == nil {
			p = &sensorProc{sup: s, ref: spec.Ref, mailbox: make(chan *sensorSpec, 1)}
			s.procs[id] = p
			s.wg.Add(1)
			go func() { defer s.wg.Done(); p.run(s.ctx) }()
		}
		p.want(spec)
	}
	for id, p := range s.procs {
		if desired[id] == nil {
			p.want(nil)
		}
	}
}

// stopAll stops every process and waits for them, bounded by ctx.
func (s *supervisor) stopAll(ctx context.Context) {
	s.mu.Lock()
	s.stopped = true
	if dl, ok := ctx.Deadline(); ok {
		s.deadline = dl
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// shutdownGrace is the SIGTERM grace during module shutdown.
func (s *supervisor) shutdownGrace() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.m.d.Config.StopGrace
	if !s.deadline.IsZero() {
		// Leave a little of the shutdown budget for SIGKILL and reaping.
		g = min(g, max(time.Until(s.deadline)-500*time.Millisecond, 0))
	}
	return g
}

// sensorProc supervises the process of one sensor.
type sensorProc struct {
	sup     *supervisor
	ref     string
	mailbox chan *sensorSpec
	last    string // fingerprint of the last wanted spec ("" = not wanted); guarded by sup.mu
}

// want posts a new desired spec when it differs from the last one.
func (p *sensorProc) want(spec *sensorSpec) {
	fp := ""
	if spec != nil {
		fp = spec.fingerprint()
	}
	if fp == p.last {
		return
	}
	p.last = fp
	select {
	case <-p.mailbox: // replace an unconsumed older spec
	default:
	}
	p.mailbox <- spec
}

// run is the per-sensor state machine: debounce wanted-spec changes, start,
// restart with exponential backoff after a crash, restart on a changed spec
// or before the token expires, stop when no longer wanted.
func (p *sensorProc) run(ctx context.Context) {
	m := p.sup.m
	initial := min(500*time.Millisecond, m.d.Config.RestartBackoffMax)
	backoff := initial
	var (
		desired, pending *sensorSpec
		cur              *process
		debounce         <-chan time.Time
		restart          <-chan time.Time
		rotate           <-chan time.Time
	)
	stop := func(grace time.Duration) {
		if cur != nil {
			cur.stop(grace)
			m.metrics.running.Dec()
			cur = nil
		}
		rotate = nil
	}
	start := func() {
		proc, err := m.launch(ctx, desired)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Error("sensor: cannot start sensor process", "sensor", desired.Ref, "err", err, "retry_in", backoff)
			}
			restart = time.After(backoff)
			backoff = min(backoff*2, m.d.Config.RestartBackoffMax)
			return
		}
		cur = proc
		m.metrics.running.Inc()
		rotate = time.After(tokenTTL * 8 / 10)
		m.log.Info("sensor: process started", "sensor", desired.Ref, "pid", proc.pid, "rules", len(desired.Instances))
	}
	for {
		var exited <-chan struct{}
		if cur != nil {
			exited = cur.done
		}
		select {
		case <-ctx.Done():
			stop(p.sup.shutdownGrace())
			return
		case spec := <-p.mailbox:
			pending = spec
			debounce = time.After(lifecycleDebounce)
		case <-debounce:
			debounce, restart = nil, nil
			desired, backoff = pending, initial
			if cur != nil {
				m.log.Info("sensor: stopping process (rules changed)", "sensor", p.ref, "wanted", desired != nil)
			}
			stop(m.d.Config.StopGrace)
			if desired != nil {
				start()
			}
		case <-exited:
			uptime := time.Since(cur.started)
			m.log.Warn("sensor: process exited; restarting", "sensor", p.ref, "err", cur.waitErr,
				"uptime", uptime.Round(time.Millisecond), "retry_in", backoff)
			stop(0)
			m.metrics.restarts.WithLabelValues(p.ref).Inc()
			if uptime >= stableRun {
				backoff = initial
			}
			restart = time.After(backoff)
			backoff = min(backoff*2, m.d.Config.RestartBackoffMax)
		case <-restart:
			restart = nil
			if desired != nil && cur == nil {
				start()
			}
		case <-rotate:
			m.log.Info("sensor: restarting process to renew its token", "sensor", p.ref)
			stop(m.d.Config.StopGrace)
			start()
		}
	}
}
