package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// Sensor mirrors one row of the sensor table.
type Sensor struct {
	ID                       int64
	Ref                      string
	Pack                     *int64
	PackRef                  *string
	Label                    string
	Description              *string
	Entrypoint               string
	Runtime                  int64
	RuntimeRef               string
	Enabled                  bool
	IsAdhoc                  bool
	ParamSchema              json.RawMessage
	Config                   json.RawMessage
	RuntimeVersionConstraint *string
	Created                  time.Time
	Updated                  time.Time
}

func sensorFromRow(r dbsqlc.Sensor) Sensor {
	return Sensor{
		ID: r.ID, Ref: r.Ref, Pack: r.Pack, PackRef: r.PackRef, Label: r.Label, Description: r.Description,
		Entrypoint: r.Entrypoint, Runtime: r.Runtime, RuntimeRef: r.RuntimeRef, Enabled: r.Enabled,
		IsAdhoc: r.IsAdhoc, ParamSchema: r.ParamSchema, Config: r.Config,
		RuntimeVersionConstraint: r.RuntimeVersionConstraint, Created: r.Created, Updated: r.Updated,
	}
}

// SensorGetByRef returns one sensor by ref.
func (d *DB) SensorGetByRef(ctx context.Context, ref string) (Sensor, error) {
	row, err := d.q.SensorGetByRef(ctx, d.db, ref)
	if err != nil {
		return Sensor{}, interpretError(err, fmt.Sprintf("sensor %q", ref))
	}
	return sensorFromRow(row), nil
}

// SensorList lists sensors ordered by ref; packRef "" lists every pack.
func (d *DB) SensorList(ctx context.Context, packRef string) ([]Sensor, error) {
	rows, err := d.q.SensorList(ctx, d.db, strParam(packRef))
	if err != nil {
		return nil, interpretError(err, "list sensors")
	}
	out := make([]Sensor, len(rows))
	for i, r := range rows {
		out[i] = sensorFromRow(r)
	}
	return out, nil
}

// SensorUpsert inserts or updates the sensor with x.Ref (id and timestamps are ignored).
func (d *DB) SensorUpsert(ctx context.Context, x Sensor) (Sensor, error) {
	row, err := d.q.SensorUpsert(ctx, d.db, dbsqlc.SensorUpsertParams{
		Ref: x.Ref, Pack: x.Pack, PackRef: x.PackRef, Label: x.Label, Description: x.Description,
		Entrypoint: x.Entrypoint, Runtime: x.Runtime, RuntimeRef: x.RuntimeRef, Enabled: x.Enabled,
		IsAdhoc: x.IsAdhoc, ParamSchema: x.ParamSchema, Config: x.Config,
		RuntimeVersionConstraint: x.RuntimeVersionConstraint,
	})
	if err != nil {
		return Sensor{}, interpretError(err, fmt.Sprintf("upsert sensor %q", x.Ref))
	}
	return sensorFromRow(row), nil
}

// SensorPruneByPack deletes the pack's file-defined sensors whose refs are
// not in keep (ad-hoc sensors stay) and returns the deleted refs.
func (d *DB) SensorPruneByPack(ctx context.Context, packID int64, keep []string) ([]string, error) {
	refs, err := d.q.SensorPruneByPack(ctx, d.db, dbsqlc.SensorPruneByPackParams{Pack: &packID, Keep: nonNil(keep)})
	if err != nil {
		return nil, interpretError(err, "prune sensors")
	}
	return refs, nil
}

// nonNil turns a nil slice into an empty one: `ref = ANY(NULL)` is NULL, and
// NOT NULL would keep every row.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
