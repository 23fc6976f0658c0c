package store

import (
	"context"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// IntegrationToken is a long-lived opaque API token of an identity. Only
// the SHA-256 of the plaintext is stored; prefix and suffix let a human
// recognise it in listings.
type IntegrationToken struct {
	ID               int64
	Identity         int64
	Label            string
	Description      *string
	TokenHash        string
	TokenPrefix      string
	TokenSuffix      string
	CreatedBy        *int64
	ExpiresAt        *time.Time
	LastUsedAt       *time.Time
	LastUsedIP       *string
	RevokedAt        *time.Time
	RevokedBy        *int64
	RevocationReason *string
	Created          time.Time
	Updated          time.Time
}

// Usable reports whether the token is neither revoked nor expired at now.
func (t IntegrationToken) Usable(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

func integrationTokenFromRow(r dbsqlc.IntegrationToken) IntegrationToken {
	return IntegrationToken{
		ID: r.ID, Identity: r.Identity, Label: r.Label, Description: r.Description, TokenHash: r.TokenHash,
		TokenPrefix: r.TokenPrefix, TokenSuffix: r.TokenSuffix, CreatedBy: r.CreatedBy, ExpiresAt: r.ExpiresAt,
		LastUsedAt: r.LastUsedAt, LastUsedIP: r.LastUsedIp, RevokedAt: r.RevokedAt, RevokedBy: r.RevokedBy,
		RevocationReason: r.RevocationReason, Created: r.Created, Updated: r.Updated,
	}
}

// NewIntegrationToken is the input to IntegrationTokenInsert.
type NewIntegrationToken struct {
	Identity    int64
	Label       string
	Description *string
	TokenHash   string
	TokenPrefix string
	TokenSuffix string
	CreatedBy   *int64
	ExpiresAt   *time.Time
}

// IntegrationTokenInsert stores a new token record.
func (d *DB) IntegrationTokenInsert(ctx context.Context, n NewIntegrationToken) (IntegrationToken, error) {
	r, err := d.q.IntegrationTokenInsert(ctx, d.db, dbsqlc.IntegrationTokenInsertParams{
		Identity: n.Identity, Label: n.Label, Description: n.Description, TokenHash: n.TokenHash,
		TokenPrefix: n.TokenPrefix, TokenSuffix: n.TokenSuffix, CreatedBy: n.CreatedBy, ExpiresAt: n.ExpiresAt,
	})
	if err != nil {
		return IntegrationToken{}, interpretError(err, "create integration token")
	}
	return integrationTokenFromRow(r), nil
}

// IntegrationTokenGet returns one token by id.
func (d *DB) IntegrationTokenGet(ctx context.Context, id int64) (IntegrationToken, error) {
	r, err := d.q.IntegrationTokenGet(ctx, d.db, id)
	if err != nil {
		return IntegrationToken{}, interpretError(err, fmt.Sprintf("integration token %d", id))
	}
	return integrationTokenFromRow(r), nil
}

// IntegrationTokenGetByHash looks a token up by the SHA-256 hex of its plaintext.
func (d *DB) IntegrationTokenGetByHash(ctx context.Context, hash string) (IntegrationToken, error) {
	r, err := d.q.IntegrationTokenGetByHash(ctx, d.db, hash)
	if err != nil {
		return IntegrationToken{}, interpretError(err, "integration token")
	}
	return integrationTokenFromRow(r), nil
}

// IntegrationTokenListByIdentity lists an identity's tokens, newest first.
func (d *DB) IntegrationTokenListByIdentity(ctx context.Context, identity int64) ([]IntegrationToken, error) {
	rows, err := d.q.IntegrationTokenListByIdentity(ctx, d.db, identity)
	if err != nil {
		return nil, interpretError(err, "list integration tokens")
	}
	out := make([]IntegrationToken, len(rows))
	for i, r := range rows {
		out[i] = integrationTokenFromRow(r)
	}
	return out, nil
}

// IntegrationTokenRevoke revokes token id of identity (idempotent: the first
// revocation's time, actor and reason are kept).
func (d *DB) IntegrationTokenRevoke(ctx context.Context, identity, id int64, by *int64, reason *string) (IntegrationToken, error) {
	r, err := d.q.IntegrationTokenRevoke(ctx, d.db, dbsqlc.IntegrationTokenRevokeParams{
		ID: id, Identity: identity, RevokedBy: by, RevocationReason: reason,
	})
	if err != nil {
		return IntegrationToken{}, interpretError(err, fmt.Sprintf("integration token %d", id))
	}
	return integrationTokenFromRow(r), nil
}

// IntegrationTokenDelete deletes token id of identity.
func (d *DB) IntegrationTokenDelete(ctx context.Context, identity, id int64) error {
	n, err := d.q.IntegrationTokenDelete(ctx, d.db, dbsqlc.IntegrationTokenDeleteParams{ID: id, Identity: identity})
	if err != nil {
		return interpretError(err, fmt.Sprintf("integration token %d", id))
	}
	if n == 0 {
		return domain.NotFoundf("integration token %d", id)
	}
	return nil
}

// IntegrationTokenTouch records a use of the token.
func (d *DB) IntegrationTokenTouch(ctx context.Context, id int64, ip string) error {
	err := d.q.IntegrationTokenTouch(ctx, d.db, dbsqlc.IntegrationTokenTouchParams{ID: id, LastUsedIp: strParam(ip)})
	return interpretError(err, fmt.Sprintf("integration token %d", id))
}
