package store

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/attune-system/attune/modules/domain"
)

// SensorIdentityLoginPrefix prefixes the login of the service identity a
// sensor's tokens are issued to ("sensor:<sensor ref>"). Such identities
// have no password, so nobody can log in as them.
const SensorIdentityLoginPrefix = "sensor:"

// SensorIdentityEnsure returns the id of the service identity for sensorRef,
// creating it on first use. Concurrent callers (several sensor processes)
// converge on the same row: a lost insert race re-reads the winner's.
func (d *DB) SensorIdentityEnsure(ctx context.Context, sensorRef string) (int64, error) {
	login := SensorIdentityLoginPrefix + sensorRef
	if id, err := d.IdentityGetByLogin(ctx, login); err == nil {
		return id.ID, nil
	} else if !errors.Is(err, domain.ErrNotFound) {
		return 0, err
	}
	name := "Sensor " + sensorRef
	created, err := d.IdentityInsert(ctx, NewIdentity{
		Login: login, DisplayName: &name, Attributes: json.RawMessage(`{"service": "sensor"}`),
	})
	if err == nil {
		return created.ID, nil
	}
	if !errors.Is(err, domain.ErrConflict) {
		return 0, err
	}
	id, err := d.IdentityGetByLogin(ctx, login)
	return id.ID, err
}
