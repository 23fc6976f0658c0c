package app_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app"
	"github.com/attune-system/attune/modules/app/apptest"
	"github.com/attune-system/attune/modules/store/storetest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestAllRolesInOneProcessOnTheInProcessBus(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t, apptest.Options{})
	require.Equal(t, []string{"http", "database", "bus", "api", "executor", "worker", "sensor", "notifier"}[:3],
		inst.App.Modules()[:3], "infrastructure starts first")

	code, body := get(t, inst.URL+"/readyz?verbose")
	require.Equal(t, 200, code, body)
	for _, m := range []string{"api", "executor", "worker", "sensor", "notifier"} {
		require.Contains(t, body, "[+]module:"+m+" ok")
	}
	require.Contains(t, body, "[+]health:database ok")
	require.Contains(t, body, "[+]health:bus ok")

	code, body = get(t, inst.URL+"/livez")
	require.Equal(t, 200, code, body)
	code, body = get(t, inst.URL+"/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, body, `attune_build_info{`)
	require.Contains(t, body, "go_goroutines")
	code, body = get(t, inst.URL+"/version")
	require.Equal(t, 200, code)
	require.Contains(t, body, `"version"`)

	require.NoError(t, inst.Stop(), "a clean stop returns nil")
}

func TestEachRoleStartsAloneAgainstOneDatabaseAndBroker(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	prefix := apptest.RandomPrefix()
	apptest.CleanupBroker(t, dsn, prefix)
	for _, role := range []string{"api", "executor", "worker", "sensor", "notifier", "worker,sensor"} {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			inst := apptest.Start(t, apptest.Options{
				Roles: strings.Split(role, ","), DatabaseURL: dsn, RabbitMQ: true, BusPrefix: prefix,
			})
			code, body := get(t, inst.URL+"/readyz?verbose")
			require.Equal(t, 200, code, body)
			want := strings.Split(role, ",")
			slices.Sort(want)
			require.Equal(t, want, inst.App.Roles())
		})
	}
}

func TestRoleSplitWithoutBrokerIsRefused(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	_, err := app.New(cfg, []string{"api"}, apptest.Logger(t, "error"))
	require.ErrorContains(t, err, "need a message broker")
	require.ErrorContains(t, err, "message_queue.url")
}

func TestUnknownRoleListsValidRoles(t *testing.T) {
	t.Parallel()
	_, err := app.New(apptest.Config(t), []string{"bogus"}, apptest.Logger(t, "error"))
	require.EqualError(t, err, "unknown role(s) bogus; valid roles: api, executor, notifier, sensor, worker, all")
}

func TestServeRefusesAnOldSchemaUnlessAutoMigrate(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewEmptyDatabase(t)
	cfg := apptest.Config(t)
	cfg.Database.URL = dsn
	a, err := app.New(cfg, []string{"all"}, apptest.Logger(t, "error"))
	require.NoError(t, err)
	err = a.Run(context.Background())
	require.ErrorContains(t, err, "database schema is behind this binary")
	require.ErrorContains(t, err, "attune migrate up")

	inst := apptest.Start(t, apptest.Options{DatabaseURL: dsn, Configure: func(c *app.Config) { c.Database.AutoMigrate = true }})
	code, _ := get(t, inst.URL+"/readyz")
	require.Equal(t, 200, code)
}
