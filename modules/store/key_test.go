package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

func TestKeyListForActionPrecedence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)

	mkPack := func(ref string) store.Pack {
		p, err := s.PackUpsert(ctx, store.Pack{Ref: ref, Label: ref, Version: "1.0.0"})
		require.NoError(t, err)
		return p
	}
	demo, other := mkPack("demo"), mkPack("other")
	mkAction := func(p store.Pack, ref string) store.Action {
		a, err := s.ActionUpsert(ctx, store.Action{Ref: ref, Pack: p.ID, PackRef: p.Ref, Label: ref, Entrypoint: "x.sh", Enabled: true})
		require.NoError(t, err)
		return a
	}
	greet, bye := mkAction(demo, "demo.greet"), mkAction(demo, "demo.bye")
	otherAct := mkAction(other, "other.greet")

	val := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	insert := func(n store.NewKey) {
		_, err := s.KeyInsert(ctx, n)
		require.NoError(t, err, n.Ref)
	}
	// Inserted deliberately out of precedence order.
	insert(store.NewKey{Ref: "action.demo.greet.token", OwnerType: store.KeyOwnerAction, OwnerAction: &greet.ID,
		OwnerActionRef: &greet.Ref, Name: "token", Value: val("action")})
	insert(store.NewKey{Ref: "pack.demo.token", OwnerType: store.KeyOwnerPack, OwnerPack: &demo.ID,
		OwnerPackRef: &demo.Ref, Name: "token", Value: val("pack")})
	insert(store.NewKey{Ref: "system.token", OwnerType: store.KeyOwnerSystem, Name: "token", Value: val("system")})
	insert(store.NewKey{Ref: "system.region", OwnerType: store.KeyOwnerSystem, Name: "region", Value: val("eu")})
	// Keys that must not be delivered to demo.greet.
	insert(store.NewKey{Ref: "action.demo.bye.token", OwnerType: store.KeyOwnerAction, OwnerAction: &bye.ID,
		OwnerActionRef: &bye.Ref, Name: "token", Value: val("bye")})
	insert(store.NewKey{Ref: "pack.other.token", OwnerType: store.KeyOwnerPack, OwnerPack: &other.ID,
		OwnerPackRef: &other.Ref, Name: "token", Value: val("other")})
	insert(store.NewKey{Ref: "action.other.greet.token", OwnerType: store.KeyOwnerAction, OwnerAction: &otherAct.ID,
		OwnerActionRef: &otherAct.Ref, Name: "token", Value: val("other-action")})
	ident, err := s.IdentityInsert(ctx, store.NewIdentity{Login: "alice"})
	require.NoError(t, err)
	insert(store.NewKey{Ref: "identity.alice.token", OwnerType: store.KeyOwnerIdentity, OwnerIdentity: &ident.ID,
		Name: "token", Value: val("alice")})

	keys, err := s.KeyListForAction(ctx, "demo", "demo.greet")
	require.NoError(t, err)
	var refs []string
	merged := map[string]string{}
	for _, k := range keys {
		refs = append(refs, k.Ref)
		var v string
		require.NoError(t, json.Unmarshal(k.Value, &v))
		merged[k.Name] = v
	}
	require.Equal(t, []string{"system.token", "system.region", "pack.demo.token", "action.demo.greet.token"}, refs)
	require.Equal(t, map[string]string{"token": "action", "region": "eu"}, merged)

	none, err := s.KeyListForAction(ctx, "nopack", "nopack.none")
	require.NoError(t, err)
	require.Len(t, none, 2, "only system keys for an unrelated action")
}

func TestKeyCRUD(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	v := json.RawMessage(`"v"`)
	k, err := s.KeyInsert(ctx, store.NewKey{Ref: "system.a", OwnerType: store.KeyOwnerSystem, Name: "a", Value: v})
	require.NoError(t, err)
	require.Equal(t, "system", k.Owner)

	_, err = s.KeyInsert(ctx, store.NewKey{Ref: "system.a", OwnerType: store.KeyOwnerSystem, Name: "b", Value: v})
	require.ErrorIs(t, err, domain.ErrConflict)
	_, err = s.KeyInsert(ctx, store.NewKey{Ref: "pack.x.a", OwnerType: store.KeyOwnerPack, Name: "a", Value: v})
	require.True(t, domain.IsValidation(err), "pack key without owner: %v", err)
	_, err = s.KeyInsert(ctx, store.NewKey{Ref: "x", OwnerType: "tenant", Name: "a", Value: v})
	require.True(t, domain.IsValidation(err))

	up, err := s.KeyUpdate(ctx, "system.a", "a2", false, nil, json.RawMessage(`{"n":1}`))
	require.NoError(t, err)
	require.Equal(t, "a2", up.Name)
	require.JSONEq(t, `{"n":1}`, string(up.Value))

	_, err = s.KeyUpdate(ctx, "system.none", "a", false, nil, v)
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.NoError(t, s.KeyDeleteByRef(ctx, "system.a"))
	require.True(t, errors.Is(s.KeyDeleteByRef(ctx, "system.a"), domain.ErrNotFound))
}
