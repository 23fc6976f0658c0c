package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/domain"
)

func TestIsTransient(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code}) }
	for _, err := range []error{pg("53300"), pg("57P01"), pg("57P03"), pg("08006"), pg("40001"), pg("40P01")} {
		require.True(t, IsTransient(err), err)
	}
	for _, err := range []error{nil, pg("23505"), pg("22P02"), pg("42P01"), domain.NotFoundf("x"),
		errors.New("bad schema"), interpretError(&pgconn.PgError{Code: "23503"}, "insert")} {
		require.False(t, IsTransient(err), "%v", err)
	}
}
