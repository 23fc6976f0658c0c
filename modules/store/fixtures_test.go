package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/store"
)

// newRule creates a pack and a rule in it. Rules have no store method yet, so
// the fixture writes the row directly; this is test-only SQL.
func newRule(t *testing.T, s *store.Store, ref string) int64 {
	t.Helper()
	ctx := context.Background()
	pack, err := s.PackUpsert(ctx, store.Pack{Ref: "fixture", Label: "Fixture", Version: "1.0.0"})
	require.NoError(t, err)
	var id int64
	require.NoError(t, s.Pool().QueryRow(ctx,
		`INSERT INTO rule (ref, pack, pack_ref, label, action_ref, trigger_ref)
		 VALUES ($1, $2, 'fixture', 'Fixture rule', 'fixture.act', 'fixture.trig') RETURNING id`,
		ref, pack.ID).Scan(&id))
	return id
}

func ptr[T any](v T) *T { return &v }
