package pack

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits bound what ExtractArchive accepts. Zero fields take the defaults
// in DefaultLimits.
type Limits struct {
	MaxBytes     int64 // total uncompressed bytes (and the archive itself)
	MaxFiles     int   // entries, directories included
	MaxFileBytes int64 // one file
}

// DefaultLimits suits ordinary packs.
var DefaultLimits = Limits{MaxBytes: 100 << 20, MaxFiles: 10_000, MaxFileBytes: 20 << 20}

// ArchiveError names the offending entry.
type ArchiveError struct {
	Entry string
	Msg   string
}

func (e *ArchiveError) Error() string {
	if e.Entry == "" {
		return "archive: " + e.Msg
	}
	return fmt.Sprintf("archive entry %q: %s", e.Entry, e.Msg)
}

type entry struct {
	name string // cleaned, slash-separated
	dir  bool
	exec bool
	size int64
}

// ExtractArchive unpacks a "tar.gz" or "zip" archive into dest (which must
// not exist or be empty) and returns the pack root: dest itself when
// pack.yaml is at the top, or the single top-level directory holding it.
// Every entry is validated before anything is written: traversal, absolute
// paths, links, devices, fifos, sizes and counts are all rejected up front.
func ExtractArchive(r io.Reader, kind, dest string, limits Limits) (string, error) {
	limits = withDefaults(limits)
	if kind != "tar.gz" && kind != "zip" {
		return "", &ArchiveError{Msg: fmt.Sprintf("unsupported archive kind %q (want tar.gz or zip)", kind)}
	}
	// Spool to a temp file: zip needs random access, and validating before
	// writing needs two passes over a tarball.
	spool, err := os.CreateTemp("", "attune-pack-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	n, err := io.Copy(spool, io.LimitReader(r, limits.MaxBytes+1))
	if err != nil {
		return "", err
	}
	if n > limits.MaxBytes {
		return "", &ArchiveError{Msg: fmt.Sprintf("archive is larger than %d bytes", limits.MaxBytes)}
	}
	var entries []entry
	if kind == "zip" {
		entries, err = scanZip(spool, n, limits)
	} else {
		entries, err = scanTar(spool, limits)
	}
	if err != nil {
		return "", err
	}
	root, err := packRoot(entries)
	if err != nil {
		return "", err
	}
	if err := prepareDest(dest); err != nil {
		return "", err
	}
	if kind == "zip" {
		err = writeZip(spool, n, dest, entries)
	} else {
		err = writeTar(spool, dest, entries)
	}
	if err != nil {
		return "", err
	}
	return filepath.Join(dest, filepath.FromSlash(root)), nil
}

func withDefaults(l Limits) Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultLimits.MaxFiles
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	return l
}

// cleanEntryName rejects names that could escape dest.
func cleanEntryName(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) || strings.Contains(name, "\\") {
		return "", errors.New("invalid name")
	}
	if path.IsAbs(name) || filepath.IsAbs(name) || filepath.VolumeName(name) != "" {
		return "", errors.New("absolute paths are not allowed")
	}
	for _, part := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if part == ".." {
			return "", errors.New("path traversal (..) is not allowed")
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil // the root itself
	}
	return clean, nil
}

// tally enforces counts and sizes while scanning.
type tally struct {
	limits Limits
	files  int
	bytes  int64
	seen   map[string]bool
}

func (t *tally) add(e entry) error {
	t.files++
	if t.files > t.limits.MaxFiles {
		return &ArchiveError{Msg: fmt.Sprintf("more than %d entries", t.limits.MaxFiles)}
	}
	if e.size > t.limits.MaxFileBytes {
		return &ArchiveError{Entry: e.name, Msg: fmt.Sprintf("file is larger than %d bytes", t.limits.MaxFileBytes)}
	}
	t.bytes += e.size
	if t.bytes > t.limits.MaxBytes {
		return &ArchiveError{Entry: e.name, Msg: fmt.Sprintf("archive expands to more than %d bytes", t.limits.MaxBytes)}
	}
	if t.seen[e.name] {
		return &ArchiveError{Entry: e.name, Msg: "duplicate entry"}
	}
	t.seen[e.name] = true
	return nil
}

