package security

import (
	"container/list"
	"fmt"
	"math"
	"sync"
	"time"
)

// DefaultLimiterMaxKeys bounds how many keys a Limiter tracks.
const DefaultLimiterMaxKeys = 100_000

// Limiter is an in-memory keyed token bucket for login attempts (per IP and
// per account) and webhook deliveries. Memory is bounded: keys idle for ttl
// are evicted, and past maxKeys the least recently used key is dropped. It is
// per-process; replicas each enforce their own budget.
type Limiter struct {
	rate    float64 // tokens per second
	burst   float64
	ttl     time.Duration
	maxKeys int
	clock   func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // → *bucket
	lru     *list.List               // front = most recently used
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// LimiterOption customises a Limiter.
type LimiterOption func(*Limiter)

// WithLimiterClock injects the time source (tests).
func WithLimiterClock(clock func() time.Time) LimiterOption {
	return func(l *Limiter) { l.clock = clock }
}

// WithMaxKeys overrides DefaultLimiterMaxKeys.
func WithMaxKeys(n int) LimiterOption {
	return func(l *Limiter) { l.maxKeys = n }
}

// NewLimiter allows burst events at once per key, refilled at rate events per
// second. Keys idle for ttl are forgotten; ttl is raised to the full-refill
// time (burst/rate) if shorter, because forgetting a partly drained bucket
// would hand an attacker a fresh burst. Example: 5 failed logins per minute
// is NewLimiter(5.0/60, 5, 10*time.Minute).
func NewLimiter(rate float64, burst int, ttl time.Duration, opts ...LimiterOption) (*Limiter, error) {
	if !(rate > 0) || math.IsInf(rate, 0) {
		return nil, fmt.Errorf("rate limiter: rate must be a positive finite number, got %v", rate)
	}
	if burst < 1 {
		return nil, fmt.Errorf("rate limiter: burst must be >= 1, got %d", burst)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("rate limiter: ttl must be positive, got %s", ttl)
	}
	l := &Limiter{rate: rate, burst: float64(burst), ttl: ttl, maxKeys: DefaultLimiterMaxKeys,
		clock: time.Now, entries: map[string]*list.Element{}, lru: list.New()}
	for _, o := range opts {
		o(l)
	}
	if l.maxKeys < 1 {
		return nil, fmt.Errorf("rate limiter: max keys must be >= 1, got %d", l.maxKeys)
	}
	if refill := time.Duration(float64(burst) / rate * float64(time.Second)); l.ttl < refill {
		l.ttl = refill
	}
	return l, nil
}

// Allow takes one token for key. When none is left it returns false and how
// long until the next token (for a Retry-After header).
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictIdle(now)
	b := l.get(key, now)
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
	return false, wait
}

// Reset forgets key, e.g. the per-account counter after a successful login.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok {
		l.lru.Remove(e)
		delete(l.entries, key)
	}
}

// Len returns the number of tracked keys.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

func (l *Limiter) get(key string, now time.Time) *bucket {
	if e, ok := l.entries[key]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*bucket)
	}
	for len(l.entries) >= l.maxKeys {
		l.removeElement(l.lru.Back())
	}
	b := &bucket{key: key, tokens: l.burst, last: now}
	l.entries[key] = l.lru.PushFront(b)
	return b
}

// evictIdle drops keys unused for ttl. The LRU list is ordered by last use,
// so it only inspects the tail: amortised O(1) per call.
func (l *Limiter) evictIdle(now time.Time) {
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		if now.Sub(e.Value.(*bucket).last) < l.ttl {
			return
		}
		l.removeElement(e)
	}
}

func (l *Limiter) removeElement(e *list.Element) {
	l.lru.Remove(e)
	delete(l.entries, e.Value.(*bucket).key)
}
