package security

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func newTestLimiter(t *testing.T, rate float64, burst int, ttl time.Duration, opts ...LimiterOption) (*Limiter, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	l, err := NewLimiter(rate, burst, ttl, append([]LimiterOption{WithLimiterClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	return l, clk
}

// Threat-checklist #18: the 6th failed login within 60 s is refused.
func TestLimiterLoginBudget(t *testing.T) {
	t.Parallel()
	l, clk := newTestLimiter(t, 5.0/60, 5, 10*time.Minute)
	for i := range 5 {
		ok, _ := l.Allow("alice")
		require.True(t, ok, "attempt %d", i+1)
		clk.Advance(time.Second)
	}
	ok, retry := l.Allow("alice")
	require.False(t, ok)
	// 5 s elapsed refilled 5/12 of a token; the rest takes 7 s.
	require.InDelta(t, (7 * time.Second).Seconds(), retry.Seconds(), 0.01)

	ok, _ = l.Allow("bob")
	require.True(t, ok, "keys are independent")

	clk.Advance(retry)
	ok, _ = l.Allow("alice")
	require.True(t, ok, "a token is back after retryAfter")
	ok, _ = l.Allow("alice")
	require.False(t, ok)
}

func TestLimiterRefillCapsAtBurst(t *testing.T) {
	t.Parallel()
	l, clk := newTestLimiter(t, 1, 3, time.Hour)
	for range 3 {
		ok, _ := l.Allow("k")
		require.True(t, ok)
	}
	clk.Advance(100 * time.Second) // would be 100 tokens without the cap
	for range 3 {
		ok, _ := l.Allow("k")
		require.True(t, ok)
	}
	ok, retry := l.Allow("k")
	require.False(t, ok)
	require.Equal(t, time.Second, retry)
}

func TestLimiterReset(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(t, 0.01, 1, time.Hour)
	ok, _ := l.Allow("k")
	require.True(t, ok)
	ok, _ = l.Allow("k")
	require.False(t, ok)
	l.Reset("k")
	ok, _ = l.Allow("k")
	require.True(t, ok)
}

func TestLimiterEvictsIdleKeys(t *testing.T) {
	t.Parallel()
	l, clk := newTestLimiter(t, 1, 1, time.Minute)
	for i := range 100 {
		l.Allow(fmt.Sprint("ip-", i))
	}
	require.Equal(t, 100, l.Len())
	clk.Advance(30 * time.Second)
	l.Allow("fresh")
	require.Equal(t, 101, l.Len())
	clk.Advance(31 * time.Second)
	l.Allow("fresh")
	require.Equal(t, 1, l.Len(), "only the recently used key survives")
}

// A ttl shorter than the refill time would let an attacker wait for eviction
// to get a fresh burst; NewLimiter raises it.
func TestLimiterTTLAtLeastRefill(t *testing.T) {
	t.Parallel()
	l, clk := newTestLimiter(t, 1.0/60, 1, time.Second)
	ok, _ := l.Allow("k")
	require.True(t, ok)
	clk.Advance(30 * time.Second)
	ok, _ = l.Allow("k")
	require.False(t, ok, "key must not have been evicted after the short ttl")
	require.Equal(t, 1, l.Len())
}

func TestLimiterMaxKeysLRU(t *testing.T) {
	t.Parallel()
	l, clk := newTestLimiter(t, 0.001, 1, time.Hour, WithMaxKeys(3))
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
		clk.Advance(time.Second)
	}
	l.Allow("a") // a is now most recent; b is least recent (and denied)
	l.Allow("d") // evicts b
	require.Equal(t, 3, l.Len())
	ok, _ := l.Allow("a")
	require.False(t, ok, "a kept its drained bucket")
	ok, _ = l.Allow("b")
	require.True(t, ok, "b was evicted, so it starts fresh")
}

func TestLimiterConcurrent(t *testing.T) {
	t.Parallel()
	l, _ := newTestLimiter(t, 0.001, 50, time.Hour, WithMaxKeys(1000))
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if ok, _ := l.Allow("shared"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
				l.Allow(fmt.Sprint("g", g, "-", i))
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 50, allowed, "exactly burst tokens handed out under contention")
	require.LessOrEqual(t, l.Len(), 1000)
}

func TestNewLimiterValidation(t *testing.T) {
	t.Parallel()
	_, err := NewLimiter(0, 1, time.Minute)
	require.ErrorContains(t, err, "rate")
	_, err = NewLimiter(1, 0, time.Minute)
	require.ErrorContains(t, err, "burst")
	_, err = NewLimiter(1, 1, 0)
	require.ErrorContains(t, err, "ttl")
	_, err = NewLimiter(1, 1, time.Minute, WithMaxKeys(0))
	require.ErrorContains(t, err, "max keys")
}
