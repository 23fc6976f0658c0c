// Package rabbitmq implements bus.Bus on RabbitMQ (amqp091-go): durable
// quorum queues with an explicit delivery limit and dead-letter exchange,
// publisher confirms with bounded waits, mandatory publishing, manual acks and
// automatic reconnection of publishers and consumers with exponential backoff.
package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/attune-system/attune/modules/bus"
)

// Options configure a RabbitMQ bus.
type Options struct {
	// URL is the amqp:// URL. It holds credentials and is never logged.
	URL string
	// Prefix namespaces every exchange and queue name (e.g. "t123." in tests).
	Prefix string
	// Logger receives connection and dead-letter events; nil uses slog.Default().
	Logger *slog.Logger
	// PublishTimeout bounds each Publish, including waiting for a connection
	// and the broker confirm. Default 10s.
	PublishTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the exponential reconnect backoff.
	// Defaults 100ms and 10s.
	ReconnectMin, ReconnectMax time.Duration
	// Heartbeat detects dead TCP connections. Default 10s.
	Heartbeat time.Duration
}

// Bus is the RabbitMQ bus. It owns one connection; the publisher and every
// consumer have their own channel on it.
type Bus struct {
	opts Options
	log  *slog.Logger

	ctx    context.Context // cancelled by Close; ends the supervisor
	cancel context.CancelFunc
	done   chan struct{} // closed when the supervisor exits

	mu        sync.Mutex
	closed    bool
	conn      *amqp.Connection // nil while disconnected
	up        chan struct{}    // closed while conn is usable
	pub       *publisher       // lazily (re)opened on conn
	consumers map[*consumer]struct{}

	// Test support: the last raw TCP connection (to simulate network
	// failure) and every queue declared (to delete them at cleanup).
	netConn  atomic.Pointer[net.Conn]
	namesMu  sync.Mutex
	declared map[string]struct{}
}

var _ bus.Bus = (*Bus)(nil)

// New connects to the broker, retrying with backoff until ctx ends, and
// declares the topology exchanges.
func New(ctx context.Context, opts Options) (*Bus, error) {
	if opts.URL == "" {
		return nil, errors.New("rabbitmq: Options.URL is required")
	}
	if err := bus.CheckPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 10 * time.Second
	}
	if opts.ReconnectMin <= 0 {
		opts.ReconnectMin = 100 * time.Millisecond
	}
	if opts.ReconnectMax < opts.ReconnectMin {
		opts.ReconnectMax = max(10*time.Second, opts.ReconnectMin)
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 10 * time.Second
	}
	bctx, cancel := context.WithCancel(context.Background())
	b := &Bus{opts: opts, log: opts.Logger.With("component", "bus"), ctx: bctx, cancel: cancel,
		done: make(chan struct{}), up: make(chan struct{}), consumers: map[*consumer]struct{}{}, declared: map[string]struct{}{}}
	conn, err := b.connectLoop(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	go b.supervise(conn)
	return b, nil
}

// name maps a logical name into this bus's namespace.
func (b *Bus) name(logical string) string { return b.opts.Prefix + logical }

// dial opens a connection and declares the exchanges on it, so that a
// publish never hits a missing exchange (which would kill its channel).
func (b *Bus) dial() (*amqp.Connection, error) {
	conn, err := amqp.DialConfig(b.opts.URL, amqp.Config{
		Heartbeat:  b.opts.Heartbeat,
		Properties: amqp.Table{"connection_name": "attune " + b.opts.Prefix},
		Dial: func(network, addr string) (net.Conn, error) {
			c, err := amqp.DefaultDial(10*time.Second)(network, addr)
			if err == nil {
				b.netConn.Store(&c)
			}
			return c, err
		},
	})
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: connect: %w", err)
	}
	ch, err := conn.Channel()
	if err == nil {
		err = b.declareExchanges(ch)
		_ = ch.Close()
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("rabbitmq: declare exchanges: %w", err)
	}
	return conn, nil
}

func (b *Bus) declareExchanges(ch *amqp.Channel) error {
	for _, e := range bus.Exchanges() {
		if err := ch.ExchangeDeclare(b.name(e.Name), string(e.Kind), true, false, false, false, nil); err != nil {
			return fmt.Errorf("exchange %q: %w", b.name(e.Name), err)
		}
	}
	return nil
}

// connectLoop dials with exponential backoff until it succeeds or ctx (or
// the bus) ends, then publishes the connection.
func (b *Bus) connectLoop(ctx context.Context) (*amqp.Connection, error) {
	delay := b.opts.ReconnectMin
	for {
		conn, err := b.dial()
		if err == nil {
			b.mu.Lock()
			b.conn, b.pub = conn, nil
			close(b.up)
			b.mu.Unlock()
			return conn, nil
		}
		b.log.Warn("bus connect failed, retrying", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("rabbitmq: connect: %w (last error: %w)", ctx.Err(), err)
		case <-b.ctx.Done():
			return nil, bus.ErrClosed
		case <-time.After(jitter(delay)):
		}
		delay = min(delay*2, b.opts.ReconnectMax)
	}
}

// jitter spreads reconnects of many replicas after a broker restart.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// supervise waits for the connection to die and replaces it. Consumers notice
// through their own channels and resubscribe once the new connection is up.
func (b *Bus) supervise(conn *amqp.Connection) {
	defer close(b.done)
	for {
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-b.ctx.Done():
			return
		case err := <-closed:
			b.log.Warn("bus connection lost, reconnecting", "err", err)
		}
		b.mu.Lock()
		if b.conn == conn {
			b.conn, b.pub = nil, nil
			b.up = make(chan struct{})
		}
		b.mu.Unlock()
		var err error
		if conn, err = b.connectLoop(b.ctx); err != nil {
			return
		}
		b.log.Info("bus reconnected")
	}
}

// connection returns a usable connection, waiting for a reconnect within ctx.
func (b *Bus) connection(ctx context.Context) (*amqp.Connection, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, bus.ErrClosed
		}
		conn, up := b.conn, b.up
		b.mu.Unlock()
		if conn != nil && !conn.IsClosed() {
			return conn, nil
		}
		var retry <-chan time.Time
		if conn != nil { // dead but the supervisor has not noticed yet
			retry = time.After(10 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("rabbitmq: waiting for broker connection: %w", ctx.Err())
		case <-b.ctx.Done():
			return nil, bus.ErrClosed
		case <-up:
		case <-retry:
		}
	}
}

// Ping fails while the broker connection is down.
func (b *Bus) Ping(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return bus.ErrClosed
	case b.conn == nil || b.conn.IsClosed():
		return errors.New("rabbitmq: not connected to broker")
	}
	return nil
}

// Close stops every consumer (waiting for running handlers, whose unacked
// messages return to their queues) and closes the connection.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	cs := make([]*consumer, 0, len(b.consumers))
	for c := range b.consumers {
		cs = append(cs, c)
	}
	b.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
	b.cancel()
	<-b.done
	b.mu.Lock()
	conn := b.conn
	b.conn, b.pub = nil, nil
	b.mu.Unlock()
	if conn != nil {
		if err := conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
			return fmt.Errorf("rabbitmq: close: %w", err)
		}
	}
	return nil
}
