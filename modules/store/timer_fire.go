package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// TimerFireRecord claims one scheduled fire of a timer rule. It returns
// recorded=false (and no error) when that (rule, scheduledFor) was already
// recorded, typically by a previous leader: the caller must not emit again.
func (d *DB) TimerFireRecord(ctx context.Context, ruleID int64, scheduledFor time.Time, eventID *int64) (recorded bool, err error) {
	_, err = d.q.TimerFireInsert(ctx, d.db, dbsqlc.TimerFireInsertParams{
		RuleID: ruleID, ScheduledFor: scheduledFor, EventID: eventID,
	})
	if err == nil {
		return true, nil
	}
	err = interpretError(err, fmt.Sprintf("timer fire for rule %d at %s", ruleID, scheduledFor.Format(time.RFC3339)))
	if errors.Is(err, domain.ErrNotFound) {
		return false, nil
	}
	return false, err
}

// TimerFire is one recorded fire of a timer rule.
type TimerFire struct {
	ID           int64
	RuleID       int64
	ScheduledFor time.Time
	EventID      *int64
	Created      time.Time
}

// TimerFireLatest returns the most recent recorded fire of a rule, or
// domain.ErrNotFound when it never fired. Sensors resume from it, so a
// restarted or second sensor process never re-fires an earlier slot.
func (d *DB) TimerFireLatest(ctx context.Context, ruleID int64) (TimerFire, error) {
	row, err := d.q.TimerFireLatest(ctx, d.db, ruleID)
	if err != nil {
		return TimerFire{}, interpretError(err, fmt.Sprintf("latest timer fire of rule %d", ruleID))
	}
	return TimerFire{ID: row.ID, RuleID: row.RuleID, ScheduledFor: row.ScheduledFor, EventID: row.EventID, Created: row.Created}, nil
}

// TimerFireCount returns how many fires a rule has recorded.
func (d *DB) TimerFireCount(ctx context.Context, ruleID int64) (int64, error) {
	n, err := d.q.TimerFireCountByRule(ctx, d.db, ruleID)
	if err != nil {
		return 0, interpretError(err, fmt.Sprintf("count timer fires of rule %d", ruleID))
	}
	return n, nil
}
