package packsvc_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

type env struct {
	st       *store.Store
	svc      *packsvc.Service
	packsDir string
}

func newEnv(t *testing.T) env {
	t.Helper()
	st := storetest.NewStore(t)
	dir := t.TempDir()
	svc, err := packsvc.New(packsvc.Options{Store: st, PacksDir: filepath.Join(dir, "packs")})
	require.NoError(t, err)
	return env{st: st, svc: svc, packsDir: svc.PacksDir()}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fixture copies test/testdata/packs/<name> into a temp dir the test may edit.
func fixture(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "test", "testdata", "packs", name)
	dst := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	return dst
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// snapshot renders every row of every table registration writes, so a
// failed registration can be shown to leave the database exactly as it was.
func snapshot(t *testing.T, st *store.Store) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"pack", "permission_set", "runtime", "trigger", "action", "workflow_definition",
		"policy", "rule", "sensor", "outbox", "pack_environment"} {
		var out []byte
		err := st.Pool().QueryRow(context.Background(),
			"SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.id), '[]')::text FROM "+table+" t").Scan(&out)
		require.NoError(t, err)
		b.WriteString(table + ": " + string(out) + "\n")
	}
	return b.String()
}

func outboxKeys(t *testing.T, st *store.Store, afterID int64) []string {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(),
		"SELECT routing_key || ' ' || coalesce(payload->>'rule_ref', payload->>'pack_ref') FROM outbox WHERE id > $1 ORDER BY id", afterID)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	return out
}

func maxOutboxID(t *testing.T, st *store.Store) int64 {
	var id int64
	require.NoError(t, st.Pool().QueryRow(context.Background(), "SELECT coalesce(max(id), 0) FROM outbox").Scan(&id))
	return id
}

func mustEnsureCore(t *testing.T, e env) {
	t.Helper()
	_, err := e.svc.EnsureCore(ctxT(t))
	require.NoError(t, err)
}
