package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/cli"
	"github.com/attune-system/attune/modules/store/storetest"
)

func TestPackCommands(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "attune.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("database:\n  url: "+dsn+"\npacks_base_dir: "+filepath.Join(dir, "packs")+
		"\nruntime_envs_dir: "+filepath.Join(dir, "envs")+"\n"), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Run(ctx, append([]string{"attune", "--config", cfg}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	demo := filepath.Join("..", "..", "test", "testdata", "packs", "demo")

	// Core comes from EnsureCore in the app; here the repo copy is registered.
	code, out, stderr := run("pack", "register", filepath.Join("..", "..", "packs", "core"))
	require.Equal(t, 0, code, out+stderr)
	require.Contains(t, out, "pack core 1.0.0 registered")

	code, out, stderr = run("pack", "register", "--json", demo)
	require.Equal(t, 0, code, out+stderr)
	var res struct {
		Pack struct {
			Ref string `json:"Ref"`
		} `json:"pack"`
		Counts struct{ Actions int64 } `json:"counts"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, "demo", res.Pack.Ref)
	require.EqualValues(t, 2, res.Counts.Actions)

	code, out, _ = run("pack", "list")
	require.Equal(t, 0, code)
	require.Regexp(t, `(?m)^demo\s+1\.0\.0\s+2\s+1\s+2\s+1`, out)

	code, out, _ = run("pack", "show", "demo")
	require.Equal(t, 0, code)
	require.Contains(t, out, "demo.greet")
	require.Contains(t, out, "demo.on_alert")

	code, _, _ = run("pack", "show", "nope")
	require.Equal(t, 1, code)
	code, _, stderr = run("pack", "show")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "usage: attune pack show REF")

	code, out, _ = run("pack", "remove", "demo", "--yes")
	require.Equal(t, 0, code)
	require.Contains(t, out, "removed pack demo")
	code, out, _ = run("pack", "list", "--json")
	require.Equal(t, 0, code)
	require.NotContains(t, out, `"demo"`)
}

func TestPackCheckGenerated500(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(p, s string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644))
	}
	write("pack.yaml", "ref: big\nlabel: B\ndescription: d\nversion: 1.0.0\n")
	write("actions/run.sh", "#!/bin/sh\n")
	for i := range 500 {
		n := "a" + string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
		write("actions/"+n+".yaml", "ref: big."+n+"\nlabel: L\nrunner_type: shell\nentry_point: run.sh\nparameters:\n  x: {type: string, default: a}\n  y: {type: integer, minimum: 0}\n")
	}
	start := time.Now()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), []string{"attune", "pack", "check", dir}, &out, &errb)
	t.Logf("attune pack check (500 actions): %v", time.Since(start))
	require.Equal(t, 0, code, out.String()+errb.String())
}
