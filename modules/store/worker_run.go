package store

import (
	"context"
	"fmt"
)

// WorkerMarkInactive takes a worker out of scheduling on graceful shutdown.
// A missing row is not an error: there is nothing left to take out.
func (d *DB) WorkerMarkInactive(ctx context.Context, id int64) error {
	if _, err := d.q.WorkerSetInactive(ctx, d.db, id); err != nil {
		return interpretError(err, fmt.Sprintf("worker %d", id))
	}
	return nil
}
