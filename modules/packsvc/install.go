package packsvc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/attune-system/attune/modules/pack"
)

// Install fetches a pack and registers it. source is one of:
//   - a local directory;
//   - a .tar.gz/.tgz/.zip file, or an http(s) URL ending in one of those;
//   - a git URL (file://, ssh://, git://, git@host:…, or any other
//     http(s) URL), checked out at ref (tag, branch or commit; "" = HEAD).
//
// Archives are validated entry by entry before anything is written, within
// the service's Limits.
func (s *Service) Install(ctx context.Context, source, ref string, opts RegisterOptions) (Result, error) {
	if kind := archiveKind(source); kind != "" {
		if isHTTP(source) {
			return s.installHTTPArchive(ctx, source, kind, opts)
		}
		f, err := os.Open(source)
		if err != nil {
			return Result{}, fmt.Errorf("pack archive: %w", err)
		}
		defer f.Close()
		opts.SourceType, opts.SourceURL = orStr(opts.SourceType, SourceLocal), orStr(opts.SourceURL, source)
		return s.InstallArchive(ctx, f, kind, opts)
	}
	if isGit(source) {
		work, err := os.MkdirTemp(s.packsDir, ".fetch-")
		if err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(work)
		commit, err := pack.FetchGit(ctx, source, ref, work)
		if err != nil {
			return Result{}, fmt.Errorf("fetch %s: %w", redactURL(source), err)
		}
		opts.SourceType, opts.SourceURL, opts.SourceRef = SourceGit, source, orStr(ref, commit)
		if ref != "" && ref != commit {
			opts.SourceRef = ref + "@" + commit
		}
		return s.Register(ctx, work, opts)
	}
	if ref != "" {
		return Result{}, fmt.Errorf("--ref applies to git sources, and %s is a local directory", source)
	}
	opts.SourceType, opts.SourceURL = orStr(opts.SourceType, SourceLocal), orStr(opts.SourceURL, source)
	return s.Register(ctx, source, opts)
}

// InstallArchive registers the pack in an archive read from r (an upload);
// kind is "tar.gz" or "zip".
func (s *Service) InstallArchive(ctx context.Context, r io.Reader, kind string, opts RegisterOptions) (Result, error) {
	work, err := os.MkdirTemp(s.packsDir, ".extract-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(work)
	root, err := pack.ExtractArchive(r, kind, work, s.limits)
	if err != nil {
		return Result{}, fmt.Errorf("pack archive: %w", err)
	}
	opts.SourceType = orStr(opts.SourceType, SourceLocal)
	return s.Register(ctx, root, opts)
}

func (s *Service) installHTTPArchive(ctx context.Context, src, kind string, opts RegisterOptions) (Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return Result{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("download %s: %w", redactURL(src), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Result{}, fmt.Errorf("download %s: %s", redactURL(src), resp.Status)
	}
	opts.SourceType, opts.SourceURL = SourceRegistry, src
	// ExtractArchive bounds the archive size itself.
	return s.InstallArchive(ctx, resp.Body, kind, opts)
}

func archiveKind(source string) string {
	p := source
	if u, err := url.Parse(source); err == nil && isHTTP(source) {
		p = u.Path
	}
	switch l := strings.ToLower(p); {
	case strings.HasSuffix(l, ".tar.gz"), strings.HasSuffix(l, ".tgz"):
		return "tar.gz"
	case strings.HasSuffix(l, ".zip"):
		return "zip"
	}
	return ""
}

func isHTTP(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

func isGit(s string) bool {
	l := strings.ToLower(s)
	for _, p := range []string{"file://", "ssh://", "git://", "git@", "http://", "https://"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
