package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
)

// BenchmarkResolveToken measures per-request authentication: JWT verify,
// auth_token revocation lookup and principal resolution (grants cached).
func BenchmarkResolveToken(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.m.resolveToken(ctx, e.admin); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArgon2id is the cost of one password hash at the production
// parameters (what a login costs the server).
func BenchmarkArgon2id(b *testing.B) {
	for b.Loop() {
		if _, err := security.HashPassword("correct horse battery", security.DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListKeys10k reports p95 of GET /api/v1/keys?page_size=100 over
// 10,000 keys as an admin, at random pages.
func BenchmarkListKeys10k(b *testing.B) {
	e := newEnv(b, func(d *Deps) { d.Config.RateLimit = 1_000_000 })
	ctx := context.Background()
	_, err := e.st.Pool().Exec(ctx, `INSERT INTO key (ref, owner_type, name, value)
		SELECT 'system.k' || g, 'system', 'k' || g, '"v"'::jsonb FROM generate_series(1, 10000) g`)
	require.NoError(b, err)
	_ = store.Key{}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		begin := time.Now()
		r := e.do("GET", fmt.Sprintf("/api/v1/keys?page=%d&page_size=100", 1+i%100), e.admin, nil)
		lat = append(lat, time.Since(begin))
		if r.status != http.StatusOK {
			b.Fatal(r.status)
		}
		i++
	}
	sort.Slice(lat, func(a, c int) bool { return lat[a] < lat[c] })
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
}
