package notifier

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/attune-system/attune/modules/store"
)

// presenceTTL is how long a notify_listener row stays live without a
// refresh; a notifier that dies stops entity notifications within it.
const presenceTTL = 30 * time.Second

// presence keeps this process's notify_listener row live while it has
// WebSocket clients. PostgreSQL sends entity notifications only while some
// notifier has such a row: every NOTIFY serialises the commits of the whole
// cluster, which is not worth paying for messages nobody receives.
type presence struct {
	st     *store.Store
	holder string

	mu      sync.Mutex
	clients int
	live    bool // our row is written and not withdrawn
}

func newPresence(st *store.Store) *presence {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &presence{st: st, holder: fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))}
}

// join counts a client in and makes sure the row is committed before the
// client's upgrade completes, so everything committed after the client is
// connected reaches it.
func (p *presence) join(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.st.NotifyListenerRefresh(ctx, p.holder, presenceTTL); err != nil {
		return err
	}
	p.clients++
	p.live = true
	return nil
}

// leave counts a client out; the row is withdrawn by the next tick.
func (p *presence) leave() {
	p.mu.Lock()
	p.clients--
	p.mu.Unlock()
}

// tick refreshes the row while there are clients and withdraws it once
// there are none.
func (p *presence) tick(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.clients > 0:
		if err := p.st.NotifyListenerRefresh(ctx, p.holder, presenceTTL); err != nil {
			return err
		}
		p.live = true
	case p.live:
		if err := p.st.NotifyListenerDelete(ctx, p.holder); err != nil {
			return err
		}
		p.live = false
	}
	return nil
}

// run ticks every third of the TTL until ctx ends, then withdraws the row.
func (p *presence) run(ctx context.Context, log interface{ Warn(string, ...any) }) {
	t := time.NewTicker(presenceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = p.st.NotifyListenerDelete(dctx, p.holder)
			cancel()
			return
		case <-t.C:
			if err := p.tick(ctx); err != nil && ctx.Err() == nil {
				log.Warn("notifier: refresh listener presence", "err", err)
			}
		}
	}
}
