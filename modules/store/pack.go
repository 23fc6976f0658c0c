package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// Pack is an installed pack (the unit of distribution for actions, triggers,
// sensors, rules, runtimes).
type Pack struct {
	ID                 int64
	Ref                string
	Label              string
	Description        *string
	Version            string
	ConfSchema         json.RawMessage
	Config             json.RawMessage
	Meta               json.RawMessage
	Tags               []string
	RuntimeDeps        []string
	Dependencies       []string
	IsStandard         bool
	Installers         json.RawMessage
	SourceType         *string
	SourceURL          *string
	SourceRef          *string
	Checksum           *string
	ChecksumVerified   bool
	InstalledAt        *time.Time
	InstalledBy        *int64
	InstallationMethod *string
	StoragePath        *string
	Created            time.Time
	Updated            time.Time
}

func packFromRow(r dbsqlc.Pack) Pack {
	return Pack{
		ID: r.ID, Ref: r.Ref, Label: r.Label, Description: r.Description, Version: r.Version,
		ConfSchema: r.ConfSchema, Config: r.Config, Meta: r.Meta, Tags: r.Tags, RuntimeDeps: r.RuntimeDeps,
		Dependencies: r.Dependencies, IsStandard: r.IsStandard, Installers: r.Installers,
		SourceType: r.SourceType, SourceURL: r.SourceUrl, SourceRef: r.SourceRef, Checksum: r.Checksum,
		ChecksumVerified: r.ChecksumVerified, InstalledAt: r.InstalledAt, InstalledBy: r.InstalledBy,
		InstallationMethod: r.InstallationMethod, StoragePath: r.StoragePath, Created: r.Created, Updated: r.Updated,
	}
}

// PackUpsert inserts or updates the pack with p.Ref (ID and timestamps are
// ignored), keeping its id stable across upgrades. Bad refs or versions come
// back as a *domain.ValidationError naming the CHECK constraint.
func (d *DB) PackUpsert(ctx context.Context, p Pack) (Pack, error) {
	if p.Ref == "" {
		return Pack{}, domain.NewValidationError("ref", "must not be empty")
	}
	row, err := d.q.PackUpsert(ctx, d.db, dbsqlc.PackUpsertParams{
		Ref: p.Ref, Label: p.Label, Description: p.Description, Version: p.Version, ConfSchema: p.ConfSchema,
		Config: p.Config, Meta: p.Meta, Tags: p.Tags, RuntimeDeps: p.RuntimeDeps, Dependencies: p.Dependencies,
		IsStandard: p.IsStandard, Installers: p.Installers, SourceType: p.SourceType, SourceUrl: p.SourceURL,
		SourceRef: p.SourceRef, Checksum: p.Checksum, ChecksumVerified: p.ChecksumVerified,
		InstalledAt: p.InstalledAt, InstalledBy: p.InstalledBy, InstallationMethod: p.InstallationMethod,
		StoragePath: p.StoragePath,
	})
	if err != nil {
		return Pack{}, interpretError(err, fmt.Sprintf("upsert pack %q", p.Ref))
	}
	return packFromRow(row), nil
}

// PackGet returns one pack by id.
func (d *DB) PackGet(ctx context.Context, id int64) (Pack, error) {
	row, err := d.q.PackGet(ctx, d.db, id)
	if err != nil {
		return Pack{}, interpretError(err, fmt.Sprintf("pack %d", id))
	}
	return packFromRow(row), nil
}

// PackGetByRef returns one pack by ref.
func (d *DB) PackGetByRef(ctx context.Context, ref string) (Pack, error) {
	row, err := d.q.PackGetByRef(ctx, d.db, ref)
	if err != nil {
		return Pack{}, interpretError(err, fmt.Sprintf("pack %q", ref))
	}
	return packFromRow(row), nil
}

// PackList returns every pack ordered by ref.
func (d *DB) PackList(ctx context.Context) ([]Pack, error) {
	rows, err := d.q.PackList(ctx, d.db)
	if err != nil {
		return nil, interpretError(err, "list packs")
	}
	out := make([]Pack, len(rows))
	for i, r := range rows {
		out[i] = packFromRow(r)
	}
	return out, nil
}

// PackDelete removes a pack and, by cascade, everything it defines.
func (d *DB) PackDelete(ctx context.Context, id int64) error {
	n, err := d.q.PackDelete(ctx, d.db, id)
	if err != nil {
		return interpretError(err, fmt.Sprintf("pack %d", id))
	}
	if n == 0 {
		return domain.NotFoundf("pack %d", id)
	}
	return nil
}

// PackLock serialises registration, upgrade and removal of one pack across
// processes until the transaction ends. Only meaningful inside a Tx.
func (t *Tx) PackLock(ctx context.Context, ref string) error {
	return interpretError(t.q.PackLockXact(ctx, t.db, ref), fmt.Sprintf("lock pack %q", ref))
}

// PackComponentRefs lists, per kind, the component refs a pack's files
// define; see PackForeignComponents.
type PackComponentRefs struct {
	Actions, Triggers, Rules, Sensors, Runtimes, Policies, PermissionSets, Workflows []string
}

// ForeignComponent is an existing component owned by another pack (Owner ""
// means no pack).
type ForeignComponent struct {
	Kind, Ref, Owner string
}

// PackForeignComponents returns the components among refs that exist but are
// not owned by packRef: registering packRef must not overwrite them.
func (d *DB) PackForeignComponents(ctx context.Context, packRef string, refs PackComponentRefs) ([]ForeignComponent, error) {
	rows, err := d.q.PackForeignComponents(ctx, d.db, dbsqlc.PackForeignComponentsParams{
		PackRef: packRef, ActionRefs: nonNil(refs.Actions), TriggerRefs: nonNil(refs.Triggers),
		RuleRefs: nonNil(refs.Rules), SensorRefs: nonNil(refs.Sensors), RuntimeRefs: nonNil(refs.Runtimes),
		PolicyRefs: nonNil(refs.Policies), PermissionSetRefs: nonNil(refs.PermissionSets),
		WorkflowRefs: nonNil(refs.Workflows),
	})
	if err != nil {
		return nil, interpretError(err, "check component owners")
	}
	out := make([]ForeignComponent, len(rows))
	for i, r := range rows {
		out[i] = ForeignComponent{Kind: r.Kind, Ref: r.Ref, Owner: r.Owner}
	}
	return out, nil
}

// PackCounts is how many components of each kind a pack has.
type PackCounts struct {
	Actions, Triggers, Rules, Sensors, Runtimes, Policies, PermissionSets, Workflows int64
}

// PackComponentCounts counts a pack's components.
func (d *DB) PackComponentCounts(ctx context.Context, packID int64) (PackCounts, error) {
	r, err := d.q.PackComponentCounts(ctx, d.db, packID)
	if err != nil {
		return PackCounts{}, interpretError(err, fmt.Sprintf("count components of pack %d", packID))
	}
	return PackCounts{Actions: r.Actions, Triggers: r.Triggers, Rules: r.Rules, Sensors: r.Sensors,
		Runtimes: r.Runtimes, Policies: r.Policies, PermissionSets: r.PermissionSets, Workflows: r.Workflows}, nil
}
