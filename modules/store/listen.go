package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// listenIdleProbe: a LISTEN connection silent this long is pinged, so a
	// half-open TCP connection is noticed instead of waiting forever.
	listenIdleProbe      = 30 * time.Second
	listenMinBackoff     = 100 * time.Millisecond
	listenMaxBackoff     = 5 * time.Second
	listenConnectTimeout = 10 * time.Second
)

// ListenConfig describes a Listener.
type ListenConfig struct {
	// Channels are LISTENed on every (re)connect.
	Channels []string
	// ApplicationName marks the connection in pg_stat_activity.
	ApplicationName string
	Log             *slog.Logger
	// Notify receives each notification, in commit order, on Run's goroutine.
	Notify func(channel, payload string)
	// Reconnected runs after the connection was re-established. PostgreSQL
	// keeps nothing for a listener that was gone: whatever was notified
	// meanwhile is lost, and the caller resynchronises if it must.
	Reconnected func()
}

// Listener owns one dedicated LISTEN connection. It is a separate pgx.Conn
// (same config as the pool) so it neither holds a pool slot forever nor is
// recycled by the pool's lifetime limits.
type Listener struct {
	st  *Store
	cfg ListenConfig

	mu        sync.Mutex
	conn      *pgx.Conn
	downSince time.Time
}

// NewListener builds a listener; Connect opens it.
func (s *Store) NewListener(cfg ListenConfig) *Listener {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Listener{st: s, cfg: cfg, downSince: time.Now()}
}

// Connect opens the connection and LISTENs on every channel. Once it has
// returned, no notification committed afterwards is missed.
func (l *Listener) Connect(ctx context.Context) error {
	conn, err := l.connect(ctx)
	if err != nil {
		return err
	}
	l.setConn(conn)
	return nil
}

func (l *Listener) connect(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, listenConnectTimeout)
	defer cancel()
	cfg := l.st.pool.Config().ConnConfig.Copy()
	if l.cfg.ApplicationName != "" {
		cfg.RuntimeParams["application_name"] = l.cfg.ApplicationName
	}
	// The server probes an idle listener's TCP peer, so the backend of a
	// listener whose host vanished ends within about 25 s instead of the
	// kernel's two hours: listeners are counted by their backends
	// (ListenerBackendPIDs). Unix-socket connections ignore these.
	for k, v := range map[string]string{"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"} {
		if _, set := cfg.RuntimeParams[k]; !set {
			cfg.RuntimeParams[k] = v
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect for LISTEN: %w", err)
	}
	for _, ch := range l.cfg.Channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			_ = conn.Close(context.Background())
			return nil, fmt.Errorf("LISTEN %s: %w", ch, err)
		}
	}
	return conn, nil
}

func (l *Listener) setConn(c *pgx.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conn = c
	if c == nil {
		l.downSince = time.Now()
	} else {
		l.downSince = time.Time{}
	}
}

// BackendPID is the PostgreSQL backend of the current connection, 0 while
// it is down.
func (l *Listener) BackendPID() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return 0
	}
	return int64(l.conn.PgConn().PID())
}

// Health reports an error while the connection is down.
func (l *Listener) Health() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return fmt.Errorf("LISTEN connection down since %s; reconnecting", l.downSince.Format(time.RFC3339))
	}
	return nil
}

// Run receives notifications until ctx ends, reconnecting with backoff
// whenever the connection fails. Without a successful Connect first it
// connects itself (with backoff), for callers that may start without it.
func (l *Listener) Run(ctx context.Context) {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	for {
		if conn == nil {
			if conn = l.reconnect(ctx); conn == nil {
				return
			}
			l.setConn(conn)
			l.cfg.Log.Info("LISTEN connection established", "channels", l.cfg.Channels)
			if l.cfg.Reconnected != nil {
				l.cfg.Reconnected()
			}
		}
		err := l.receive(ctx, conn)
		_ = conn.Close(context.Background())
		l.setConn(nil)
		if ctx.Err() != nil {
			return
		}
		l.cfg.Log.Warn("LISTEN connection lost; reconnecting", "channels", l.cfg.Channels, "err", err)
		conn = nil
	}
}

func (l *Listener) reconnect(ctx context.Context) *pgx.Conn {
	backoff := listenMinBackoff
	for {
		// Full jitter keeps many listeners from reconnecting in lockstep
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
		l.cfg.Log.Warn("reconnect LISTEN failed", "err", err, "retry_in", backoff)
		backoff = min(backoff*2, listenMaxBackoff)
	}
}

func (l *Listener) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenIdleProbe)
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
		l.cfg.Notify(n.Channel, n.Payload)
	}
}
