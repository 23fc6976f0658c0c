package pack

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// FetchGit clones url into dest (which must not exist or be empty) and
// checks out ref: a tag, a branch, or a commit hash; empty means the remote
// HEAD. It uses go-git, so no git binary is needed, and supports file://
// URLs. The returned string is the checked-out commit hash.
func FetchGit(ctx context.Context, url, ref, dest string) (string, error) {
	if err := prepareDest(dest); err != nil {
		return "", err
	}
	repo, err := git.PlainCloneContext(ctx, dest, false, &git.CloneOptions{URL: url, Tags: git.AllTags})
	if err != nil {
		os.RemoveAll(dest)
		return "", fmt.Errorf("git clone %s: %w", url, err)
	}
	hash, err := resolveRef(repo, ref)
	if err != nil {
		os.RemoveAll(dest)
		return "", fmt.Errorf("git ref %q in %s: %w", ref, url, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: hash, Force: true}); err != nil {
		os.RemoveAll(dest)
		return "", fmt.Errorf("git checkout %s: %w", hash, err)
	}
	return hash.String(), nil
}

func resolveRef(repo *git.Repository, ref string) (plumbing.Hash, error) {
	if ref == "" {
		h, err := repo.Head()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return h.Hash(), nil
	}
	candidates := []plumbing.Revision{
		plumbing.Revision("refs/tags/" + ref),
		plumbing.Revision("refs/remotes/origin/" + ref),
		plumbing.Revision(ref),
	}
	for _, rev := range candidates {
		h, err := repo.ResolveRevision(rev)
		if err == nil {
			// Annotated tags resolve to the tag object; peel to the commit.
			if tag, terr := repo.TagObject(*h); terr == nil {
				c, cerr := tag.Commit()
				if cerr != nil {
					return plumbing.ZeroHash, cerr
				}
				return c.Hash, nil
			}
			return *h, nil
		}
	}
	return plumbing.ZeroHash, errors.New("not a tag, branch or commit")
}
