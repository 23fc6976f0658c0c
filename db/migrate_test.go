package db_test

import (
	"context"
	"io/fs"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/db"
	"github.com/attune-system/attune/modules/store/storetest"
)

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func publicTableCount(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'").Scan(&n))
	return n
}

func TestUpDownResetRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewEmptyDatabase(t)
	conn := connect(t, dsn)

	require.ErrorIs(t, db.CheckSchema(ctx, conn), db.ErrSchemaBehind)

	require.NoError(t, db.Up(ctx, dsn))
	v, err := db.CurrentVersion(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, db.LatestVersion(), v)
	require.NoError(t, db.CheckSchema(ctx, conn))
	require.Greater(t, publicTableCount(t, conn), 25)

	st, err := db.Status(ctx, dsn)
	require.NoError(t, err)
	require.NotEmpty(t, st)
	for _, s := range st {
		require.True(t, s.Applied, "migration %d %s", s.Version, s.Name)
		require.False(t, s.AppliedAt.IsZero())
	}

	// Up again is a no-op.
	require.NoError(t, db.Up(ctx, dsn))

	require.NoError(t, db.Down(ctx, dsn))
	v, err = db.CurrentVersion(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, db.LatestVersion()-1, v)

	require.NoError(t, db.Up(ctx, dsn))
	require.NoError(t, db.Reset(ctx, dsn))
	v, err = db.CurrentVersion(ctx, conn)
	require.NoError(t, err)
	require.Zero(t, v)
	require.Zero(t, publicTableCount(t, conn), "reset must leave no attune tables")
	var types int
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'").Scan(&types))
	require.Zero(t, types, "reset must drop every enum")

	st, err = db.Status(ctx, dsn)
	require.NoError(t, err)
	for _, s := range st {
		require.False(t, s.Applied)
	}

	require.NoError(t, db.Up(ctx, dsn))
	require.NoError(t, db.CheckSchema(ctx, conn))
}

func TestConcurrentUpBothSucceed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewEmptyDatabase(t)

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Up(ctx, dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "Up #%d", i)
	}
	conn := connect(t, dsn)
	v, err := db.CurrentVersion(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, db.LatestVersion(), v)
	var rows int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&rows))
	require.EqualValues(t, db.LatestVersion(), rows, "each migration recorded exactly once")
}

func TestCheckSchemaBehindNamesVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := connect(t, storetest.NewEmptyDatabase(t))

	v, err := db.CurrentVersion(ctx, conn)
	require.NoError(t, err)
	require.Zero(t, v)

	err = db.CheckSchema(ctx, conn)
	require.ErrorIs(t, err, db.ErrSchemaBehind)
	require.Contains(t, err.Error(), "database is at version 0")
	require.Contains(t, err.Error(), "binary needs")

	// A migrated clone passes.
	require.NoError(t, db.CheckSchema(ctx, connect(t, storetest.NewDatabase(t))))
}

func TestEnsureDatabaseIdempotentAndRaceSafe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, err := url.Parse(storetest.BaseURL())
	require.NoError(t, err)
	name := "attune_ensure_" + time.Now().Format("150405") + "_" + randomSuffix(t)
	u.Path = "/" + name
	dsn := u.String()
	t.Cleanup(func() {
		conn := connect(t, storetest.BaseURL())
		_, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		require.NoError(t, err)
	})

	// Several concurrent callers: exactly one creates, none fail.
	var wg sync.WaitGroup
	created := make([]bool, 4)
	errs := make([]error, 4)
	for i := range created {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created[i], errs[i] = db.EnsureDatabase(ctx, dsn)
		}()
	}
	wg.Wait()
	n := 0
	for i := range created {
		require.NoError(t, errs[i])
		if created[i] {
			n++
		}
	}
	require.Equal(t, 1, n, "exactly one caller creates the database")

	again, err := db.EnsureDatabase(ctx, dsn)
	require.NoError(t, err)
	require.False(t, again)
	connect(t, dsn) // it really exists
}

func TestEnsureDatabaseUnreachableServer(t *testing.T) {
	t.Parallel()
	created, err := db.EnsureDatabase(context.Background(), "postgres://postgres@127.0.0.1:1/x?connect_timeout=1")
	require.ErrorContains(t, err, "connect to maintenance database")
	require.False(t, created)
}

func TestLatestVersionMatchesEmbeddedFiles(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(db.Migrations(), "*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	// Versions are sequential from 1, so the latest equals the file count.
	require.EqualValues(t, len(files), db.LatestVersion())
}
