package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/store"
)

// writePack lays out a pack from path → content and returns its directory.
func writePack(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		mode := os.FileMode(0o644)
		if filepath.Ext(p) == ".sh" {
			mode = 0o755
		}
		require.NoError(t, os.WriteFile(p, []byte(body), mode))
	}
	return dir
}

// registerPack registers dir through the pack service, as `attune pack register` does.
func registerPack(t *testing.T, st *store.Store, packsDir, dir string) {
	t.Helper()
	svc, err := packsvc.New(packsvc.Options{Store: st, PacksDir: packsDir})
	require.NoError(t, err)
	_, err = svc.Register(context.Background(), dir, packsvc.RegisterOptions{})
	require.NoError(t, err)
}

// openStore connects to dsn for assertions.
func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn, store.PoolConfig{MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return st
}

// executionsOf lists the executions of actionRef, newest first.
func executionsOf(t *testing.T, st *store.Store, actionRef string) []store.Execution {
	t.Helper()
	exs, err := st.ExecutionListPage(context.Background(), store.ExecutionFilter{ActionRef: actionRef, Limit: 100})
	require.NoError(t, err)
	return exs
}

// waitFor polls cond until it holds or fails after d.
func waitFor(t *testing.T, d time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, msg)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
