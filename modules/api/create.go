package api

import (
	"context"
	"errors"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/store"
)

// createInPack inserts a new component of pack packRef in one transaction:
// it takes the pack's registration lock, so a concurrent registration or
// create cannot slip in between the check and the insert, refuses a ref that
// already exists (409, never an upsert over someone's row), then runs insert.
func createInPack[T any](ctx context.Context, st *store.Store, packRef, kind, ref string,
	get func(context.Context, *store.Tx, string) error, insert func(*store.Tx) (T, error)) (T, error) {
	var out T
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.PackLock(ctx, packRef); err != nil {
			return err
		}
		if err := get(ctx, tx, ref); err == nil {
			return domainConflict(kind, ref)
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		var err error
		out, err = insert(tx)
		return err
	})
	return out, err
}

// exists adapts a store getter to createInPack's existence check.
func exists[T any](get func(*store.Tx, context.Context, string) (T, error)) func(context.Context, *store.Tx, string) error {
	return func(ctx context.Context, tx *store.Tx, ref string) error {
		_, err := get(tx, ctx, ref)
		return err
	}
}
