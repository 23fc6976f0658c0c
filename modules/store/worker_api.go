package store

import (
	"context"
	"fmt"

	"github.com/attune-system/attune/db/dbsqlc"
)

// WorkerSetCordon cordons (reason, by) or uncordons a worker. The executor's
// worker pick skips cordoned workers; running executions are unaffected.
func (d *DB) WorkerSetCordon(ctx context.Context, id int64, cordoned bool, reason, by string) (Worker, error) {
	row, err := d.q.WorkerSetCordon(ctx, d.db, dbsqlc.WorkerSetCordonParams{ID: id, Cordoned: cordoned,
		Reason: optString(reason), ByLogin: optString(by)})
	if err != nil {
		return Worker{}, interpretError(err, fmt.Sprintf("worker %d", id))
	}
	return workerFromRow(row), nil
}

// WorkerLoad is what a worker currently holds: status → count of its
// scheduled, running and canceling executions.
type WorkerLoad map[string]int64

// WorkerLoads returns the load of every worker holding executions.
func (d *DB) WorkerLoads(ctx context.Context) (map[int64]WorkerLoad, error) {
	rows, err := d.q.WorkerLoadCounts(ctx, d.db)
	if err != nil {
		return nil, interpretError(err, "worker load")
	}
	out := map[int64]WorkerLoad{}
	for _, r := range rows {
		if out[r.Worker] == nil {
			out[r.Worker] = WorkerLoad{}
		}
		out[r.Worker][r.Status] = r.Count
	}
	return out, nil
}
