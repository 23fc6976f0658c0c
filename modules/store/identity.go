package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// Identity is a user or service account.
type Identity struct {
	ID          int64
	Login       string
	DisplayName *string
	// PasswordHash is an Argon2id PHC string; nil for service accounts.
	PasswordHash *string
	Attributes   json.RawMessage
	Frozen       bool
	Created      time.Time
	Updated      time.Time
}

func identityFromRow(r dbsqlc.Identity) Identity {
	return Identity{
		ID: r.ID, Login: r.Login, DisplayName: r.DisplayName, PasswordHash: r.PasswordHash,
		Attributes: r.Attributes, Frozen: r.Frozen, Created: r.Created, Updated: r.Updated,
	}
}

// NewIdentity is the input to IdentityInsert.
type NewIdentity struct {
	Login        string
	DisplayName  *string
	PasswordHash *string
	Attributes   json.RawMessage
	Frozen       bool
}

// IdentityInsert creates an identity; a taken login gets domain.ErrConflict.
func (d *DB) IdentityInsert(ctx context.Context, n NewIdentity) (Identity, error) {
	if n.Login == "" {
		return Identity{}, domain.NewValidationError("login", "must not be empty")
	}
	row, err := d.q.IdentityInsert(ctx, d.db, dbsqlc.IdentityInsertParams{
		Login: n.Login, DisplayName: n.DisplayName, PasswordHash: n.PasswordHash,
		Attributes: n.Attributes, Frozen: n.Frozen,
	})
	if err != nil {
		return Identity{}, interpretError(err, fmt.Sprintf("create identity %q", n.Login))
	}
	return identityFromRow(row), nil
}

// IdentityGet returns one identity by id.
func (d *DB) IdentityGet(ctx context.Context, id int64) (Identity, error) {
	row, err := d.q.IdentityGet(ctx, d.db, id)
	if err != nil {
		return Identity{}, interpretError(err, fmt.Sprintf("identity %d", id))
	}
	return identityFromRow(row), nil
}

// IdentityGetByLogin returns one identity by login.
func (d *DB) IdentityGetByLogin(ctx context.Context, login string) (Identity, error) {
	row, err := d.q.IdentityGetByLogin(ctx, d.db, login)
	if err != nil {
		return Identity{}, interpretError(err, fmt.Sprintf("identity %q", login))
	}
	return identityFromRow(row), nil
}

// IdentityList returns up to limit identities with id > afterID, in id order.
func (d *DB) IdentityList(ctx context.Context, afterID int64, limit int32) ([]Identity, error) {
	rows, err := d.q.IdentityList(ctx, d.db, dbsqlc.IdentityListParams{AfterID: afterID, PageSize: limit})
	if err != nil {
		return nil, interpretError(err, "list identities")
	}
	out := make([]Identity, len(rows))
	for i, r := range rows {
		out[i] = identityFromRow(r)
	}
	return out, nil
}

// IdentityCount counts identities (first-run admin bootstrap checks for 0).
func (d *DB) IdentityCount(ctx context.Context) (int64, error) {
	n, err := d.q.IdentityCount(ctx, d.db)
	return n, interpretError(err, "count identities")
}

// IdentityUpdate changes the non-nil fields.
func (d *DB) IdentityUpdate(ctx context.Context, id int64, displayName *string, attributes json.RawMessage, frozen *bool) (Identity, error) {
	row, err := d.q.IdentityUpdate(ctx, d.db, dbsqlc.IdentityUpdateParams{
		ID: id, DisplayName: displayName, Attributes: attributes, Frozen: frozen,
	})
	if err != nil {
		return Identity{}, interpretError(err, fmt.Sprintf("identity %d", id))
	}
	return identityFromRow(row), nil
}

// IdentitySetPassword replaces the password hash; nil disables password login.
func (d *DB) IdentitySetPassword(ctx context.Context, id int64, hash *string) error {
	n, err := d.q.IdentitySetPassword(ctx, d.db, dbsqlc.IdentitySetPasswordParams{ID: id, PasswordHash: hash})
	if err != nil {
		return interpretError(err, fmt.Sprintf("identity %d", id))
	}
	if n == 0 {
		return domain.NotFoundf("identity %d", id)
	}
	return nil
}

// IdentityDelete removes an identity.
func (d *DB) IdentityDelete(ctx context.Context, id int64) error {
	n, err := d.q.IdentityDelete(ctx, d.db, id)
	if err != nil {
		return interpretError(err, fmt.Sprintf("identity %d", id))
	}
	if n == 0 {
		return domain.NotFoundf("identity %d", id)
	}
	return nil
}

// IdentityListPage returns identities newest first, limit rows after
// skipping offset.
func (d *DB) IdentityListPage(ctx context.Context, offset, limit int32) ([]Identity, error) {
	rows, err := d.q.IdentityListPage(ctx, d.db, dbsqlc.IdentityListPageParams{PageOffset: offset, PageLimit: limit})
	if err != nil {
		return nil, interpretError(err, "list identities")
	}
	out := make([]Identity, len(rows))
	for i, r := range rows {
		out[i] = identityFromRow(r)
	}
	return out, nil
}

// IdentityCountHuman counts identities with a password (those that can log
// in); the first-run admin bootstrap runs when it is 0.
func (d *DB) IdentityCountHuman(ctx context.Context) (int64, error) {
	n, err := d.q.IdentityCountHuman(ctx, d.db)
	return n, interpretError(err, "count identities")
}
