package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// prepare returns an AfterConnect hook that prepares stmts on a new
// connection under their own text, which is how pgx finds them again, so
// their first use runs at once instead of first parsing and describing
// them (and warming the new backend's catalog caches) on an event's path.
//
// Warming is best effort: on a schema not migrated yet (the migrate command,
// the schema gate) a statement fails to prepare, and the connection is still
// handed out, its statements then prepared on first use as usual.
//
// A statement prepared this way keeps its plan for the connection's life
// (MaxConnLifetime). PostgreSQL re-plans it after DDL by itself; only a
// change of the result's column types (none of our migrations does that to
// a table these queries return) would need the connection recycled.
func prepare(stmts []string) func(context.Context, *pgx.Conn) error {
	return func(ctx context.Context, c *pgx.Conn) error {
		for _, sql := range stmts {
			if _, err := c.Prepare(ctx, sql, sql); err != nil {
				break
			}
		}
		return nil
	}
}
