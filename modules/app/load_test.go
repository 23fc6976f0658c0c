package app

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "attune.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestLoadLayersDefaultsFileEnvFlags(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "server:\n  port: 9000\n  host: 0.0.0.0\nlog:\n  level: debug\nworker:\n  runtimes: [shell, python]\n")
	l, err := Load(LoadOptions{
		File:    p,
		Environ: []string{"ATTUNE__SERVER__PORT=9100", "ATTUNE__DATABASE__AUTO_MIGRATE=yes", "ATTUNE__SHUTDOWN__GRACE_PERIOD=45s", "ATTUNE__SERVER__CORS_ORIGINS=https://a.example,https://b.example"},
		Flags:   map[string]any{"log.level": "warn"},
	})
	require.NoError(t, err)
	c := l.Config
	require.Equal(t, 9100, c.Server.Port, "env beats file")
	require.Equal(t, "0.0.0.0", c.Server.Host, "file beats default")
	require.Equal(t, "warn", c.Log.Level, "flag beats file")
	require.True(t, c.Database.AutoMigrate, "yes is a boolean")
	require.Equal(t, 45*time.Second, c.Shutdown.GracePeriod)
	require.Equal(t, []string{"shell", "python"}, c.Worker.Runtimes)
	require.Equal(t, []string{"https://a.example", "https://b.example"}, c.Server.CORSOrigins)
	require.Equal(t, 600, c.DefaultExecutionTimeoutSeconds, "default kept")
	require.Equal(t, p, l.File)
}

func TestLoadUsesATTUNE_CONFIG(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "server:\n  port: 9001\n")
	l, err := Load(LoadOptions{Environ: []string{"ATTUNE_CONFIG=" + p}})
	require.NoError(t, err)
	require.Equal(t, 9001, l.Config.Server.Port)
}

func TestLoadMalformedYAMLNamesFileAndLine(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "server:\n  port: 9000\n  host: [unclosed\nlog:\n  level: info\n")
	_, err := Load(LoadOptions{File: p, Environ: []string{}})
	require.Error(t, err)
	require.Contains(t, err.Error(), p)
	require.Regexp(t, `line \d+`, err.Error())
}

func TestLoadRejectsUnknownKeysByName(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "server:\n  prot: 9000\ndatabse:\n  url: x\n")
	_, err := Load(LoadOptions{File: p, Environ: []string{}})
	require.Error(t, err)
	require.Contains(t, err.Error(), p+": key server.prot: unknown configuration key (did you mean server.port?)")
	require.Contains(t, err.Error(), "key databse.url: unknown configuration key (did you mean database.url?)")
}

func TestLoadRejectsBadEnvValuesByName(t *testing.T) {
	t.Parallel()
	_, err := Load(LoadOptions{Environ: []string{
		"ATTUNE__SERVER__PORT=eighty", "ATTUNE__DATABASE__AUTO_MIGRATE=maybe",
		"ATTUNE__WORKER__HEARTBEAT_INTERVAL=soon", "ATTUNE__NOPE=1",
	}, File: writeFile(t, "{}\n")})
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, `environment variable ATTUNE__SERVER__PORT: invalid value "eighty" for an integer`)
	require.Contains(t, msg, `environment variable ATTUNE__DATABASE__AUTO_MIGRATE: invalid value "maybe" for a boolean`)
	require.Contains(t, msg, `environment variable ATTUNE__WORKER__HEARTBEAT_INTERVAL: invalid value "soon" for a duration`)
	require.Contains(t, msg, "environment variable ATTUNE__NOPE: unknown configuration key")
}

func TestLoadRejectsBadFileValueTypes(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "server:\n  port: lots\n")
	_, err := Load(LoadOptions{File: p, Environ: []string{}})
	require.ErrorContains(t, err, p+`: key server.port: invalid value "lots" for an integer`)
}

func TestLoadMissingExplicitFile(t *testing.T) {
	t.Parallel()
	_, err := Load(LoadOptions{File: filepath.Join(t.TempDir(), "nope.yaml"), Environ: []string{}})
	require.ErrorContains(t, err, "nope.yaml: not found")
}

func TestValidateRefusesWeakSecretsOutsideDev(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	err := c.Validate([]string{"api"})
	require.ErrorContains(t, err, "security.jwt_secret: required outside dev mode (set it in the config file or ATTUNE__SECURITY__JWT_SECRET)")
	require.ErrorContains(t, err, "security.encryption_key: required outside dev mode")

	c.Security.JWTSecret = "short"
	c.Security.EncryptionKey = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	err = c.Validate(nil)
	require.ErrorContains(t, err, "security.jwt_secret: weak secret: 5 bytes, need at least 32")
	require.ErrorContains(t, err, "security.encryption_key: weak secret")

	c.Dev = true
	require.NoError(t, c.Validate(nil), "dev mode generates secrets instead")
}

func TestValidateOnlyEnabledModules(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.Dev = true
	c.Worker.MaxConcurrentTasks = 0
	require.NoError(t, c.Validate([]string{"api"}), "worker section not validated when worker is off")
	require.ErrorContains(t, c.Validate([]string{"worker"}), "worker.max_concurrent_tasks: must be at least 1")
}

func TestRedactedHidesSecrets(t *testing.T) {
	t.Parallel()
	l, err := Load(LoadOptions{File: writeFile(t, "{}\n"), Environ: []string{"ATTUNE__SECURITY__JWT_SECRET=supersecretvalue-1234567890-abcdefgh"}})
	require.NoError(t, err)
	sec := l.Redacted()["security"].(map[string]any)
	require.Equal(t, "<redacted>", sec["jwt_secret"])
	require.Equal(t, "", sec["encryption_key"], "empty stays empty so `config show` reveals it is missing")
}
