package access

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// SystemLogin is the login of the built-in system identity: the executor of
// rule-fired executions. It has no password and cannot log in.
const SystemLogin = "system"

var systemIDs sync.Map // *store.Store → int64

// SystemIdentityID returns the id of the system identity, creating it on
// first use (concurrent creators converge on the same row).
func SystemIdentityID(ctx context.Context, st *store.Store) (int64, error) {
	if v, ok := systemIDs.Load(st); ok {
		return v.(int64), nil
	}
	ident, err := st.IdentityGetByLogin(ctx, SystemLogin)
	if errors.Is(err, domain.ErrNotFound) {
		name := "System"
		ident, err = st.IdentityInsert(ctx, store.NewIdentity{
			Login: SystemLogin, DisplayName: &name, Attributes: json.RawMessage(`{"system":true}`),
		})
		if errors.Is(err, domain.ErrConflict) { // another process created it first
			ident, err = st.IdentityGetByLogin(ctx, SystemLogin)
		}
	}
	if err != nil {
		return 0, err
	}
	systemIDs.Store(st, ident.ID)
	return ident.ID, nil
}

// EnsureBuiltinSets creates the core.* permission sets from
// rbac.BuiltinGrants when they are absent, so assignments to them work
// before the core pack is registered. Existing rows are left alone.
func EnsureBuiltinSets(ctx context.Context, st *store.Store) error {
	for _, ref := range rbac.BuiltinRefs {
		if _, err := st.PermissionSetGetByRef(ctx, ref); err == nil {
			continue
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		grants, err := json.Marshal(rbac.BuiltinGrants(ref))
		if err != nil {
			return err
		}
		packRef, label := rbac.CorePack, ref
		if _, err := st.PermissionSetUpsert(ctx, store.PermissionSet{
			Ref: ref, PackRef: &packRef, Label: &label, Grants: grants,
		}); err != nil {
			return err
		}
	}
	return nil
}
