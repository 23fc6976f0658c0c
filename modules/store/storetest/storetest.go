// Package storetest gives each test its own PostgreSQL database, cloned from a
// template that is migrated once per schema version. Cloning a template takes
// tens of milliseconds, so tests stay isolated and parallel (also across
// concurrently running `go test` binaries) without paying for migrations each
// time. Test code only.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attune-system/attune/db"
	"github.com/attune-system/attune/modules/store"
)

// EnvDatabaseURL names the variable holding the server to test against. Its
// database part is only used as the maintenance database to connect to.
const EnvDatabaseURL = "ATTUNE_TEST_DATABASE_URL"

const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockID serializes template builds across test processes.
const templateLockID int64 = 0x61747475_6e650001

var (
	templateMu    sync.Mutex
	templateReady = map[string]bool{}
)

// BaseURL returns the test server URL from ATTUNE_TEST_DATABASE_URL, or the
// local default.
func BaseURL() string {
	if v := os.Getenv(EnvDatabaseURL); v != "" {
		return v
	}
	return defaultURL
}

// NewDatabase creates a fresh, fully migrated database for t and drops it
// when t finishes. It returns the DSN of the new database.
func NewDatabase(t testing.TB) string {
	t.Helper()
	tmpl := templateName()
	ensureTemplate(t, tmpl)
	return createDatabase(t, "TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
}

// NewEmptyDatabase creates a database with no attune schema at all (cloned
// from template0), for tests of the migrations themselves.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	return createDatabase(t, "TEMPLATE template0")
}

// NewStore opens a store on a fresh database; both are closed at cleanup.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	dsn := NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dsn, store.PoolConfig{MaxConns: 4, ApplicationName: "attune-test"})
	if err != nil {
		t.Fatalf("storetest: open store: %v", err)
	}
	t.Cleanup(s.Close) // runs before the database drop registered earlier
	return s
}

// templateName derives the template's name from the embedded migrations, so
// any schema change builds a new template instead of reusing a stale one.
func templateName() string {
	h := sha256.New()
	err := fs.WalkDir(db.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(db.Migrations(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		panic(err)
	}
	return "attune_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]
}

func connectMaintenance(ctx context.Context, t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		t.Fatalf("storetest: connect to %s (set %s): %v", redact(BaseURL()), EnvDatabaseURL, err)
	}
	return conn
}

// ensureTemplate builds the template database once. A process-wide map skips
// the work after the first success; a session advisory lock makes concurrent
// test binaries wait for one builder instead of racing. The template is
// migrated under a temporary name and renamed only when complete, so a
// crashed builder never leaves a half-migrated template behind.
func ensureTemplate(t testing.TB, tmpl string) {
	t.Helper()
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateReady[tmpl] {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn := connectMaintenance(ctx, t)
	defer conn.Close(context.Background())

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockID); err != nil {
		t.Fatalf("storetest: lock template build: %v", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", templateLockID) //nolint:errcheck // closing the session releases it anyway

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", tmpl).
		Scan(&exists); err != nil {
		t.Fatalf("storetest: look up template: %v", err)
	}
	if !exists {
		if err := buildTemplate(ctx, conn, tmpl); err != nil {
			t.Fatalf("storetest: build template %s: %v", tmpl, err)
		}
	}
	templateReady[tmpl] = true
}

func buildTemplate(ctx context.Context, conn *pgx.Conn, tmpl string) error {
	building := tmpl + "_building"
	bid := pgx.Identifier{building}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+bid+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+bid+" TEMPLATE template0"); err != nil {
		return err
	}
	if err := db.Up(ctx, withDatabase(BaseURL(), building)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Closed pool connections may linger server-side for a moment, and both
	// RENAME and later clones refuse a database that has sessions.
	if _, err := conn.Exec(ctx,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
		building); err != nil {
		return err
	}
	tid := pgx.Identifier{tmpl}.Sanitize()
	for _, stmt := range []string{
		"ALTER DATABASE " + bid + " RENAME TO " + tid,
		"ALTER DATABASE " + tid + " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
	} {
		if err := retryBusy(ctx, conn, stmt); err != nil {
			return err
		}
	}
	return nil
}

// retryBusy retries a statement that fails only because terminated sessions
// have not finished exiting yet (55006 object_in_use).
func retryBusy(ctx context.Context, conn *pgx.Conn, stmt string) error {
	var err error
	for range 50 {
		if _, err = conn.Exec(ctx, stmt); err == nil || !isObjectInUse(err) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func createDatabase(t testing.TB, clause string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := connectMaintenance(ctx, t)
	defer conn.Close(context.Background())

	name := "attune_test_" + randomHex(8)
	id := pgx.Identifier{name}.Sanitize()
	if err := retryBusy(ctx, conn, "CREATE DATABASE "+id+" "+clause); err != nil {
		t.Fatalf("storetest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, BaseURL())
		if err != nil {
			t.Errorf("storetest: drop %s: connect: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: drop %s: %v", name, err)
		}
	})
	return withDatabase(BaseURL(), name)
}

// withDatabase returns base with its database name replaced.
func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		panic(fmt.Sprintf("storetest: %s must be a postgres:// URL: %v", EnvDatabaseURL, err))
	}
	u.Path = "/" + name
	return u.String()
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
