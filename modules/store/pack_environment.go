package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// Pack environment statuses (pack_environment_status_enum).
const (
	EnvPending    = "pending"
	EnvInstalling = "installing"
	EnvReady      = "ready"
	EnvFailed     = "failed"
	EnvOutdated   = "outdated"
)

// PackEnvironment is one per-pack, per-runtime environment (virtualenv,
// node_modules) and its build lease (spec §4.3).
type PackEnvironment struct {
	ID               int64
	Pack             int64
	PackRef          string
	Runtime          int64
	RuntimeRef       string
	RuntimeVersion   *string
	EnvPath          string
	Status           string
	ManifestChecksum *string
	ClaimedBy        *string
	ClaimExpiresAt   *time.Time
	InstalledAt      *time.Time
	LastVerified     *time.Time
	InstallLog       *string
	InstallError     *string
	Metadata         json.RawMessage
	Created          time.Time
	Updated          time.Time
}

func packEnvFromRow(r dbsqlc.PackEnvironment) PackEnvironment {
	return PackEnvironment{
		ID: r.ID, Pack: r.Pack, PackRef: r.PackRef, Runtime: r.Runtime, RuntimeRef: r.RuntimeRef,
		RuntimeVersion: r.RuntimeVersion, EnvPath: r.EnvPath, Status: string(r.Status),
		ManifestChecksum: r.ManifestChecksum, ClaimedBy: r.ClaimedByWorker, ClaimExpiresAt: r.ClaimExpiresAt,
		InstalledAt: r.InstalledAt, LastVerified: r.LastVerified, InstallLog: r.InstallLog,
		InstallError: r.InstallError, Metadata: r.Metadata, Created: r.Created, Updated: r.Updated,
	}
}

// PackEnvironmentEnsure returns the environment row of (pack, runtime),
// creating it as pending when missing.
func (d *DB) PackEnvironmentEnsure(ctx context.Context, packID int64, packRef string, runtimeID int64, runtimeRef, envPath string) (PackEnvironment, error) {
	row, err := d.q.PackEnvironmentEnsure(ctx, d.db, dbsqlc.PackEnvironmentEnsureParams{
		Pack: packID, PackRef: packRef, Runtime: runtimeID, RuntimeRef: runtimeRef, EnvPath: envPath,
	})
	if err != nil {
		return PackEnvironment{}, interpretError(err, fmt.Sprintf("pack environment %s/%s", packRef, runtimeRef))
	}
	return packEnvFromRow(row), nil
}

// PackEnvironmentGet returns one environment row by id.
func (d *DB) PackEnvironmentGet(ctx context.Context, id int64) (PackEnvironment, error) {
	row, err := d.q.PackEnvironmentGet(ctx, d.db, id)
	if err != nil {
		return PackEnvironment{}, interpretError(err, fmt.Sprintf("pack environment %d", id))
	}
	return packEnvFromRow(row), nil
}

// PackEnvironmentListByPack lists a pack's environments.
func (d *DB) PackEnvironmentListByPack(ctx context.Context, packRef string) ([]PackEnvironment, error) {
	rows, err := d.q.PackEnvironmentListByPack(ctx, d.db, packRef)
	if err != nil {
		return nil, interpretError(err, "list pack environments")
	}
	out := make([]PackEnvironment, len(rows))
	for i, r := range rows {
		out[i] = packEnvFromRow(r)
	}
	return out, nil
}

// PackEnvironmentClaim takes the build lease for holder (status becomes
// installing). ok is false when another holder has a live lease, or when
// unlessReady is set and the environment is ready with that checksum (a
// build finished since the caller looked; nil claims it regardless, for a
// ready environment whose files are gone).
func (d *DB) PackEnvironmentClaim(ctx context.Context, id int64, holder string, ttl time.Duration, unlessReady *string) (env PackEnvironment, ok bool, err error) {
	row, err := d.q.PackEnvironmentClaim(ctx, d.db, dbsqlc.PackEnvironmentClaimParams{
		Holder: &holder, TtlSeconds: ttl.Seconds(), ID: id, UnlessReadyChecksum: unlessReady,
	})
	if err != nil {
		err = interpretError(err, fmt.Sprintf("claim pack environment %d", id))
		if errors.Is(err, domain.ErrNotFound) {
			return PackEnvironment{}, false, nil
		}
		return PackEnvironment{}, false, err
	}
	return packEnvFromRow(row), true, nil
}

// PackEnvironmentRenew extends holder's lease; false means it was lost.
func (d *DB) PackEnvironmentRenew(ctx context.Context, id int64, holder string, ttl time.Duration) (bool, error) {
	n, err := d.q.PackEnvironmentRenew(ctx, d.db, dbsqlc.PackEnvironmentRenewParams{
		Holder: &holder, TtlSeconds: ttl.Seconds(), ID: id,
	})
	if err != nil {
		return false, interpretError(err, fmt.Sprintf("renew pack environment %d", id))
	}
	return n > 0, nil
}

// PackEnvironmentResult is the outcome of one build.
type PackEnvironmentResult struct {
	Status           string // ready | failed
	ManifestChecksum string
	InstallLog       string
	InstallError     string
}

// PackEnvironmentFinish records a build outcome and releases holder's lease.
// domain.ErrNotFound means the lease had been lost to another builder.
func (d *DB) PackEnvironmentFinish(ctx context.Context, id int64, holder string, r PackEnvironmentResult) (PackEnvironment, error) {
	row, err := d.q.PackEnvironmentFinish(ctx, d.db, dbsqlc.PackEnvironmentFinishParams{
		Status: dbsqlc.PackEnvironmentStatusEnum(r.Status), ManifestChecksum: strParam(r.ManifestChecksum),
		InstallLog: strParam(r.InstallLog), InstallError: strParam(r.InstallError), ID: id, Holder: &holder,
	})
	if err != nil {
		return PackEnvironment{}, interpretError(err, fmt.Sprintf("finish pack environment %d (lease lost?)", id))
	}
	return packEnvFromRow(row), nil
}

// PackEnvironmentTouch records that the environment was verified as usable.
func (d *DB) PackEnvironmentTouch(ctx context.Context, id int64) error {
	return interpretError(d.q.PackEnvironmentTouch(ctx, d.db, id), fmt.Sprintf("pack environment %d", id))
}
