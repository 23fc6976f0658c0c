package notifier

import (
	"context"
	"sync"

	"github.com/coder/websocket"
)

// Close codes (spec §7).
const (
	closeTokenExpired websocket.StatusCode = 4401
	closeLagging      websocket.StatusCode = 4408
)

// resyncMarker is queued to every client after the LISTEN connection was
// re-established: notifications sent while it was down are gone.
type resyncMarker struct{}

// hub fans notifications out to clients. It never blocks on a client: a
// client whose buffer is full is disconnected (4408) and must resync.
type hub struct {
	mu      sync.RWMutex
	clients map[*client]struct{}
	metrics *metrics
	wg      sync.WaitGroup // running client handlers
}

func newHub(m *metrics) *hub { return &hub{clients: map[*client]struct{}{}, metrics: m} }

func (h *hub) add(c *client) {
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	h.metrics.clients.Inc()
}

func (h *hub) remove(c *client) {
	h.mu.Lock()
	_, ok := h.clients[c]
	delete(h.clients, c)
	h.mu.Unlock()
	if ok {
		h.metrics.clients.Dec()
	}
}

// publish queues n to every client with a matching filter. Delivery checks
// run later on the client's own goroutine, so a slow permission lookup never
// holds up the fan-out.
func (h *hub) publish(n *notification) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if c.filters.Load().matches(n) {
			h.enqueue(c, n)
		}
	}
}

// resync tells every client that notifications may have been lost.
func (h *hub) resync() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		h.enqueue(c, resyncMarker{})
	}
}

func (h *hub) enqueue(c *client, item any) {
	if c.closing.Load() {
		return
	}
	select {
	case c.out <- item:
	default:
		if _, isNote := item.(*notification); isNote {
			h.metrics.dropped.WithLabelValues(dropLagging).Add(float64(1 + len(c.out)))
		}
		c.close(closeLagging, "lagging, resync")
	}
}

// closeAll closes every client (server shutdown) and waits for their
// handlers within ctx.
func (h *hub) closeAll(ctx context.Context) error {
	h.mu.RLock()
	for c := range h.clients {
		c.close(websocket.StatusGoingAway, "server shutting down")
	}
	h.mu.RUnlock()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
