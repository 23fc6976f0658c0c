package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/store"
)

// register detects runtimes and upserts the worker row (spec §4.1 steps 1-2).
func (m *Module) register(ctx context.Context) error {
	rts, err := m.d.Store.RuntimeList(ctx)
	if err != nil {
		return fmt.Errorf("worker: list runtimes: %w", err)
	}
	detected := m.d.Config.Runtimes
	if len(detected) == 0 {
		detected = m.envs.DetectRuntimes(ctx, rts)
	}
	m.runtimes = capabilityRuntimes(detected, rts)
	caps, err := json.Marshal(map[string]any{
		"runtimes": m.runtimes, "max_concurrent_executions": cap(m.sem),
	})
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	name := m.d.Config.Name
	if name == "" {
		name = fmt.Sprintf("%s-%d", strings.ToLower(host), os.Getpid())
	}
	w, err := m.d.Store.WorkerUpsert(ctx, store.WorkerRegistration{
		Name: name, WorkerRole: "action", Host: &host, Capabilities: caps,
		HeartbeatInterval: m.d.Config.HeartbeatInterval,
	})
	if err != nil {
		return fmt.Errorf("worker: register: %w", err)
	}
	m.workerID = w.ID
	return nil
}

// heartbeatLoop stamps the worker row and renews the lease of every running
// attempt each HeartbeatInterval.
func (m *Module) heartbeatLoop() {
	defer close(m.hbDone)
	t := time.NewTicker(m.d.Config.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-m.hbStop:
			return
		case <-t.C:
			m.heartbeat()
		}
	}
}

func (m *Module) heartbeat() {
	ctx, cancel := context.WithTimeout(m.life, m.d.Config.HeartbeatInterval)
	defer cancel()
	if _, err := m.d.Store.WorkerHeartbeat(ctx, m.workerID, "", nil); err != nil {
		m.log.Warn("worker: heartbeat failed", "worker_id", m.workerID, "err", err)
	}
	m.mu.Lock()
	runs := make([]*run, 0, len(m.runs))
	for _, r := range m.runs {
		runs = append(runs, r)
	}
	m.mu.Unlock()
	for _, r := range runs {
		m.renew(ctx, r)
	}
}

// renew extends one attempt's lease. A refused renewal means a newer attempt
// or the reaper owns the execution: the process is killed and nothing is
// written. A row found canceling is cancelled here even if the cancel
// message never arrived.
func (m *Module) renew(ctx context.Context, r *run) {
	status, err := m.d.Store.ExecutionRenewLease(ctx, r.ex.ID, r.ex.Fence, m.d.Config.LeaseTimeout)
	switch {
	case err == nil:
		if status == "canceling" {
			r.cancel()
		}
	case errors.Is(err, domain.ErrConflict):
		if r.written.Load() {
			return // the result landed between the snapshot and this renewal
		}
		m.log.Warn("worker: lease lost, killing the attempt", "execution_id", r.ex.ID, "fence", r.ex.Fence)
		r.stale.Store(true)
		r.cancel()
	default:
		// Database unreachable: keep running; the fence decides later.
		m.log.Warn("worker: lease renewal failed", "execution_id", r.ex.ID, "err", err)
	}
}
