package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// AuditEntry is one append-only audit_log row: who did what to which
// resource, from where. Details never hold secret values.
type AuditEntry struct {
	ID          int64
	Identity    *int64
	Login       *string
	Action      string
	Resource    string
	ResourceRef *string
	SourceIP    *string
	Details     json.RawMessage
	Created     time.Time
}

// AuditLogInsert appends one entry (ID and Created are ignored).
func (d *DB) AuditLogInsert(ctx context.Context, e AuditEntry) error {
	details := e.Details
	if len(details) == 0 {
		details = json.RawMessage("{}")
	}
	err := d.q.AuditLogInsert(ctx, d.db, dbsqlc.AuditLogInsertParams{
		Identity: e.Identity, Login: e.Login, Action: e.Action, Resource: e.Resource,
		ResourceRef: e.ResourceRef, SourceIp: e.SourceIP, Details: details,
	})
	return interpretError(err, "append audit log")
}

// AuditLogListPage returns entries newest first.
func (d *DB) AuditLogListPage(ctx context.Context, offset, limit int32) ([]AuditEntry, error) {
	rows, err := d.q.AuditLogListPage(ctx, d.db, dbsqlc.AuditLogListPageParams{PageOffset: offset, PageLimit: limit})
	if err != nil {
		return nil, interpretError(err, "list audit log")
	}
	out := make([]AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = AuditEntry{ID: r.ID, Identity: r.Identity, Login: r.Login, Action: r.Action, Resource: r.Resource,
			ResourceRef: r.ResourceRef, SourceIP: r.SourceIp, Details: r.Details, Created: r.Created}
	}
	return out, nil
}

// AuditLogCount counts entries.
func (d *DB) AuditLogCount(ctx context.Context) (int64, error) {
	n, err := d.q.AuditLogCount(ctx, d.db)
	return n, interpretError(err, "count audit log")
}
