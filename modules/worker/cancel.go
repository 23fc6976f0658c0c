package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/pipeline"
)

const (
	pendingCancelMax = 10_000
	// pendingCancelTTL outlives a dispatch's queue TTL, after which the
	// dispatch can no longer arrive.
	pendingCancelTTL = 10 * time.Minute
)

// onCancel handles ExecutionCancelRequested: stop the process if it runs
// here (the run then writes cancelled with its partial output), otherwise
// remember the cancel for a dispatch still on its way.
func (m *Module) onCancel(_ context.Context, d bus.Delivery) error {
	var msg pipeline.ExecutionCancel
	if err := json.Unmarshal(d.Payload, &msg); err != nil || msg.ExecutionID == 0 {
		return bus.Permanent(fmt.Errorf("worker: malformed ExecutionCancel: %v", err))
	}
	m.mu.Lock()
	r, ok := m.runs[msg.ExecutionID]
	m.mu.Unlock()
	if ok {
		m.log.Info("worker: cancelling execution", "execution_id", msg.ExecutionID)
		r.cancel()
		return nil
	}
	m.cancels.add(msg.ExecutionID)
	return nil
}

// pendingCancels remembers cancels that beat their dispatch, bounded in
// size and age so a flood of cancels for unknown ids cannot grow memory.
type pendingCancels struct {
	mu  sync.Mutex
	max int
	ttl time.Duration
	at  map[int64]time.Time
	now func() time.Time
}

func newPendingCancels(maxEntries int, ttl time.Duration) *pendingCancels {
	return &pendingCancels{max: maxEntries, ttl: ttl, at: map[int64]time.Time{}, now: time.Now}
}

func (p *pendingCancels) add(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if len(p.at) >= p.max {
		var oldest int64
		var oldestAt time.Time
		for k, t := range p.at {
			if now.Sub(t) > p.ttl {
				delete(p.at, k)
				continue
			}
			if oldestAt.IsZero() || t.Before(oldestAt) {
				oldest, oldestAt = k, t
			}
		}
		if len(p.at) >= p.max {
			delete(p.at, oldest)
		}
	}
	p.at[id] = now
}

// take reports whether a live cancel is pending for id and forgets it.
func (p *pendingCancels) take(id int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.at[id]
	delete(p.at, id)
	return ok && p.now().Sub(t) <= p.ttl
}
