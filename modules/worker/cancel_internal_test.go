package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPendingCancelsBoundedAndExpiring(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	p := newPendingCancels(3, time.Minute)
	p.now = func() time.Time { return now }
	for id := int64(1); id <= 4; id++ {
		p.add(id)
		now = now.Add(time.Second)
	}
	require.Len(t, p.at, 3)
	require.False(t, p.take(1), "the oldest entry is evicted at the cap")
	require.True(t, p.take(4))
	require.False(t, p.take(4), "take forgets the entry")
	now = now.Add(2 * time.Minute)
	require.False(t, p.take(2), "expired cancels are ignored")
}
