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
