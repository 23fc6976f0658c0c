# Attune — `make help` lists targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/attune
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/attune-system/attune/modules/buildinfo.Version=$(VERSION) \
           -X github.com/attune-system/attune/modules/buildinfo.Commit=$(COMMIT)
TOOLS := $(GO) tool -modfile=tools/go.mod
# Packages whose tests run under the race detector (the whole tree).
PKGS := ./...
# go test -p: how many test binaries run at once (2 cores here).
TEST_P ?= 2

.PHONY: help build run test lint vet staticcheck fmt-check generate check-generate bench migrate clean

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

build: ## build bin/attune
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

run: build ## start every role on embedded defaults (attune.yaml: local PostgreSQL, in-process bus)
	./$(BIN) serve --roles=all

test: fmt-check vet staticcheck check-generate ## vet, staticcheck, sqlc drift check, then go test -race
	$(GO) test -race -p $(TEST_P) -timeout 25m $(PKGS)

lint: fmt-check vet staticcheck ## formatting, go vet, staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go') | grep -v '^db/dbsqlc/' || true); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(TOOLS) staticcheck $(PKGS)

generate: ## regenerate sqlc code from queries/ and db/migrations/
	CGO_ENABLED=0 $(TOOLS) sqlc generate -f db/sqlc.yaml

check-generate: ## fail when generated sqlc code differs from queries/ + migrations
	CGO_ENABLED=0 $(TOOLS) sqlc diff -f db/sqlc.yaml

bench: build ## benchmarks (see docs/development.md)
	$(GO) test -run '^$$' -bench . -benchmem ./modules/bus/... ./modules/security/... ./modules/rules/... ./modules/runner/...

migrate: build ## apply migrations to database.url
	./$(BIN) migrate up

clean:
	rm -rf bin