func scanTar(f *os.File, limits Limits) ([]entry, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, &ArchiveError{Msg: "not a gzip stream: " + err.Error()}
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	t := &tally{limits: limits, seen: map[string]bool{}}
	var out []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, &ArchiveError{Msg: "corrupt tar: " + err.Error()}
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // e.g. the commit id GitHub puts in tarballs
		}
		name, err := cleanEntryName(h.Name)
		if err != nil {
			return nil, &ArchiveError{Entry: h.Name, Msg: err.Error()}
		}
		e := entry{name: name}
		switch h.Typeflag {
		case tar.TypeDir:
			e.dir = true
		case tar.TypeReg:
			e.size, e.exec = h.Size, h.Mode&0o111 != 0
		case tar.TypeSymlink:
			return nil, &ArchiveError{Entry: h.Name, Msg: "symlinks are not allowed"}
		case tar.TypeLink:
			return nil, &ArchiveError{Entry: h.Name, Msg: "hard links are not allowed"}
		case tar.TypeChar, tar.TypeBlock:
			return nil, &ArchiveError{Entry: h.Name, Msg: "device files are not allowed"}
		case tar.TypeFifo:
			return nil, &ArchiveError{Entry: h.Name, Msg: "fifos are not allowed"}
		default:
			return nil, &ArchiveError{Entry: h.Name, Msg: fmt.Sprintf("unsupported entry type %q", h.Typeflag)}
		}
		if name == "" {
			continue
		}
		if err := t.add(e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
}

func scanZip(f *os.File, size int64, limits Limits) ([]entry, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, &ArchiveError{Msg: "not a zip archive: " + err.Error()}
	}
	if len(zr.File) > limits.MaxFiles {
		return nil, &ArchiveError{Msg: fmt.Sprintf("more than %d entries", limits.MaxFiles)}
	}
	t := &tally{limits: limits, seen: map[string]bool{}}
	var out []entry
	for _, zf := range zr.File {
		name, err := cleanEntryName(zf.Name)
		if err != nil {
			return nil, &ArchiveError{Entry: zf.Name, Msg: err.Error()}
		}
		m := zf.Mode()
		e := entry{name: name}
		switch {
		case m&fs.ModeSymlink != 0:
			return nil, &ArchiveError{Entry: zf.Name, Msg: "symlinks are not allowed"}
		case m.IsDir():
			e.dir = true
		case m.IsRegular():
			if zf.UncompressedSize64 > uint64(limits.MaxFileBytes) {
				return nil, &ArchiveError{Entry: zf.Name, Msg: fmt.Sprintf("file is larger than %d bytes", limits.MaxFileBytes)}
			}
			e.size, e.exec = int64(zf.UncompressedSize64), m&0o111 != 0
		default:
			return nil, &ArchiveError{Entry: zf.Name, Msg: "special files are not allowed"}
		}
		if name == "" {
			continue
		}
		if err := t.add(e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// packRoot finds pack.yaml at the top or inside a single top directory.
func packRoot(entries []entry) (string, error) {
	tops := map[string]bool{}
	has := map[string]bool{}
	for _, e := range entries {
		tops[strings.SplitN(e.name, "/", 2)[0]] = true
		if !e.dir {
			has[e.name] = true
		}
	}
	if has["pack.yaml"] {
		return ".", nil
	}
	if len(tops) == 1 {
		for top := range tops {
			if has[top+"/pack.yaml"] {
				return top, nil
			}
		}
	}
	return "", &ArchiveError{Msg: "no pack.yaml at the top level or inside a single top-level directory"}
}

func prepareDest(dest string) error {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(dest)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("extract destination %s is not empty", dest)
	}
	return nil
}

func writeEntry(dest string, e entry, r io.Reader) error {
	target := filepath.Join(dest, filepath.FromSlash(e.name))
	if e.dir {
		return os.MkdirAll(target, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if e.exec {
		mode = 0o755
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	// Never trust the declared size alone: copy at most size+1 bytes.
	n, err := io.Copy(f, io.LimitReader(r, e.size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != e.size {
		err = &ArchiveError{Entry: e.name, Msg: "content size does not match header"}
	}
	return err
}

func writeTar(f *os.File, dest string, entries []entry) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	i := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name, _ := cleanEntryName(h.Name)
		if h.Typeflag == tar.TypeXGlobalHeader || name == "" {
			continue
		}
		if i >= len(entries) || entries[i].name != name {
			return &ArchiveError{Entry: h.Name, Msg: "archive changed between validation and extraction"}
		}
		if err := writeEntry(dest, entries[i], tr); err != nil {
			return err
		}
		i++
	}
}

func writeZip(f *os.File, size int64, dest string, entries []entry) error {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return err
	}
	i := 0
	for _, zf := range zr.File {
		name, _ := cleanEntryName(zf.Name)
		if name == "" {
			continue
		}
		e := entries[i]
		i++
		if e.dir {
			if err := writeEntry(dest, e, nil); err != nil {
				return err
			}
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		err = writeEntry(dest, e, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
