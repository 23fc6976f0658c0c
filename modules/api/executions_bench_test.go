package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/attune-system/attune/modules/app"
	"github.com/attune-system/attune/modules/app/apptest"
	"github.com/attune-system/attune/modules/store"
)

// BenchmarkListExecutions100k measures GET /api/v1/executions?page_size=50
// as the admin with 100,000 executions in the database, one client, and
// reports the p95 latency (target < 20 ms).
//
//	go test -run '^$' -bench ListExecutions100k -benchtime 200x ./modules/api/
func BenchmarkListExecutions100k(b *testing.B) {
	// One client on purpose faster than the default per-identity limit.
	inst := apptest.Start(b, apptest.Options{Configure: func(c *app.Config) { c.API.RateLimit = 1 << 20 }})
	ctx := context.Background()
	st, err := store.Open(ctx, inst.Config.Database.URL, store.PoolConfig{MaxConns: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Pool().Exec(ctx, `INSERT INTO execution (action_ref, config, status, result)
		SELECT 'core.echo', jsonb_build_object('message', 'm' || g), 'completed', '{"succeeded":true}'::jsonb
		FROM generate_series(1, 100000) g`); err != nil {
		b.Fatal(err)
	}
	_, _ = st.Pool().Exec(ctx, `ANALYZE execution`)
	body, _ := json.Marshal(map[string]string{"login": inst.Config.Security.AdminLogin, "password": inst.Config.Security.AdminPassword})
	resp, err := http.Post(inst.URL+"/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	var login struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	token := login.Data.AccessToken
	if token == "" {
		token = login.AccessToken
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var lat []time.Duration
	page := 0
	b.ResetTimer()
	for b.Loop() {
		page = page%50 + 1
		req, _ := http.NewRequest("GET", inst.URL+"/api/v1/executions?page_size=50&page="+itoa(page), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		begin := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var out struct {
			Items []json.RawMessage `json:"items"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		lat = append(lat, time.Since(begin))
		if resp.StatusCode != http.StatusOK || len(out.Items) != 50 {
			b.Fatalf("status %d, %d items", resp.StatusCode, len(out.Items))
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

func itoa(i int) string { return string(json.Number(jsonInt(i))) }

func jsonInt(i int) string { b, _ := json.Marshal(i); return string(b) }
