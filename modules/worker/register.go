package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

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

// heartbeat stamps the worker row and renews every running attempt's lease
// in one statement (store.WorkerHeartbeatRenew), so the two never drift
// apart: a worker stopped between them would otherwise look alive for up to
// a heartbeat interval after its leases lapsed, and be picked for the
// retries of its own lost executions.
func (m *Module) heartbeat() {
	ctx, cancel := context.WithTimeout(m.life, m.d.Config.HeartbeatInterval)
	defer cancel()
	m.mu.Lock()
	runs := make([]*run, 0, len(m.runs))
	held := make([]store.HeldLease, 0, len(m.runs))
	for _, r := range m.runs {
		runs = append(runs, r)
		held = append(held, store.HeldLease{ID: r.ex.ID, Fence: r.ex.Fence})
	}
	m.mu.Unlock()
	beat, renewed, err := m.d.Store.WorkerHeartbeatRenew(ctx, m.workerID, held, m.d.Config.LeaseTimeout)
	if err != nil {
		// Database unreachable: keep running; the fence decides later.
		m.log.Warn("worker: heartbeat and lease renewal failed", "worker_id", m.workerID, "runs", len(runs), "err", err)
		return
	}
	if !beat {
		m.log.Warn("worker: heartbeat found no worker row", "worker_id", m.workerID)
	}
	for _, r := range runs {
		m.renewed(r, renewed)
	}
}

// renewed acts on one attempt's renewal. One not renewed means a newer
// attempt or the reaper owns the execution: the process is killed and
// nothing is written. A row found canceling is cancelled here even if the
// cancel message never arrived.
func (m *Module) renewed(r *run, renewed map[int64]string) {
	status, ok := renewed[r.ex.ID]
	switch {
	case ok && status == "canceling":
		r.cancel()
	case ok:
	case r.written.Load():
		// the result landed between the snapshot and this renewal
	default:
		m.log.Warn("worker: lease lost, killing the attempt", "execution_id", r.ex.ID, "fence", r.ex.Fence)
		r.stale.Store(true)
		r.cancel()
	}
}
