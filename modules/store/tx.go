package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Tx is an open transaction. It has every *DB method, plus the ones that are
// only correct inside a transaction (OutboxEnqueue).
type Tx struct {
	DB
	tx pgx.Tx
	// enqueued is shared with savepoints so the outer commit knows whether
	// any level wrote an outbox row.
	enqueued *bool
}

// InTx runs fn in a transaction and commits if fn returns nil. If fn returns
// an error or panics, the transaction is rolled back (pgx.BeginFunc defers
// the rollback), so callers never write rollback branches.
//
// When the committed transaction enqueued outbox messages, the hook set by
// OnOutboxCommit runs, so the relay in this process publishes them at once.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	enqueued := false
	err := pgx.BeginFunc(ctx, s.pool, func(ptx pgx.Tx) error {
		return fn(&Tx{DB: DB{db: ptx, q: s.q}, tx: ptx, enqueued: &enqueued})
	})
	if err == nil && enqueued {
		if hook := s.outboxHook.Load(); hook != nil {
			(*hook)()
		}
	}
	return err
}

// OnOutboxCommit sets the function called after a transaction that enqueued
// outbox messages commits (nil clears it). It must not block.
func (s *Store) OnOutboxCommit(fn func()) {
	if fn == nil {
		s.outboxHook.Store(nil)
		return
	}
	s.outboxHook.Store(&fn)
}

// InTx on a Tx opens a savepoint: fn's work is undone alone if it fails,
// leaving the outer transaction usable.
func (t *Tx) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	err := pgx.BeginFunc(ctx, t.tx, func(sp pgx.Tx) error {
		return fn(&Tx{DB: DB{db: sp, q: t.q}, tx: sp, enqueued: t.enqueued})
	})
	if err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	return nil
}
