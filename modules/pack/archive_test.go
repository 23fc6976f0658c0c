package pack

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type tarEntry struct {
	hdr  tar.Header
	body io.Reader
}

// tarGz streams entries through a pipe so large archives never sit in memory.
func tarGz(entries func(tw *tar.Writer) error) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		gz, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		tw := tar.NewWriter(gz)
		err := entries(tw)
		if err == nil {
			err = tw.Close()
		}
		if err == nil {
			err = gz.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

func simpleTar(list ...tarEntry) io.Reader {
	return tarGz(func(tw *tar.Writer) error {
		for _, e := range list {
			h := e.hdr
			if err := tw.WriteHeader(&h); err != nil {
				return err
			}
			if e.body != nil {
				if _, err := io.Copy(tw, e.body); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func file(name, content string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}, body: bytes.NewReader([]byte(content))}
}

func TestExtractArchiveRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   func() io.Reader
		want string
	}{
		{"dotdot", func() io.Reader { return simpleTar(file("pack.yaml", "x"), file("../evil", "x")) },
			`archive entry "../evil": path traversal (..) is not allowed`},
		{"nested dotdot", func() io.Reader { return simpleTar(file("p/a/../../../evil", "x")) },
			`archive entry "p/a/../../../evil": path traversal (..) is not allowed`},
		{"absolute", func() io.Reader { return simpleTar(file("/etc/cron.d/x", "x")) },
			`archive entry "/etc/cron.d/x": absolute paths are not allowed`},
		{"symlink", func() io.Reader {
			return simpleTar(file("pack.yaml", "x"), tarEntry{hdr: tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}})
		}, `archive entry "link": symlinks are not allowed`},
		{"hardlink", func() io.Reader {
			return simpleTar(tarEntry{hdr: tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}})
		}, `archive entry "hl": hard links are not allowed`},
		{"device", func() io.Reader {
			return simpleTar(tarEntry{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}})
		}, `archive entry "dev": device files are not allowed`},
		{"fifo", func() io.Reader { return simpleTar(tarEntry{hdr: tar.Header{Name: "f", Typeflag: tar.TypeFifo}}) },
			`archive entry "f": fifos are not allowed`},
		{"100MB file", func() io.Reader {
			const size = 100 << 20
			return simpleTar(file("pack.yaml", "x"), tarEntry{hdr: tar.Header{Name: "big.bin", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}, body: io.LimitReader(zeroReader{}, size)})
		}, `archive entry "big.bin": file is larger than 20971520 bytes`},
		{"100000 files", func() io.Reader {
			return tarGz(func(tw *tar.Writer) error {
				for i := 0; i < 100_000; i++ {
					if err := tw.WriteHeader(&tar.Header{Name: "f/" + itoaS(i), Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
						return err
					}
				}
				return nil
			})
		}, "archive: more than 10000 entries"},
		{"no pack.yaml", func() io.Reader { return simpleTar(file("a/x", "1"), file("b/pack.yaml", "1")) },
			"archive: no pack.yaml at the top level or inside a single top-level directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dest := filepath.Join(t.TempDir(), "out")
			start := time.Now()
			_, err := ExtractArchive(tc.in(), "tar.gz", dest, Limits{})
			require.EqualError(t, err, tc.want)
			require.Less(t, time.Since(start), 10*time.Second)
			_, statErr := os.Stat(dest)
			require.True(t, os.IsNotExist(statErr), "nothing may be written for a rejected archive")
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestExtractTarGzAndLoad(t *testing.T) {
	t.Parallel()
	in := simpleTar(
		tarEntry{hdr: tar.Header{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "abc"}}},
		tarEntry{hdr: tar.Header{Name: "demo-1.0.0/", Typeflag: tar.TypeDir, Mode: 0o755}},
		file("demo-1.0.0/pack.yaml", goodPackYAML),
		file("demo-1.0.0/actions/greet.yaml", goodActionYAML),
		tarEntry{hdr: tar.Header{Name: "demo-1.0.0/actions/greet.sh", Typeflag: tar.TypeReg, Mode: 0o755, Size: 5}, body: bytes.NewReader([]byte("echo\n"))},
	)
	dest := filepath.Join(t.TempDir(), "out")
	root, err := ExtractArchive(in, "tar.gz", dest, Limits{})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dest, "demo-1.0.0"), root)
	st, err := os.Stat(filepath.Join(root, "actions", "greet.sh"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	p, probs := LoadDir(root)
	require.Empty(t, probs, probs.Format())
	require.Equal(t, "demo", p.Ref)
}

func TestExtractZip(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range map[string]string{"pack.yaml": goodPackYAML, "actions/greet.yaml": goodActionYAML, "actions/greet.sh": "echo\n"} {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = w.Write([]byte(content))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	dest := filepath.Join(t.TempDir(), "out")
	root, err := ExtractArchive(bytes.NewReader(buf.Bytes()), "zip", dest, Limits{})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dest, "."), root)
	_, probs := LoadDir(root)
	require.Empty(t, probs)

	buf.Reset()
	zw = zip.NewWriter(&buf)
	_, err = zw.Create("../../evil")
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	_, err = ExtractArchive(bytes.NewReader(buf.Bytes()), "zip", filepath.Join(t.TempDir(), "o"), Limits{})
	require.EqualError(t, err, `archive entry "../../evil": path traversal (..) is not allowed`)
}
