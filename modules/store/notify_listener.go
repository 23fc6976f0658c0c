package store

import (
	"context"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// NotifyListenerRefresh records that holder (one notifier process) has
// WebSocket clients for the next ttl: entity notifications are sent only
// while some holder's row is live. The gate the notification triggers read
// is recomputed in the same transaction (migration 00005).
func (s *Store) NotifyListenerRefresh(ctx context.Context, holder string, ttl time.Duration) error {
	err := s.notifyListenerChange(ctx, func(tx *Tx) error {
		return tx.q.NotifyListenerRefresh(ctx, tx.db, dbsqlc.NotifyListenerRefreshParams{Holder: holder, TtlSeconds: ttl.Seconds()})
	})
	return interpretError(err, "refresh notify listener "+holder)
}

// NotifyListenerDelete withdraws holder's row (its last client left).
func (s *Store) NotifyListenerDelete(ctx context.Context, holder string) error {
	err := s.notifyListenerChange(ctx, func(tx *Tx) error { return tx.q.NotifyListenerDelete(ctx, tx.db, holder) })
	return interpretError(err, "delete notify listener "+holder)
}

// notifyListenerChange runs change under the table's lock and then sets the
// gate from the live rows: two notifiers changing their rows at once set
// the gate in commit order, each from a view that includes the other's row.
func (s *Store) notifyListenerChange(ctx context.Context, change func(tx *Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if err := tx.q.NotifyListenerLock(ctx, tx.db); err != nil {
			return err
		}
		if err := change(tx); err != nil {
			return err
		}
		return tx.q.NotifyGateSync(ctx, tx.db)
	})
}
