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

.PHONY: help build run test lint vet staticcheck fmt-check generate check-generate bench bench-w1 migrate clean

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

bench: build ## Go micro-benchmarks, then the W1 harness (floor vs attune, both topologies)
	$(GO) test -run '^$$' -bench . -benchmem ./modules/bus/... ./modules/security/... ./modules/rules/... ./modules/runner/...
	$(MAKE) bench-w1

bench-w1: build ## W1 webhook→shell: floor vs attune (roles=all and split over RabbitMQ), 3 rounds, median ratios to the floor
	@test -d ../shared/bench/floor -a -d ../shared/bench/loadgen || { echo "bench-w1: ../shared/bench/{floor,loadgen} not found (expected next to the repository)"; exit 1; }
	$(GO) run ./test/bench/w1 -attune $(BIN) -shared ../shared

migrate: build ## apply migrations to database.url
	./$(BIN) migrate up

clean:
	rm -rf bin
