package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type copyKey struct{ id, fence int64 }

// The two copies of a message: the second finds the first; the guaranteed
// copy is dropped once the first was handled, and takes over when the
// first's work failed; another key is another message.
func TestCopiesDedupe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewCopies[copyKey]()
	d := copyKey{7, 1}

	e, first := s.Begin(d)
	require.True(t, first)
	_, again := s.Begin(d)
	require.False(t, again, "the second copy took the message too")
	_, newFence := s.Begin(copyKey{7, 2})
	require.True(t, newFence, "a later attempt's message was taken for a copy")

	type owned struct {
		e     *CopyEntry
		taken bool
		err   error
	}
	res := make(chan owned, 1)
	go func() {
		oe, taken, err := s.Own(ctx, d)
		res <- owned{oe, taken, err}
	}()
	select {
	case <-res:
		t.Fatal("the guaranteed copy went ahead while the first copy's work was unsettled")
	case <-time.After(50 * time.Millisecond):
	}
	s.Settle(d, e, false) // the first copy's work failed: the other takes over
	o := <-res
	require.NoError(t, o.err)
	require.False(t, o.taken)
	require.NotNil(t, o.e)
	s.Settle(d, o.e, true)

	_, taken, err := s.Own(ctx, d)
	require.NoError(t, err)
	require.True(t, taken, "a handled message was handled again")

	cctx, cancel := context.WithCancel(ctx)
	pending, _ := s.Begin(copyKey{8, 1})
	cancel()
	_, _, err = s.Own(cctx, copyKey{8, 1})
	require.ErrorIs(t, err, context.Canceled)
	s.Settle(copyKey{8, 1}, pending, true)
}

// Memory stays bounded: settled entries beyond copiesMax are forgotten.
func TestCopiesBounded(t *testing.T) {
	t.Parallel()
	s := NewCopies[int64]()
	for id := int64(1); id <= copiesMax+100; id++ {
		e, first := s.Begin(id)
		require.True(t, first)
		s.Settle(id, e, true)
	}
	require.LessOrEqual(t, s.Len(), copiesMax)
	_, first := s.Begin(1)
	require.True(t, first, "the oldest entry was not forgotten")
}

// An entry forgotten while its work was in progress goes once it settles,
// handled or not.
func TestCopiesEvictedInProgressSettles(t *testing.T) {
	t.Parallel()
	s := NewCopies[int64]()
	pending := map[int64]*CopyEntry{}
	for id := int64(1); id <= 10; id++ {
		e, _ := s.Begin(id)
		pending[id] = e
	}
	for id := int64(11); id <= copiesMax+10; id++ {
		e, _ := s.Begin(id)
		s.Settle(id, e, true)
	}
	for id, e := range pending {
		s.Settle(id, e, true)
	}
	require.LessOrEqual(t, s.Len(), copiesMax)
}
