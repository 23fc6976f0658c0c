package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/security/rbac"
)

func (m *Module) auditRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/audit", OperationID: "listAuditLog", Auth: Users, Handler: m.listAudit},
	}
}

// AuditResponse is one audit_log row.
type AuditResponse struct {
	ID          int64           `json:"id"`
	IdentityID  *int64          `json:"identity_id"`
	Login       *string         `json:"login"`
	Action      string          `json:"action"`
	Resource    string          `json:"resource"`
	ResourceRef *string         `json:"resource_ref"`
	SourceIP    *string         `json:"source_ip"`
	Details     json.RawMessage `json:"details"`
	Created     time.Time       `json:"created"`
}

func (m *Module) listAudit(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if err := can(p, rbac.ResAuditLog, rbac.ActRead); err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rows, err := m.d.Store.AuditLogListPage(ctx, pg.Offset(), pg.Limit())
	if err != nil {
		return err
	}
	var total *int64
	if pg.IncludeTotal {
		n, err := m.d.Store.AuditLogCount(ctx)
		if err != nil {
			return err
		}
		total = &n
	}
	out := make([]AuditResponse, len(rows))
	for i, r := range rows {
		out[i] = AuditResponse{ID: r.ID, IdentityID: r.Identity, Login: r.Login, Action: r.Action, Resource: r.Resource,
			ResourceRef: r.ResourceRef, SourceIP: r.SourceIP, Details: r.Details, Created: r.Created}
	}
	return c.JSON(http.StatusOK, paged(pg, out, total))
}
