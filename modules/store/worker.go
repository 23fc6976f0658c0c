package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// Worker is a registered action/sensor worker process.
type Worker struct {
	ID                  int64
	Name                string
	WorkerType          string
	WorkerRole          string
	Runtime             *int64
	Host                *string
	Port                *int32
	Status              string
	Capabilities        json.RawMessage
	Meta                json.RawMessage
	LastHeartbeat       *time.Time
	HeartbeatIntervalMS int32
	Cordoned            bool
	CordonReason        *string
	CordonedBy          *string
	CordonedAt          *time.Time
	Created             time.Time
	Updated             time.Time
}

func workerFromRow(r dbsqlc.Worker) Worker {
	return Worker{
		ID: r.ID, Name: r.Name, WorkerType: string(r.WorkerType), WorkerRole: string(r.WorkerRole),
		Runtime: r.Runtime, Host: r.Host, Port: r.Port, Status: string(r.Status), Capabilities: r.Capabilities,
		Meta: r.Meta, LastHeartbeat: r.LastHeartbeat, HeartbeatIntervalMS: r.HeartbeatIntervalMs,
		Cordoned: r.Cordoned, CordonReason: r.CordonReason, CordonedBy: r.CordonedBy, CordonedAt: r.CordonedAt,
		Created: r.Created, Updated: r.Updated,
	}
}

// WorkerRegistration is the input to WorkerUpsert.
type WorkerRegistration struct {
	Name         string
	WorkerType   string // local (default), remote, container
	WorkerRole   string // action (default), sensor, hybrid
	Runtime      *int64
	Host         *string
	Port         *int32
	Capabilities json.RawMessage
	Meta         json.RawMessage
	// HeartbeatInterval defaults to 5s.
	HeartbeatInterval time.Duration
}

// WorkerUpsert registers a worker by name (a restart reuses its row), marks
// it active and stamps a heartbeat.
func (d *DB) WorkerUpsert(ctx context.Context, w WorkerRegistration) (Worker, error) {
	if w.Name == "" {
		return Worker{}, domain.NewValidationError("name", "must not be empty")
	}
	wt := dbsqlc.WorkerTypeEnum(w.WorkerType)
	if w.WorkerType == "" {
		wt = dbsqlc.WorkerTypeEnumLocal
	}
	if !wt.Valid() {
		return Worker{}, domain.Invalidf("worker_type", "unknown worker type %q", w.WorkerType)
	}
	wr := dbsqlc.WorkerRoleEnum(w.WorkerRole)
	if w.WorkerRole == "" {
		wr = dbsqlc.WorkerRoleEnumAction
	}
	if !wr.Valid() {
		return Worker{}, domain.Invalidf("worker_role", "unknown worker role %q", w.WorkerRole)
	}
	interval := w.HeartbeatInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	row, err := d.q.WorkerUpsert(ctx, d.db, dbsqlc.WorkerUpsertParams{
		Name: w.Name, WorkerType: wt, WorkerRole: wr, Runtime: w.Runtime, Host: w.Host, Port: w.Port,
		Capabilities: w.Capabilities, Meta: w.Meta, HeartbeatIntervalMs: int32(interval.Milliseconds()),
	})
	if err != nil {
		return Worker{}, interpretError(err, "register worker "+w.Name)
	}
	return workerFromRow(row), nil
}

// WorkerGet returns one worker.
func (d *DB) WorkerGet(ctx context.Context, id int64) (Worker, error) {
	row, err := d.q.WorkerGet(ctx, d.db, id)
	if err != nil {
		return Worker{}, interpretError(err, fmt.Sprintf("worker %d", id))
	}
	return workerFromRow(row), nil
}

// WorkerListStale lists active or busy workers silent for longer than staleAfter.
func (d *DB) WorkerListStale(ctx context.Context, staleAfter time.Duration) ([]Worker, error) {
	rows, err := d.q.WorkerListStale(ctx, d.db, staleAfter.Seconds())
	if err != nil {
		return nil, interpretError(err, "list stale workers")
	}
	out := make([]Worker, len(rows))
	for i, r := range rows {
		out[i] = workerFromRow(r)
	}
	return out, nil
}

// WorkerList lists every registered worker.
func (d *DB) WorkerList(ctx context.Context) ([]Worker, error) {
	rows, err := d.q.WorkerList(ctx, d.db)
	if err != nil {
		return nil, interpretError(err, "list workers")
	}
	out := make([]Worker, len(rows))
	for i, r := range rows {
		out[i] = workerFromRow(r)
	}
	return out, nil
}
