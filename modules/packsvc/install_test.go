package packsvc_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/packsvc"
)

// tarGz archives dir (under a top-level directory named top).
func tarGz(t *testing.T, dir, top string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		hdr, _ := tar.FileInfoHeader(info, "")
		hdr.Name = filepath.ToSlash(filepath.Join(top, rel))
		if d.IsDir() {
			hdr.Name += "/"
		}
		require.NoError(t, tw.WriteHeader(hdr))
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			_, _ = tw.Write(b)
		}
		return nil
	}))
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

func TestInstallFromGitTag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	mustEnsureCore(t, e)
	repoDir := fixture(t, "demo")
	repo, err := git.PlainInit(repoDir, false)
	require.NoError(t, err)
	wt, err := repo.Worktree()
	require.NoError(t, err)
	require.NoError(t, wt.AddGlob("."))
	sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}
	commit, err := wt.Commit("v1", &git.CommitOptions{Author: sig})
	require.NoError(t, err)
	_, err = repo.CreateTag("v1.0.0", commit, nil)
	require.NoError(t, err)
	// A later commit that the tag must not see.
	writeFile(t, filepath.Join(repoDir, "LATER.md"), "later\n")
	_, err = wt.Add("LATER.md")
	require.NoError(t, err)
	_, err = wt.Commit("later", &git.CommitOptions{Author: sig})
	require.NoError(t, err)

	res, err := e.svc.Install(ctx, "file://"+repoDir, "v1.0.0", packsvc.RegisterOptions{Method: packsvc.MethodCLI})
	require.NoError(t, err)
	require.Equal(t, "demo", res.Pack.Ref)
	require.Equal(t, packsvc.SourceGit, *res.Pack.SourceType)
	require.Equal(t, "v1.0.0@"+commit.String(), *res.Pack.SourceRef)
	_, err = os.Stat(filepath.Join(e.packsDir, "demo", "LATER.md"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = os.Stat(filepath.Join(e.packsDir, "demo", ".git"))
	require.ErrorIs(t, err, fs.ErrNotExist, ".git is not installed")
}

func TestInstallFromTarGz(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	mustEnsureCore(t, e)
	archive := filepath.Join(t.TempDir(), "demo-1.0.0.tar.gz")
	require.NoError(t, os.WriteFile(archive, tarGz(t, fixture(t, "demo"), "demo-1.0.0"), 0o644))
	res, err := e.svc.Install(ctx, archive, "", packsvc.RegisterOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 2, res.Counts.Actions)

	// The same pack uploaded as a stream is unchanged.
	res, err = e.svc.InstallArchive(ctx, bytes.NewReader(tarGz(t, fixture(t, "demo"), "x")), "tar.gz", packsvc.RegisterOptions{})
	require.NoError(t, err)
	require.True(t, res.Unchanged)
}

func TestInstallRejectsHostileArchives(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	mustEnsureCore(t, e)
	before := snapshot(t, e.st)
	build := func(write func(tw *tar.Writer)) []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		pk := "ref: evil\nlabel: E\ndescription: d\nversion: 1.0.0\n"
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: "pack.yaml", Mode: 0o644, Size: int64(len(pk)), Typeflag: tar.TypeReg}))
		_, _ = tw.Write([]byte(pk))
		write(tw)
		require.NoError(t, tw.Close())
		require.NoError(t, gz.Close())
		return buf.Bytes()
	}
	cases := map[string]struct {
		archive []byte
		want    string
	}{
		"dot-dot": {build(func(tw *tar.Writer) {
			require.NoError(t, tw.WriteHeader(&tar.Header{Name: "../escape.sh", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg}))
			_, _ = tw.Write([]byte("x"))
		}), "../escape.sh"},
		"symlink": {build(func(tw *tar.Writer) {
			require.NoError(t, tw.WriteHeader(&tar.Header{Name: "actions/link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}))
		}), "actions/link"},
		"100 MB file": {build(func(tw *tar.Writer) {
			const size = 100 << 20
			require.NoError(t, tw.WriteHeader(&tar.Header{Name: "big.bin", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}))
			_, err := io.CopyN(tw, zeroReader{}, size)
			require.NoError(t, err)
		}), "big.bin"},
		"100,000 files": {build(func(tw *tar.Writer) {
			for i := 0; i < 100_000; i++ {
				require.NoError(t, tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f/%d", i), Mode: 0o644, Typeflag: tar.TypeReg}))
			}
		}), "entries"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.InstallArchive(ctx, bytes.NewReader(c.archive), "tar.gz", packsvc.RegisterOptions{})
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
			require.Equal(t, before, snapshot(t, e.st))
			_, err = os.Stat(filepath.Join(e.packsDir, "evil"))
			require.ErrorIs(t, err, fs.ErrNotExist)
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestEnsureCoreIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	first, err := e.svc.EnsureCore(ctx)
	require.NoError(t, err)
	require.False(t, first.Unchanged)
	t.Logf("core pack registration: %v", first.Duration)
	_, err = os.Stat(filepath.Join(e.packsDir, "core", "actions", "echo.sh"))
	require.NoError(t, err)
	before := snapshot(t, e.st)
	second, err := e.svc.EnsureCore(ctx)
	require.NoError(t, err)
	require.True(t, second.Unchanged)
	require.Equal(t, before, snapshot(t, e.st), "the second EnsureCore writes nothing")

	// Deleted files are re-materialised.
	require.NoError(t, os.RemoveAll(filepath.Join(e.packsDir, "core")))
	third, err := e.svc.EnsureCore(ctx)
	require.NoError(t, err)
	require.False(t, third.Unchanged)
	_, err = os.Stat(filepath.Join(e.packsDir, "core", "actions", "echo.sh"))
	require.NoError(t, err)
}

func TestEnsureCoreConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	other, err := packsvc.New(packsvc.Options{Store: e.st, PacksDir: e.packsDir})
	require.NoError(t, err)
	errs := make(chan error, 2)
	for _, s := range []*packsvc.Service{e.svc, other} {
		go func() { _, err := s.EnsureCore(ctx); errs <- err }()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	var n int
	require.NoError(t, e.st.Pool().QueryRow(ctx, "SELECT count(*) FROM outbox WHERE routing_key = 'pack.registered'").Scan(&n))
	require.Equal(t, 1, n, "registered once")
}

func TestRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	mustEnsureCore(t, e)
	_, err := e.svc.Register(ctx, fixture(t, "demo"), packsvc.RegisterOptions{})
	require.NoError(t, err)
	mark := maxOutboxID(t, e.st)
	require.NoError(t, e.svc.Remove(ctx, "demo"))
	require.ElementsMatch(t, []string{"rule.deleted demo.every_minute", "rule.deleted demo.on_alert", "pack.deleted demo"},
		outboxKeys(t, e.st, mark))
	_, err = os.Stat(filepath.Join(e.packsDir, "demo"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	var n int
	require.NoError(t, e.st.Pool().QueryRow(ctx, "SELECT count(*) FROM action WHERE pack_ref = 'demo'").Scan(&n))
	require.Zero(t, n)
	require.Error(t, e.svc.Remove(ctx, "core"))
}
