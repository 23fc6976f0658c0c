package pack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// writePack materialises files (path → content) in a fresh temp dir.
func writePack(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

const goodPackYAML = "ref: demo\nlabel: Demo\ndescription: d\nversion: 1.0.0\n"

const goodActionYAML = `ref: demo.greet
runner_type: shell
entry_point: greet.sh
parameters:
  name: {type: string, required: true}
`

// basePack is a valid pack; tests override or add files.
func basePack(extra map[string]string) map[string]string {
	files := map[string]string{
		"pack.yaml":          goodPackYAML,
		"actions/greet.yaml": goodActionYAML,
		"actions/greet.sh":   "#!/bin/sh\necho hi\n",
	}
	for k, v := range extra {
		if v == "" {
			delete(files, k)
			continue
		}
		files[k] = v
	}
	return files
}
