package store

import "context"

// MetadataVersion is the number of committed changes to rules, actions,
// policies, runtimes and keys, bumped in each writer's transaction by
// statement triggers (migration 00002). A cache of those rows loaded after
// reading version v stays valid while MetadataVersion is still v.
func (d *DB) MetadataVersion(ctx context.Context) (int64, error) {
	v, err := d.q.MetadataVersionGet(ctx, d.db)
	return v, interpretError(err, "metadata version")
}
