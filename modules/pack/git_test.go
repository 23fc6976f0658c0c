package pack

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/require"
)

func TestFetchGitTag(t *testing.T) {
	t.Parallel()
	src := writePack(t, basePack(nil))
	repo, err := git.PlainInit(src, false)
	require.NoError(t, err)
	wt, err := repo.Worktree()
	require.NoError(t, err)
	require.NoError(t, wt.AddGlob("."))
	sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}
	v1, err := wt.Commit("v1", &git.CommitOptions{Author: sig})
	require.NoError(t, err)
	_, err = repo.CreateTag("v1.0.0", v1, &git.CreateTagOptions{Tagger: sig, Message: "v1"})
	require.NoError(t, err)
	// A later commit on the branch must not leak into the tag checkout.
	require.NoError(t, os.WriteFile(filepath.Join(src, "pack.yaml"), []byte(goodPackYAML+"tags: [later]\n"), 0o644))
	_, err = wt.Add("pack.yaml")
	require.NoError(t, err)
	_, err = wt.Commit("v2", &git.CommitOptions{Author: sig})
	require.NoError(t, err)

	ctx := context.Background()
	dest := filepath.Join(t.TempDir(), "clone")
	hash, err := FetchGit(ctx, "file://"+src, "v1.0.0", dest)
	require.NoError(t, err)
	require.Equal(t, v1.String(), hash)
	p, probs := LoadDir(dest)
	require.Empty(t, probs, probs.Format())
	require.Empty(t, p.Tags)

	dest2 := filepath.Join(t.TempDir(), "clone2")
	_, err = FetchGit(ctx, "file://"+src, "", dest2)
	require.NoError(t, err)
	p, probs = LoadDir(dest2)
	require.Empty(t, probs)
	require.Equal(t, []string{"later"}, p.Tags)

	_, err = FetchGit(ctx, "file://"+src, "nope", filepath.Join(t.TempDir(), "c3"))
	require.ErrorContains(t, err, `git ref "nope"`)
}
