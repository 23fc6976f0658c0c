// Package store is attune's only door to PostgreSQL. It owns the pgx pool,
// runs the sqlc-generated queries in db/dbsqlc, converts their rows into plain
// structs, and maps driver errors onto the domain sentinels. No other package
// may import db/dbsqlc.
package store

import (
	"cmp"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attune-system/attune/db/dbsqlc"
)

// PoolConfig tunes the connection pool. Zero values take the defaults below.
type PoolConfig struct {
	// MaxConns caps open connections. Defaults to 10.
	MaxConns int32
	// MinConns keeps this many connections open when idle. Defaults to 0.
	MinConns int32
	// WarmConns is how many idle connections, their hot statements
	// prepared, the pool keeps ready (opened in the background from the
	// start), at most MaxConns. Zero means none: only a long-running
	// server gains from them, not a CLI command or a test.
	WarmConns int32
	// WakeWorkers makes every ExecutionDispatch this pool's sessions write
	// to the outbox also NOTIFY the worker's WorkerWakeChannel at commit
	// (migration 00003), and every EventCreated the ExecutorWakeChannel
	// (00004): for a broker whose hops are slower than that.
	WakeWorkers bool
	// MaxConnLifetime recycles connections after this age. Defaults to 1h.
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes connections idle this long. Defaults to 30m.
	MaxConnIdleTime time.Duration
	// ApplicationName is reported in pg_stat_activity. Defaults to "attune".
	ApplicationName string
}

// DB runs queries on either the pool or a transaction. Store and Tx embed it,
// so every entity method written once on *DB works in both places.
type DB struct {
	db dbsqlc.DBTX
	q  *dbsqlc.Queries
}

// Store owns the pool. It is safe for concurrent use.
type Store struct {
	DB
	pool *pgxpool.Pool
	// relaxed commits without waiting for the WAL flush. It runs only the
	// outbox relay's bookkeeping, where losing the last writes in a crash
	// means a re-publish, which consumers absorb: that takes two fsyncs off
	// every hop of the pipeline.
	relaxed    *pgxpool.Pool
	outboxHook atomic.Pointer[outboxHook]
	// ingests groups concurrent webhook ingests into shared statements.
	ingests group[ingestReq, ingestRes]
	// firings groups concurrent one-statement rule firings.
	firings group[fireReq, fireRes]
	// claims groups concurrent dispatch claims.
	claims group[claimReq, claimRes]
	// finishes groups concurrent attempt results.
	finishes group[AttemptResult, bool]
	// consumed groups the deletes of outbox rows handled from wake-ups.
	consumed group[int64, struct{}]
}

// Open connects a pool to dsn and verifies it with a ping.
func Open(ctx context.Context, dsn string, cfg PoolConfig) (*Store, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	pc.MaxConns = cmp.Or(cfg.MaxConns, 10)
	pc.MinConns = cfg.MinConns
	warm := cfg.WarmConns > 0
	if warm {
		pc.MinIdleConns = min(cfg.WarmConns, pc.MaxConns)
		pc.AfterConnect = prepare(dbsqlc.HotStatements)
	}
	if cfg.WakeWorkers {
		pc.ConnConfig.RuntimeParams[wakeWorkersSetting] = "on"
	}
	pc.MaxConnLifetime = cmp.Or(cfg.MaxConnLifetime, time.Hour)
	pc.MaxConnIdleTime = cmp.Or(cfg.MaxConnIdleTime, 30*time.Minute)
	if _, set := pc.ConnConfig.RuntimeParams["application_name"]; !set {
		pc.ConnConfig.RuntimeParams["application_name"] = cmp.Or(cfg.ApplicationName, "attune")
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	rc := pc.Copy()
	rc.MaxConns = 2
	rc.MinConns = 0
	rc.MinIdleConns = min(pc.MinIdleConns, 1)
	if warm {
		rc.AfterConnect = prepare(dbsqlc.RelayStatements)
	}
	rc.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	relaxed, err := pgxpool.NewWithConfig(ctx, rc)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("create pool: %w", err)
	}
	s := &Store{DB: DB{db: pool, q: dbsqlc.New()}, pool: pool, relaxed: relaxed}
	s.ingests.write, s.ingests.size = s.writeIngests, func(r ingestReq) int {
		return len(r.e.Payload) + len(r.e.Config) + len(r.log.Headers) + len(r.msg.Payload)
	}
	s.firings.write, s.firings.size = s.writeFirings, func(r fireReq) int {
		return len(r.enf.Config) + len(r.enf.Payload) + len(r.enf.Conditions) + len(r.ex.Config) + len(r.dispatch.Payload)
	}
	s.claims.write, s.claims.size = s.writeClaims, func(claimReq) int { return 64 }
	s.finishes.write, s.finishes.size = s.writeFinishes, func(r AttemptResult) int {
		return len(r.Result) + len(r.Completed.Payload)
	}
	s.consumed.write, s.consumed.size = s.writeConsumed, func(int64) int { return 8 }
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Close closes every pool connection; in-flight queries finish first.
func (s *Store) Close() {
	s.ingests.close()
	s.firings.close()
	s.claims.close()
	s.finishes.close()
	s.consumed.close()
	s.pool.Close()
	s.relaxed.Close()
}

// Pool exposes the pool for what sqlc cannot express, chiefly LISTEN in the
// notifier and the schema gate.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
