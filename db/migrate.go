// Package db owns the attune PostgreSQL schema: the embedded goose migrations,
// the functions that apply them, and the schema gate that keeps a binary from
// running against a database older than itself. Generated query code lives in
// the sibling package db/dbsqlc.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver goose needs
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var embedded embed.FS

// versionTable is goose's bookkeeping table; CurrentVersion reads it directly.
const versionTable = goose.DefaultTablename

// ErrSchemaBehind is returned (wrapped) by CheckSchema when the database has
// fewer migrations applied than this binary embeds. Run `attune migrate up`.
var ErrSchemaBehind = errors.New("database schema is behind this binary")

// MigrationStatus describes one embedded migration and whether the database has it.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time // zero when not applied
}

// Migrations returns the embedded migration files rooted at the migrations
// directory (names like 00001_init.sql).
func Migrations() fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory exists
	}
	return sub
}

var latest = sync.OnceValue(func() int64 {
	entries, err := fs.ReadDir(Migrations(), ".")
	if err != nil {
		panic(err)
	}
	var highest int64
	for _, e := range entries {
		v, err := versionOf(e.Name())
		if err != nil {
			panic(err) // a malformed embedded file name is a build-time mistake
		}
		highest = max(highest, v)
	}
	return highest
})

func versionOf(name string) (int64, error) {
	prefix, _, ok := strings.Cut(name, "_")
	if !ok {
		return 0, fmt.Errorf("migration %q: name must be NNNNN_description.sql", name)
	}
	v, err := strconv.ParseInt(prefix, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("migration %q: version prefix: %w", name, err)
	}
	return v, nil
}

// LatestVersion is the highest migration version embedded in this binary.
func LatestVersion() int64 { return latest() }

// withProvider opens a database/sql handle and a goose Provider over the
// embedded files. The provider takes a session-level advisory lock around
// every operation, so concurrent `migrate up` runs serialize instead of racing:
// the second one finds nothing pending and succeeds.
func withProvider(ctx context.Context, dsn string, fn func(*goose.Provider) error) error {
	sqlDB, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer sqlDB.Close()
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	// Probe every second for up to 5 minutes; goose's default 5 s period makes
	// a waiting replica (and every concurrent test) needlessly slow.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, Migrations(),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	defer p.Close()
	return fn(p)
}

// Up applies every pending migration.
func Up(ctx context.Context, dsn string) error {
	return withProvider(ctx, dsn, func(p *goose.Provider) error {
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		return nil
	})
}

// Down rolls back the most recently applied migration.
func Down(ctx context.Context, dsn string) error {
	return withProvider(ctx, dsn, func(p *goose.Provider) error {
		if _, err := p.Down(ctx); err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		return nil
	})
}

// Reset rolls back every applied migration, leaving an empty schema.
func Reset(ctx context.Context, dsn string) error {
	return withProvider(ctx, dsn, func(p *goose.Provider) error {
		if _, err := p.DownTo(ctx, 0); err != nil {
			return fmt.Errorf("migrate reset: %w", err)
		}
		return nil
	})
}

// Status lists every embedded migration in version order with its state.
func Status(ctx context.Context, dsn string) ([]MigrationStatus, error) {
	var out []MigrationStatus
	err := withProvider(ctx, dsn, func(p *goose.Provider) error {
		st, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migration status: %w", err)
		}
		for _, s := range st {
			out = append(out, MigrationStatus{
				Version:   s.Source.Version,
				Name:      s.Source.Path,
				Applied:   s.State == goose.StateApplied,
				AppliedAt: s.AppliedAt,
			})
		}
		return nil
	})
	return out, err
}

// Querier is the subset of pgx pools, connections and transactions that the
// version check needs.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CurrentVersion returns the highest applied migration version, or 0 when the
// database has never been migrated.
func CurrentVersion(ctx context.Context, q Querier) (int64, error) {
	var exists bool
	if err := q.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", versionTable).Scan(&exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int64
	// goose deletes the row of a migration it rolls back, so the max of the
	// remaining applied rows is the current version.
	err := q.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM "+versionTable+" WHERE is_applied").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// CheckSchema is the startup gate: it returns a wrapped ErrSchemaBehind when the
// database is older than this binary. A newer database is accepted because
// migrations are additive during a rolling upgrade.
func CheckSchema(ctx context.Context, q Querier) error {
	cur, err := CurrentVersion(ctx, q)
	if err != nil {
		return err
	}
	if want := LatestVersion(); cur < want {
		return fmt.Errorf("%w: database is at version %d, binary needs %d (run `attune migrate up`)",
			ErrSchemaBehind, cur, want)
	}
	return nil
}

// EnsureDatabase creates the database named in dsn if it does not exist, by
// connecting to the `postgres` maintenance database on the same server. It
// reports whether it created it. A concurrent creator winning the race is not
// an error.
func EnsureDatabase(ctx context.Context, dsn string) (created bool, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false, fmt.Errorf("parse database url: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return false, errors.New("database url names no database")
	}
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect to maintenance database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).
		Scan(&exists); err != nil {
		return false, fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return false, nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		var pgErr *pgconn.PgError
		// 42P04 duplicate_database: someone else created it between our
		// check and our CREATE. 23505 can surface from the pg_database
		// catalog's unique index in the same race.
		if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
			return false, nil
		}
		return false, fmt.Errorf("create database %q: %w", name, err)
	}
	return true, nil
}
