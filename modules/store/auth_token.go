package store

import (
	"context"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// AuthToken records one issued JWT by jti so it can be revoked and, for
// refresh tokens, rotated with reuse detection (Family groups a rotation
// chain).
type AuthToken struct {
	JTI        string
	Identity   *int64
	TokenType  string
	Execution  *int64
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	ReplacedBy *string
	Family     *string
	Created    time.Time
}

// NewAuthToken is the input to AuthTokenInsert.
type NewAuthToken struct {
	JTI       string
	Identity  *int64
	TokenType string
	Execution *int64
	Family    *string
	ExpiresAt time.Time
}

// AuthTokenInsert records an issued token.
func (d *DB) AuthTokenInsert(ctx context.Context, n NewAuthToken) error {
	err := d.q.AuthTokenInsert(ctx, d.db, dbsqlc.AuthTokenInsertParams{
		Jti: n.JTI, Identity: n.Identity, TokenType: n.TokenType, Execution: n.Execution,
		Family: n.Family, ExpiresAt: n.ExpiresAt,
	})
	return interpretError(err, "record auth token")
}

// AuthTokenGet returns the record for jti (domain.ErrNotFound if unknown).
func (d *DB) AuthTokenGet(ctx context.Context, jti string) (AuthToken, error) {
	r, err := d.q.AuthTokenGet(ctx, d.db, jti)
	if err != nil {
		return AuthToken{}, interpretError(err, "auth token")
	}
	return AuthToken{
		JTI: r.Jti, Identity: r.Identity, TokenType: r.TokenType, Execution: r.Execution,
		ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, ReplacedBy: r.ReplacedBy, Family: r.Family, Created: r.Created,
	}, nil
}

// AuthTokenRotate revokes jti and records its successor. It is a
// compare-and-set: a token already revoked (or rotated) returns
// domain.ErrConflict, which the caller treats as reuse.
func (d *DB) AuthTokenRotate(ctx context.Context, jti, replacedBy string) error {
	n, err := d.q.AuthTokenRotate(ctx, d.db, dbsqlc.AuthTokenRotateParams{Jti: jti, ReplacedBy: &replacedBy})
	if err != nil {
		return interpretError(err, "rotate auth token")
	}
	if n == 0 {
		return domain.Conflictf("auth token already revoked")
	}
	return nil
}

// AuthTokenRevoke revokes one token; revoking twice is not an error.
func (d *DB) AuthTokenRevoke(ctx context.Context, jti string) error {
	_, err := d.q.AuthTokenRevoke(ctx, d.db, jti)
	return interpretError(err, "revoke auth token")
}

// AuthTokenRevokeFamily revokes every live token of a refresh family and
// returns how many were revoked.
func (d *DB) AuthTokenRevokeFamily(ctx context.Context, family string) (int64, error) {
	n, err := d.q.AuthTokenRevokeFamily(ctx, d.db, &family)
	return n, interpretError(err, "revoke token family")
}

// AuthTokenRevokeIdentity revokes every live access and refresh token of an
// identity (password change, freeze, delete).
func (d *DB) AuthTokenRevokeIdentity(ctx context.Context, identity int64) (int64, error) {
	n, err := d.q.AuthTokenRevokeIdentity(ctx, d.db, &identity)
	return n, interpretError(err, "revoke identity tokens")
}

// AuthTokenDeleteExpired drops records that expired before before.
func (d *DB) AuthTokenDeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	n, err := d.q.AuthTokenDeleteExpired(ctx, d.db, before)
	return n, interpretError(err, "delete expired auth tokens")
}
