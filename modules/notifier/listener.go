package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attune-system/attune/modules/store"
)

const (
	// ApplicationName marks the LISTEN connection in pg_stat_activity.
	ApplicationName = "attune-notifier"
	// idleProbe: a LISTEN connection silent this long is pinged, so a
	// half-open TCP connection is noticed instead of waiting forever.
	idleProbe      = 30 * time.Second
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
	connectTimeout = 10 * time.Second
)

// listener owns the one dedicated LISTEN connection. It is a separate
// pgx.Conn (same config as the pool) so it neither holds a pool slot forever
// nor is recycled by the pool's lifetime limits.
type listener struct {
	st      *store.Store
	log     *slog.Logger
	hub     *hub
	metrics *metrics
	now     func() time.Time

	mu        sync.Mutex
	conn      *pgx.Conn
	downSince time.Time // zero while connected
}

// connect opens a connection and LISTENs on every channel.
func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	cfg := l.st.Pool().Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("notifier: connect for LISTEN: %w", err)
	}
	for _, ch := range Channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			_ = conn.Close(context.Background())
			return nil, fmt.Errorf("notifier: LISTEN %s: %w", ch, err)
		}
	}
	return conn, nil
}

func (l *listener) setConn(c *pgx.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conn = c
	if c == nil {
		l.downSince = l.now()
	} else {
		l.downSince = time.Time{}
	}
}

// health reports an error while the LISTEN connection is down.
func (l *listener) health() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return fmt.Errorf("LISTEN connection down since %s; reconnecting", l.downSince.Format(time.RFC3339))
	}
	return nil
}

// run receives notifications on conn until ctx ends, reconnecting with
// backoff whenever the connection fails. After every reconnect clients are
// told to resync: PostgreSQL keeps no notifications for a dead listener.
func (l *listener) run(ctx context.Context, conn *pgx.Conn) {
	for {
		err := l.receive(ctx, conn)
		_ = conn.Close(context.Background())
		l.setConn(nil)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("LISTEN connection lost; reconnecting", "err", err)
		conn = l.reconnect(ctx)
		if conn == nil {
			return
		}
		l.setConn(conn)
		l.metrics.reconnects.Inc()
		l.log.Info("LISTEN connection re-established; clients told to resync")
		l.hub.resync()
	}
}

func (l *listener) reconnect(ctx context.Context) *pgx.Conn {
	backoff := minBackoff
	for {
		// Full jitter keeps many notifiers from reconnecting in lockstep
		// after a PostgreSQL restart.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		conn, err := l.connect(ctx)
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		l.log.Warn("reconnect LISTEN failed", "err", err, "retry_in", backoff)
		backoff = min(backoff*2, maxBackoff)
	}
}

func (l *listener) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, idleProbe)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() {
				pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err = conn.Ping(pingCtx)
				cancel()
				if err == nil {
					continue
				}
			}
			return err
		}
		l.metrics.received.WithLabelValues(n.Channel).Inc()
		note, err := parseNotification(n.Channel, n.Payload, l.now())
		if err != nil {
			l.log.Warn("dropping malformed notification", "err", err)
			continue
		}
		l.hub.publish(note)
	}
}
