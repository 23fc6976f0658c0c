package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/store"
)

const (
	// writeTimeout bounds one frame write; a peer that accepts nothing for
	// this long is dead and its connection is dropped.
	writeTimeout = 10 * time.Second
	// readLimit bounds a client message (subscribe/unsubscribe/ping).
	readLimit = 4096
	// maxFilters bounds one connection's subscriptions.
	maxFilters = 256
)

var clientSeq atomic.Uint64

// client is one WebSocket connection.
type client struct {
	id      string
	conn    *websocket.Conn
	log     *slog.Logger
	st      *store.Store
	auth    *authorizer
	metrics *metrics

	principal atomic.Pointer[access.Principal]
	filters   atomic.Pointer[filterSet]
	out       chan any    // *notification | resyncMarker, filled by the hub
	ctrl      chan any    // error frames from the reader
	closing   atomic.Bool // set once a close was requested; the hub stops queuing
	closeOnce sync.Once
	closed    chan struct{} // closed when a close was requested
	seq       uint64        // last notification seq written (writer goroutine only)
}

func newClient(conn *websocket.Conn, p *access.Principal, buffer int, st *store.Store, a *authorizer,
	m *metrics, log *slog.Logger) *client {
	id := "client_" + strconv.FormatUint(clientSeq.Add(1), 10)
	c := &client{
		id: id, conn: conn, st: st, auth: a, metrics: m,
		log: log.With("client_id", id, "identity", p.IdentityID),
		out: make(chan any, buffer), ctrl: make(chan any, 16), closed: make(chan struct{}),
	}
	c.principal.Store(p)
	c.filters.Store(&filterSet{})
	return c
}

// close starts the close handshake with code once; it never blocks the
// caller (the hub calls it while fanning out).
func (c *client) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		close(c.closed)
		c.log.Debug("closing client", "code", int(code), "reason", reason)
		go func() { _ = c.conn.Close(code, reason) }()
	})
}

// run serves the connection until it closes. tokenCheck is how often the
// token is re-validated; ctx ending (module stop) closes the connection.
func (c *client) run(ctx context.Context, tokenCheck time.Duration) {
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		// The reader's context is never cancelled: coder/websocket tears the
		// connection down at once when a Read is cancelled, which would race
		// the close frame (4401/4408) we want the client to see. Every exit
		// path calls c.close, whose handshake ends the Read.
		c.readLoop(context.Background())
		c.close(websocket.StatusNormalClosure, "")
	}()
	c.writeLoop(ctx, tokenCheck)
	c.close(websocket.StatusNormalClosure, "")
	<-readDone
}

func (c *client) writeLoop(ctx context.Context, tokenCheck time.Duration) {
	if !c.write(welcomeFrame{Type: typeWelcome, ClientID: c.id, Message: "Connected to Attune Notifier"}) {
		return
	}
	expiry := time.NewTimer(time.Until(c.principal.Load().Claims.ExpiresAt))
	defer expiry.Stop()
	recheck := time.NewTicker(tokenCheck)
	defer recheck.Stop()
	for {
		select {
		case <-ctx.Done():
			c.close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-c.closed:
			return
		case <-expiry.C:
			c.close(closeTokenExpired, "token expired")
			return
		case <-recheck.C:
			if !c.recheckToken(ctx) {
				return
			}
		case m := <-c.ctrl:
			if !c.write(m) {
				return
			}
		case item := <-c.out:
			if !c.deliver(item) {
				return
			}
		}
	}
}

// deliver writes one hub item; false ends the connection.
func (c *client) deliver(item any) bool {
	switch it := item.(type) {
	case resyncMarker:
		return c.write(resyncFrame{Type: typeResync, Seq: c.seq,
			Message: "notification stream was interrupted; refetch state through the REST API"})
	case *notification:
		if !c.auth.allowed(c.principal.Load(), it) {
			c.metrics.dropped.WithLabelValues(dropForbidden).Inc()
			return true
		}
		c.seq++
		if !c.write(it.frame(c.seq)) {
			return false
		}
		c.metrics.delivered.Inc()
		c.metrics.latency.Observe(time.Since(it.Received).Seconds())
	}
	return true
}

// recheckToken re-resolves the principal so revocation, frozen identities,
// finished executions and changed grants take effect on open connections.
func (c *client) recheckToken(ctx context.Context) bool {
	p := c.principal.Load()
	if !time.Now().Before(p.Claims.ExpiresAt) {
		c.close(closeTokenExpired, "token expired")
		return false
	}
	np, err := access.Resolve(ctx, c.st, p.Claims)
	switch {
	case errors.Is(err, domain.ErrUnauthorized):
		c.close(closeTokenExpired, "token no longer valid")
		return false
	case err != nil:
		c.log.Warn("re-check token; keeping previous grants", "err", err)
	default:
		c.principal.Store(np)
	}
	return true
}

func (c *client) write(v any) bool {
	if c.closing.Load() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := wsjson.Write(ctx, c.conn, v); err != nil {
		c.log.Debug("write failed", "err", err)
		return false
	}
	return true
}

func (c *client) readLoop(ctx context.Context) {
	c.conn.SetReadLimit(readLimit)
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			return
		}
		var msg clientMessage
		if err := json.Unmarshal(data, &msg); err != nil {
			c.reply("message is not valid JSON: " + err.Error())
			continue
		}
		c.handle(msg)
	}
}

func (c *client) handle(msg clientMessage) {
	switch msg.Type {
	case "ping":
		// Keep-alive only: the spec sends no pong.
	case "subscribe", "unsubscribe":
		f, err := parseFilter(msg.Filter)
		if err != nil {
			c.reply(err.Error())
			return
		}
		cur := *c.filters.Load()
		if msg.Type == "unsubscribe" {
			next := cur.without(f)
			c.filters.Store(&next)
			return
		}
		if err := permitFilter(c.principal.Load(), f); err != nil {
			c.reply(err.Error())
			return
		}
		if len(cur) >= maxFilters {
			c.reply("too many subscriptions on one connection (max " + strconv.Itoa(maxFilters) + ")")
			return
		}
		next := cur.with(f)
		c.filters.Store(&next)
	default:
		c.reply("unknown message type " + strconv.Quote(msg.Type) + ": use subscribe, unsubscribe or ping")
	}
}

// reply queues an error frame; the connection stays open (spec §7).
func (c *client) reply(message string) {
	select {
	case c.ctrl <- errorFrame{Type: typeError, Message: message}:
	default: // a client flooding bad messages loses some error replies
	}
}
