package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testGroup is a group whose statement doubles each request after a pause,
// recording each batch and the most statements in flight at once.
type testGroup struct {
	g        group[int, int]
	mu       sync.Mutex
	batches  [][]int
	inFlight atomic.Int32
	maxIn    atomic.Int32
}

func newTestGroup(pause time.Duration, size func(int) int) *testGroup {
	t := &testGroup{}
	t.g.size = size
	t.g.write = func(batch []int) ([]int, []error) {
		n := t.inFlight.Add(1)
		defer t.inFlight.Add(-1)
		for {
			m := t.maxIn.Load()
			if n <= m || t.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		t.mu.Lock()
		t.batches = append(t.batches, append([]int(nil), batch...))
		t.mu.Unlock()
		time.Sleep(pause)
		outs := make([]int, len(batch))
		for i, v := range batch {
			outs[i] = 2 * v
		}
		return outs, make([]error, len(batch))
	}
	return t
}

// Concurrent requests share statements, each gets its own answer, and no
// more than groupLeaders statements run at once.
func TestGroupSharesStatements(t *testing.T) {
	tg := newTestGroup(5*time.Millisecond, func(int) int { return 1 })
	const n = 64
	got := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := tg.g.do(context.Background(), i+1)
			require.NoError(t, err)
			got[i] = v
		}()
	}
	wg.Wait()
	for i := range n {
		require.Equal(t, 2*(i+1), got[i])
	}
	require.Less(t, len(tg.batches), n, "no statement was shared")
	require.LessOrEqual(t, int(tg.maxIn.Load()), groupLeaders)
	seen := 0
	for _, b := range tg.batches {
		require.LessOrEqual(t, len(b), groupMax)
		seen += len(b)
	}
	require.Equal(t, n, seen, "a request was written twice or not at all")
}

// A request larger than groupBytes is written alone, and a group stops
// before it would pass groupBytes.
func TestGroupBoundsBytes(t *testing.T) {
	tg := newTestGroup(2*time.Millisecond, func(v int) int { return v })
	sizes := []int{groupBytes + 1, 100, groupBytes / 2, groupBytes / 2, 100, groupBytes + 5, 7}
	var wg sync.WaitGroup
	for round := 0; round < 5; round++ {
		for _, s := range sizes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := tg.g.do(context.Background(), s)
				require.NoError(t, err)
			}()
		}
	}
	wg.Wait()
	for _, b := range tg.batches {
		total := 0
		for _, v := range b {
			total += v
		}
		require.True(t, len(b) == 1 || total <= groupBytes, "group %v holds %d bytes", b, total)
	}
}

// A request whose caller gives up before a leader took it is not written;
// a closed group refuses requests.
func TestGroupWithdrawAndClose(t *testing.T) {
	tg := newTestGroup(50*time.Millisecond, func(int) int { return 1 })
	var wg sync.WaitGroup
	for i := range groupLeaders {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = tg.g.do(context.Background(), 100+i) }()
	}
	require.Eventually(t, func() bool { return tg.inFlight.Load() == groupLeaders }, 2*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	_, err := tg.g.do(ctx, 7)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	wg.Wait()
	for _, b := range tg.batches {
		require.NotContains(t, b, 7, "a withdrawn request was written")
	}
	tg.g.close()
	_, err = tg.g.do(context.Background(), 1)
	require.True(t, errors.Is(err, errStoreClosed))
}
