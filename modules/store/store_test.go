package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

func TestInTxCommitsOnSuccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)

	require.NoError(t, s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.IdentityInsert(ctx, store.NewIdentity{Login: "alice"})
		return err
	}))
	n, err := s.IdentityCount(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

func TestInTxRollsBackOnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	boom := errors.New("boom")

	err := s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.IdentityInsert(ctx, store.NewIdentity{Login: "alice"})
		require.NoError(t, err)
		_, err = tx.OutboxEnqueue(ctx, store.NewOutboxMessage{
			Exchange: "attune.executions", RoutingKey: "x", MessageType: "execution.ready", Payload: []byte(`{"id":1}`),
		})
		require.NoError(t, err)
		return boom
	})
	require.ErrorIs(t, err, boom)

	n, err := s.IdentityCount(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	pending, err := s.OutboxCountPending(ctx)
	require.NoError(t, err)
	require.Zero(t, pending, "outbox row must vanish with its transaction")
}

func TestInTxRollsBackOnPanic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)

	require.PanicsWithValue(t, "kaboom", func() {
		_ = s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.IdentityInsert(ctx, store.NewIdentity{Login: "alice"})
			require.NoError(t, err)
			panic("kaboom")
		})
	})
	n, err := s.IdentityCount(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	// The pool is still healthy: the connection went back clean.
	_, err = s.IdentityInsert(ctx, store.NewIdentity{Login: "alice"})
	require.NoError(t, err)
}

func TestSavepointRollsBackOnlyInner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)

	require.NoError(t, s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.IdentityInsert(ctx, store.NewIdentity{Login: "outer"})
		require.NoError(t, err)
		err = tx.InTx(ctx, func(sp *store.Tx) error {
			_, err := sp.IdentityInsert(ctx, store.NewIdentity{Login: "outer"}) // duplicate
			return err
		})
		require.ErrorIs(t, err, domain.ErrConflict)
		return nil
	}))
	n, err := s.IdentityCount(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)

	_, err := s.ExecutionGet(ctx, 424242)
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.Contains(t, err.Error(), "execution 424242")

	_, err = s.IdentityGetByLogin(ctx, "nobody")
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.ErrorIs(t, s.IdentityDelete(ctx, 99), domain.ErrNotFound)

	_, err = s.IdentityInsert(ctx, store.NewIdentity{Login: "dup"})
	require.NoError(t, err)
	_, err = s.IdentityInsert(ctx, store.NewIdentity{Login: "dup"})
	require.ErrorIs(t, err, domain.ErrConflict)

	// CHECK violation: pack refs may not contain dots or capitals.
	_, err = s.PackUpsert(ctx, store.Pack{Ref: "Bad.Ref", Label: "x", Version: "1.0.0"})
	var ve *domain.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "pack_ref_check", ve.Field)

	_, err = s.PackUpsert(ctx, store.Pack{Ref: "good", Label: "x", Version: "not-semver"})
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "pack_version_check", ve.Field)

	// FK violation: an execution pointing at a missing parent.
	_, err = s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo", Parent: ptr(int64(777))})
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "execution_parent_fkey", ve.Field)
}

func TestPackUpsertKeepsID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)

	p1, err := s.PackUpsert(ctx, store.Pack{Ref: "demo", Label: "Demo", Version: "1.0.0", Tags: []string{"a"}})
	require.NoError(t, err)
	require.JSONEq(t, `{}`, string(p1.Config), "omitted jsonb defaults to {}")
	p2, err := s.PackUpsert(ctx, store.Pack{Ref: "demo", Label: "Demo 2", Version: "1.1.0"})
	require.NoError(t, err)
	require.Equal(t, p1.ID, p2.ID)
	require.Equal(t, "1.1.0", p2.Version)
	require.Empty(t, p2.Tags)
	require.NoError(t, s.PackDelete(ctx, p1.ID))
	_, err = s.PackGetByRef(ctx, "demo")
	require.ErrorIs(t, err, domain.ErrNotFound)
}
