package store

import (
	"context"

	"github.com/attune-system/attune/db/dbsqlc"
)

// TriggerPruneByPack deletes the pack's file-defined triggers whose refs are
// not in keep (ad-hoc triggers stay) and returns the deleted refs.
func (d *DB) TriggerPruneByPack(ctx context.Context, packID int64, keep []string) ([]string, error) {
	refs, err := d.q.TriggerPruneByPack(ctx, d.db, dbsqlc.TriggerPruneByPackParams{Pack: &packID, Keep: nonNil(keep)})
	if err != nil {
		return nil, interpretError(err, "prune triggers")
	}
	return refs, nil
}

// TriggerLinkSensor points the pack's triggers named in refs at the sensor
// that emits them and returns how many were linked.
func (d *DB) TriggerLinkSensor(ctx context.Context, packID, sensorID int64, sensorRef string, refs []string) (int64, error) {
	n, err := d.q.TriggerLinkSensor(ctx, d.db, dbsqlc.TriggerLinkSensorParams{
		Sensor: &sensorID, SensorRef: &sensorRef, Pack: &packID, Refs: nonNil(refs),
	})
	if err != nil {
		return 0, interpretError(err, "link triggers to sensor "+sensorRef)
	}
	return n, nil
}
