package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// A builder that looked while another was building must not claim the
// environment once that build finished as it wants it (it would build it a
// second time); a different checksum, or nil (files gone), still claims.
func TestPackEnvironmentClaimSkipsFinishedBuild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	pack, err := s.PackUpsert(ctx, store.Pack{Ref: "envp", Label: "E", Version: "1.0.0"})
	require.NoError(t, err)
	rt, err := s.RuntimeUpsert(ctx, store.Runtime{Ref: "envp.rt", Name: "RT"})
	require.NoError(t, err)
	env, err := s.PackEnvironmentEnsure(ctx, pack.ID, "envp", rt.ID, "envp.rt", "/tmp/envp")
	require.NoError(t, err)
	sum, other := "sum-1", "sum-2"
	claim := func(holder string, unlessReady *string) bool {
		t.Helper()
		_, ok, err := s.PackEnvironmentClaim(ctx, env.ID, holder, time.Minute, unlessReady)
		require.NoError(t, err)
		return ok
	}
	finish := func(holder string) {
		t.Helper()
		_, err := s.PackEnvironmentFinish(ctx, env.ID, holder, store.PackEnvironmentResult{Status: "ready", ManifestChecksum: sum})
		require.NoError(t, err)
	}

	require.True(t, claim("a", &sum), "a pending environment was not claimed")
	require.False(t, claim("b", &sum), "claimed while another builder holds the lease")
	finish("a")
	require.False(t, claim("b", &sum), "an environment built as wanted was claimed for a second build")
	require.True(t, claim("b", &other), "an environment built from another manifest was not claimed")
	finish("b")
	require.True(t, claim("c", nil), "a forced rebuild was not claimed")
}
