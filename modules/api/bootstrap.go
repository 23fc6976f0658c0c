package api

import (
	"context"
	"fmt"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// bootstrap makes a fresh database usable: the system identity, the
// built-in core.* permission sets, and — when no identity can log in — the
// first administrator. A generated password is printed once to stdout (not
// the logger, so it is not shipped to log aggregation) and is never stored
// in clear.
func (m *Module) bootstrap(ctx context.Context) error {
	st := m.d.Store
	if _, err := access.SystemIdentityID(ctx, st); err != nil {
		return fmt.Errorf("api: ensure system identity: %w", err)
	}
	if err := access.EnsureBuiltinSets(ctx, st); err != nil {
		return fmt.Errorf("api: ensure built-in permission sets: %w", err)
	}
	n, err := st.IdentityCountHuman(ctx)
	if err != nil {
		return fmt.Errorf("api: first-run check: %w", err)
	}
	if n > 0 {
		return nil
	}
	login := m.d.Security.AdminLogin
	if login == "" {
		login = "admin"
	}
	pw, generated := m.d.Security.AdminPassword, false
	if pw == "" {
		pw, generated = security.GenerateSecret(), true
	}
	hash, err := security.HashPassword(pw, m.passwordCost)
	if err != nil {
		return fmt.Errorf("api: hash admin password: %w", err)
	}
	name := "Administrator"
	err = st.InTx(ctx, func(tx *store.Tx) error {
		ident, err := tx.IdentityInsert(ctx, store.NewIdentity{Login: login, DisplayName: &name, PasswordHash: &hash})
		if err != nil {
			return err
		}
		set, err := tx.PermissionSetGetByRef(ctx, rbac.CoreAdmin)
		if err != nil {
			return err
		}
		_, err = tx.PermissionAssignmentInsert(ctx, ident.ID, set.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("api: create first-run admin %q: %w", login, err)
	}
	m.d.Log.Info("created first-run administrator", "login", login, "password_generated", generated)
	if generated {
		fmt.Fprintf(m.out, "\nattune: created administrator %q with generated password:\n\n    %s\n\n"+
			"This password is shown only once. Sign in and change it (POST /auth/change-password),\n"+
			"or set ATTUNE__SECURITY__ADMIN_PASSWORD before the first start next time.\n\n", login, pw)
	}
	return nil
}
