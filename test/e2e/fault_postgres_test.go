package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app/apptest"
)

// TestFaultPostgresRestart is scenario T6 (fast restart) on a private
// PostgreSQL cluster: 200 webhook events are ingested with idempotency keys
// and client retries while `pg_ctl restart -m fast` runs mid-burst. Every
// accepted event must end with exactly one enforcement and one terminal
// execution, none duplicated.
func TestFaultPostgresRestart(t *testing.T) {
	t.Parallel()
	pg := startPrivatePostgres(t)
	dsn := pg.URL("postgres")
	prefix := apptest.RandomPrefix()
	apptest.CleanupBroker(t, dsn, prefix)
	c := newFaultCluster(t, dsn, apptest.AMQPURL(), prefix)
	code, out, errOut := runAttune(t, writeConfig(t, c.cfg+"data_dir: "+c.shared+"/migrate\n"), nil, "migrate", "up")
	require.Equal(t, 0, code, out+errOut)
	startBurstCluster(c)
	st := openStoreRetrying(t, dsn)

	var restartErr error
	ran := false
	keys := fireBurst(t, st, "pg", 200, func() {
		ran = true
		restartErr = pg.ctl("restart", "-m", "fast", "-o",
			fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", pg.port, pg.dir),
			// -l keeps the new postmaster off pg_ctl's stdout pipe.
			"-l", filepath.Join(pg.dir, "log"))
	})
	require.True(t, ran, "the restart ran")
	require.NoError(t, restartErr)
	checkBurstOracle(t, dsn, keys, 45*time.Second)
	for name, p := range c.procs {
		select {
		case <-p.done:
			t.Fatalf("%s exited during the PostgreSQL restart:\n%s", name, p.output())
		default:
		}
	}
}
