package db

// Regenerates db/dbsqlc from ../queries and the migrations (`make generate`
// runs the same command from the repo root). CI drift check, non-zero exit
// and a unified diff when the committed code is stale:
//
//	CGO_ENABLED=0 go tool -modfile=tools/go.mod sqlc diff -f db/sqlc.yaml
//go:generate env CGO_ENABLED=0 go tool -modfile=../tools/go.mod sqlc generate -f sqlc.yaml
