package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// Runtime mirrors one row of the runtime table.
type Runtime struct {
	ID              int64
	Ref             string
	Pack            *int64
	PackRef         *string
	Description     *string
	Name            string
	Aliases         []string
	Distributions   json.RawMessage
	Installation    json.RawMessage
	Installers      json.RawMessage
	ExecutionConfig json.RawMessage
	AutoDetected    bool
	DetectionConfig json.RawMessage
	Created         time.Time
	Updated         time.Time
}

func runtimeFromRow(r dbsqlc.Runtime) Runtime {
	return Runtime{
		ID:              r.ID,
		Ref:             r.Ref,
		Pack:            r.Pack,
		PackRef:         r.PackRef,
		Description:     r.Description,
		Name:            r.Name,
		Aliases:         r.Aliases,
		Distributions:   r.Distributions,
		Installation:    r.Installation,
		Installers:      r.Installers,
		ExecutionConfig: r.ExecutionConfig,
		AutoDetected:    r.AutoDetected,
		DetectionConfig: r.DetectionConfig,
		Created:         r.Created,
		Updated:         r.Updated,
	}
}

func runtimesFromRows(rows []dbsqlc.Runtime) []Runtime {
	out := make([]Runtime, len(rows))
	for i, r := range rows {
		out[i] = runtimeFromRow(r)
	}
	return out
}

// RuntimeGet returns one runtime by id.
func (d *DB) RuntimeGet(ctx context.Context, id int64) (Runtime, error) {
	row, err := d.q.RuntimeGet(ctx, d.db, id)
	if err != nil {
		return Runtime{}, interpretError(err, fmt.Sprintf("runtime %d", id))
	}
	return runtimeFromRow(row), nil
}

// RuntimeGetByRef returns one runtime by ref.
func (d *DB) RuntimeGetByRef(ctx context.Context, ref string) (Runtime, error) {
	row, err := d.q.RuntimeGetByRef(ctx, d.db, ref)
	if err != nil {
		return Runtime{}, interpretError(err, fmt.Sprintf("runtime %q", ref))
	}
	return runtimeFromRow(row), nil
}

// RuntimeDelete deletes one runtime by id and reports whether it existed.
func (d *DB) RuntimeDelete(ctx context.Context, id int64) (bool, error) {
	n, err := d.q.RuntimeDelete(ctx, d.db, id)
	if err != nil {
		return false, interpretError(err, fmt.Sprintf("delete runtime %d", id))
	}
	return n > 0, nil
}

// RuntimeUpsert inserts or updates the runtime with x.Ref (id and timestamps are ignored).
func (d *DB) RuntimeUpsert(ctx context.Context, x Runtime) (Runtime, error) {
	row, err := d.q.RuntimeUpsert(ctx, d.db, dbsqlc.RuntimeUpsertParams{
		Ref:             x.Ref,
		Pack:            x.Pack,
		PackRef:         x.PackRef,
		Description:     x.Description,
		Name:            x.Name,
		Aliases:         x.Aliases,
		Distributions:   x.Distributions,
		Installation:    x.Installation,
		Installers:      x.Installers,
		ExecutionConfig: x.ExecutionConfig,
		AutoDetected:    x.AutoDetected,
		DetectionConfig: x.DetectionConfig,
	})
	if err != nil {
		return Runtime{}, interpretError(err, fmt.Sprintf("upsert runtime %q", x.Ref))
	}
	return runtimeFromRow(row), nil
}

// RuntimeList lists every runtime.
func (d *DB) RuntimeList(ctx context.Context) ([]Runtime, error) {
	rows, err := d.q.RuntimeList(ctx, d.db)
	if err != nil {
		return nil, interpretError(err, "list runtimes")
	}
	return runtimesFromRows(rows), nil
}
