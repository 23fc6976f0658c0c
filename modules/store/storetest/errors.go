package storetest

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

func isObjectInUse(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55006"
}
