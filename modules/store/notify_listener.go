package store

import (
	"context"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// NotifyListenerRefresh records that holder (one notifier process) has
// WebSocket clients for the next ttl: entity notifications are sent only
// while some holder's row is live.
func (s *Store) NotifyListenerRefresh(ctx context.Context, holder string, ttl time.Duration) error {
	err := s.q.NotifyListenerRefresh(ctx, s.db, dbsqlc.NotifyListenerRefreshParams{Holder: holder, TtlSeconds: ttl.Seconds()})
	return interpretError(err, "refresh notify listener "+holder)
}

// NotifyListenerDelete withdraws holder's row (its last client left).
func (s *Store) NotifyListenerDelete(ctx context.Context, holder string) error {
	return interpretError(s.q.NotifyListenerDelete(ctx, s.db, holder), "delete notify listener "+holder)
}
