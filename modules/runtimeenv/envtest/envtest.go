// Package envtest builds fixture packs that need runtime environments, for
// tests: PyPI is not reachable here, so Python packs ship a hand-made wheel.
package envtest

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Write creates path (and its directories) with content.
func Write(t testing.TB, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// Wheel writes a pure-python wheel of greetlib at version into dir, by hand:
// building one would need the network.
func Wheel(t testing.TB, dir, version string) {
	t.Helper()
	name := fmt.Sprintf("greetlib-%s-py3-none-any.whl", version)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	f, err := os.Create(filepath.Join(dir, name))
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	info := fmt.Sprintf("greetlib-%s.dist-info", version)
	files := map[string]string{
		"greetlib/__init__.py":  fmt.Sprintf("VERSION = %q\n", version),
		info + "/METADATA":      fmt.Sprintf("Metadata-Version: 2.1\nName: greetlib\nVersion: %s\n", version),
		info + "/WHEEL":         "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		info + "/top_level.txt": "greetlib\n",
	}
	var record strings.Builder
	for p, c := range files {
		w, err := zw.Create(p)
		require.NoError(t, err)
		_, _ = w.Write([]byte(c))
		record.WriteString(p + ",,\n")
	}
	record.WriteString(info + "/RECORD,,\n")
	w, err := zw.Create(info + "/RECORD")
	require.NoError(t, err)
	_, _ = w.Write([]byte(record.String()))
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
}

// PythonPack writes a pack <ref> whose action <ref>.hello prints the greetlib
// version it imports; requirements pin greetlib==version from a wheel shipped
// in the pack.
func PythonPack(t testing.TB, ref, version string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ref)
	Write(t, filepath.Join(dir, "pack.yaml"), fmt.Sprintf("ref: %s\nlabel: P\ndescription: d\nversion: 1.0.0\n", ref))
	Write(t, filepath.Join(dir, "actions", "hello.yaml"), "ref: "+ref+".hello\nlabel: H\nrunner_type: python\nentry_point: hello.py\n")
	Write(t, filepath.Join(dir, "actions", "hello.py"), "import greetlib\nprint(greetlib.VERSION)\n")
	Write(t, filepath.Join(dir, "requirements.txt"), "--no-index\n--find-links wheels\ngreetlib=="+version+"\n")
	Wheel(t, filepath.Join(dir, "wheels"), version)
	return dir
}

// NodePack writes a pack <ref> whose action <ref>.n requires is-number@7.0.0
// (from the npm registry) and prints is-number(5).
func NodePack(t testing.TB, ref string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ref)
	Write(t, filepath.Join(dir, "pack.yaml"), "ref: "+ref+"\nlabel: N\ndescription: d\nversion: 1.0.0\n")
	Write(t, filepath.Join(dir, "actions", "n.yaml"), "ref: "+ref+".n\nlabel: N\nrunner_type: nodejs\nentry_point: n.js\n")
	Write(t, filepath.Join(dir, "actions", "n.js"), "console.log(require('is-number')(5))\n")
	Write(t, filepath.Join(dir, "package.json"), `{"name": "`+ref+`", "version": "1.0.0", "dependencies": {"is-number": "7.0.0"}}`)
	return dir
}
