package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
)

var errDown = errors.New("database restarting")

func TestRetryTransientWaitsOutAnOutageInPlace(t *testing.T) {
	t.Parallel()
	calls := 0
	h := bus.RetryTransient(func(context.Context, bus.Delivery) error {
		calls++
		if calls < 3 {
			return errDown
		}
		return nil
	}, func(err error) bool { return errors.Is(err, errDown) }, time.Minute)
	require.NoError(t, h(context.Background(), bus.Delivery{}))
	require.Equal(t, 3, calls, "retried in place until the dependency was back")
}

func TestRetryTransientReturnsOtherErrorsAndGivesUp(t *testing.T) {
	t.Parallel()
	bad := errors.New("bad payload")
	calls := 0
	h := bus.RetryTransient(func(context.Context, bus.Delivery) error { calls++; return bad },
		func(err error) bool { return errors.Is(err, errDown) }, time.Minute)
	require.ErrorIs(t, h(context.Background(), bus.Delivery{}), bad)
	require.Equal(t, 1, calls, "a non-transient error is returned at once")

	calls = 0
	h = bus.RetryTransient(func(context.Context, bus.Delivery) error { calls++; return errDown },
		func(err error) bool { return errors.Is(err, errDown) }, 150*time.Millisecond)
	require.ErrorIs(t, h(context.Background(), bus.Delivery{}), errDown)
	require.GreaterOrEqual(t, calls, 2, "retried until the bound, then requeued like any failure")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = 0
	h = bus.RetryTransient(func(context.Context, bus.Delivery) error { calls++; return errDown },
		func(err error) bool { return errors.Is(err, errDown) }, time.Minute)
	require.ErrorIs(t, h(ctx, bus.Delivery{}), errDown)
	require.Equal(t, 1, calls, "a stopping consumer does not wait")
}
