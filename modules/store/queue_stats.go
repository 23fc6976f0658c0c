package store

import (
	"context"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// QueueStats is the per-action admission summary shown at
// GET /api/v1/actions/{ref}/queue-stats.
type QueueStats struct {
	ActionID         int64      `json:"action_id"`
	QueueLength      int32      `json:"queue_length"`
	ActiveCount      int32      `json:"active_count"`
	MaxConcurrent    int32      `json:"max_concurrent"`
	OldestEnqueuedAt *time.Time `json:"oldest_enqueued_at"`
	TotalEnqueued    int64      `json:"total_enqueued"`
	TotalCompleted   int64      `json:"total_completed"`
	LastUpdated      time.Time  `json:"last_updated"`
}

func queueStatsFromRow(r dbsqlc.QueueStat) QueueStats {
	return QueueStats{ActionID: r.ActionID, QueueLength: r.QueueLength, ActiveCount: r.ActiveCount,
		MaxConcurrent: r.MaxConcurrent, OldestEnqueuedAt: r.OldestEnqueuedAt, TotalEnqueued: r.TotalEnqueued,
		TotalCompleted: r.TotalCompleted, LastUpdated: r.LastUpdated}
}

// QueueStatsRefresh recomputes an action's queue stats from the admission
// tables (which stay the source of truth) with the policy's limit.
func (d *DB) QueueStatsRefresh(ctx context.Context, actionID int64, maxConcurrent int32) (QueueStats, error) {
	row, err := d.q.QueueStatsRefresh(ctx, d.db, dbsqlc.QueueStatsRefreshParams{ActionID: actionID, MaxConcurrent: maxConcurrent})
	if err != nil {
		return QueueStats{}, interpretError(err, fmt.Sprintf("refresh queue stats of action %d", actionID))
	}
	return queueStatsFromRow(row), nil
}

// QueueStatsGet returns an action's queue stats; domain.ErrNotFound when the
// action never went through a concurrency policy.
func (d *DB) QueueStatsGet(ctx context.Context, actionID int64) (QueueStats, error) {
	row, err := d.q.QueueStatsGet(ctx, d.db, actionID)
	if err != nil {
		return QueueStats{}, interpretError(err, fmt.Sprintf("queue stats of action %d", actionID))
	}
	return queueStatsFromRow(row), nil
}
