package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Tx is an open transaction. It has every *DB method, plus the ones that are
// only correct inside a transaction (OutboxEnqueue).
type Tx struct {
	DB
	tx pgx.Tx
	// pending collects outbox messages due at once, shared with savepoints,
	// for the commit hook (one), which hides them from polling relays
	// meanwhile.
	pending *[]OutboxMessage
	one     oneShot
}

// outboxHook is what OnOutboxCommit installs.
type outboxHook struct {
	fn      func([]OutboxMessage)
	reserve time.Duration
}

// InTx runs fn in a transaction and commits if fn returns nil. If fn returns
// an error or panics, the transaction is rolled back (pgx.BeginFunc defers
// the rollback), so callers never write rollback branches.
//
// When the committed transaction enqueued outbox messages that are due at
// once, the hook set by OnOutboxCommit receives them, so the relay in this
// process publishes them without a round trip to find them.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	var pending []OutboxMessage
	one := s.oneShot()
	err := pgx.BeginFunc(ctx, s.pool, func(ptx pgx.Tx) error {
		return fn(&Tx{DB: DB{db: ptx, q: s.q}, tx: ptx, pending: &pending, one: one})
	})
	if err == nil {
		one.committed(pending...)
	}
	return err
}

// OnOutboxCommit sets the function that receives the due outbox messages of
// each committed transaction (nil clears it). While it is set, those rows are
// enqueued invisible to polling relays for reserve, so the local relay can
// publish them alone; if this process dies first, they surface after reserve.
// fn must not block.
func (s *Store) OnOutboxCommit(fn func([]OutboxMessage), reserve time.Duration) {
	if fn == nil {
		s.outboxHook.Store(nil)
		return
	}
	s.outboxHook.Store(&outboxHook{fn: fn, reserve: reserve})
}

// InTx on a Tx opens a savepoint: fn's work is undone alone if it fails,
// leaving the outer transaction usable.
func (t *Tx) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	mark := len(*t.pending)
	err := pgx.BeginFunc(ctx, t.tx, func(sp pgx.Tx) error {
		return fn(&Tx{DB: DB{db: sp, q: t.q}, tx: sp, pending: t.pending, one: t.one})
	})
	if err != nil {
		// The savepoint's messages were rolled back with it.
		*t.pending = (*t.pending)[:mark]
		return fmt.Errorf("savepoint: %w", err)
	}
	return nil
}

// oneShot is the outbox contract of one transaction — InTx's, or a single
// statement that is its own transaction (several rows and an outbox message
// written by one data-modifying WITH): messages due at once are hidden from
// polling relays for the commit hook's reserve, and handed to the hook once
// the transaction has committed.
type oneShot struct{ hook *outboxHook }

func (s *Store) oneShot() oneShot { return oneShot{hook: s.outboxHook.Load()} }

// availableAt is the visibility time for a message due now (nil: now).
func (o oneShot) availableAt() *time.Time {
	if o.hook == nil || o.hook.reserve <= 0 {
		return nil
	}
	at := time.Now().Add(o.hook.reserve)
	return &at
}

// committed hands the committed messages to the commit hook.
func (o oneShot) committed(msgs ...OutboxMessage) {
	if o.hook != nil && len(msgs) > 0 {
		o.hook.fn(msgs)
	}
}
