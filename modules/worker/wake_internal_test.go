package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/pipeline"
)

// The two copies of a dispatch: the second finds the first; the broker copy
// is dropped once the first claimed, and takes over when the first's claim
// failed; an attempt with a new fence is a new dispatch.
func TestDispatchSeenDedupesCopies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newDispatchSeen()
	d := pipeline.ExecutionDispatch{ExecutionID: 7, Fence: 1}

	e, first := s.begin(d)
	require.True(t, first)
	_, again := s.begin(d)
	require.False(t, again, "the second copy took the dispatch too")
	_, newFence := s.begin(pipeline.ExecutionDispatch{ExecutionID: 7, Fence: 2})
	require.True(t, newFence, "a later attempt's dispatch was taken for a copy")

	type owned struct {
		e     *seenEntry
		taken bool
		err   error
	}
	res := make(chan owned, 1)
	go func() {
		oe, taken, err := s.own(ctx, d)
		res <- owned{oe, taken, err}
	}()
	select {
	case <-res:
		t.Fatal("the broker copy went ahead while the first copy's claim was unsettled")
	case <-time.After(50 * time.Millisecond):
	}
	s.settle(d, e, false) // the first claim failed: the broker copy takes over
	o := <-res
	require.NoError(t, o.err)
	require.False(t, o.taken)
	require.NotNil(t, o.e)
	s.settle(d, o.e, true)

	_, taken, err := s.own(ctx, d)
	require.NoError(t, err)
	require.True(t, taken, "a handled dispatch was claimed again")

	cctx, cancel := context.WithCancel(ctx)
	pending, _ := s.begin(pipeline.ExecutionDispatch{ExecutionID: 8, Fence: 1})
	cancel()
	_, _, err = s.own(cctx, pipeline.ExecutionDispatch{ExecutionID: 8, Fence: 1})
	require.ErrorIs(t, err, context.Canceled)
	s.settle(pipeline.ExecutionDispatch{ExecutionID: 8, Fence: 1}, pending, true)
}

// Memory stays bounded: settled entries beyond seenMax are forgotten.
func TestDispatchSeenBounded(t *testing.T) {
	t.Parallel()
	s := newDispatchSeen()
	for id := int64(1); id <= seenMax+100; id++ {
		d := pipeline.ExecutionDispatch{ExecutionID: id, Fence: 1}
		e, first := s.begin(d)
		require.True(t, first)
		s.settle(d, e, true)
	}
	require.LessOrEqual(t, len(s.m), seenMax)
	_, first := s.begin(pipeline.ExecutionDispatch{ExecutionID: 1, Fence: 1})
	require.True(t, first, "the oldest entry was not forgotten")
}
