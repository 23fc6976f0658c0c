package packsvc

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/attune-system/attune/modules/pack"
)

// Staging limits mirror the loader's, so a hostile directory is rejected
// while it is copied rather than after.
const (
	maxStageFileBytes  = 20 << 20
	maxStageTotalBytes = 100 << 20
)

// walkPack visits every regular file of the pack in fsys in lexical order,
// skipping .git, and rejects anything that is not a file or directory
// (symlinks, devices, fifos, sockets) and packs over the size/count limits.
func walkPack(fsys fs.FS, visit func(rel string, d fs.DirEntry) error) error {
	var files int
	var total int64
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if d.IsDir() && d.Name() == ".git" && p != "." {
			return fs.SkipDir
		}
		files++
		if files > pack.MaxPackFiles {
			return fmt.Errorf("pack holds more than %d entries", pack.MaxPackFiles)
		}
		switch t := d.Type(); {
		case t.IsDir():
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if info.Size() > maxStageFileBytes {
				return fmt.Errorf("%s: file is %d bytes, over the %d-byte limit", p, info.Size(), maxStageFileBytes)
			}
			if total += info.Size(); total > maxStageTotalBytes {
				return fmt.Errorf("pack is over %d bytes", maxStageTotalBytes)
			}
		case t&fs.ModeSymlink != 0:
			return fmt.Errorf("%s: symlinks are not allowed in packs", p)
		default:
			return fmt.Errorf("%s: %s files are not allowed in packs", p, t.Type())
		}
		return visit(p, d)
	})
}

// hashEntry feeds one entry into the pack checksum: its path, kind, mode bit
// for execute and content, length-prefixed so no two packs collide by
// concatenation.
func hashEntry(h hash.Hash, rel string, d fs.DirEntry, content []byte) {
	kind := byte('f')
	if d.IsDir() {
		kind = 'd'
	}
	var exec byte
	if info, err := d.Info(); err == nil && info.Mode()&0o111 != 0 && !d.IsDir() {
		exec = 1
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(rel)))
	h.Write(n[:])
	h.Write([]byte(rel))
	h.Write([]byte{kind, exec})
	binary.BigEndian.PutUint64(n[:], uint64(len(content)))
	h.Write(n[:])
	h.Write(content)
}

// Checksum returns the hex sha256 of a pack's files (paths, execute bits and
// contents, .git excluded). Identical trees have identical checksums.
func Checksum(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := walkPack(fsys, func(rel string, d fs.DirEntry) error {
		var b []byte
		if !d.IsDir() {
			var err error
			if b, err = fs.ReadFile(fsys, rel); err != nil {
				return err
			}
		}
		hashEntry(h, rel, d, b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// dirChecksum is Checksum of a directory, "" when it does not exist or is
// unreadable (so it never matches a registered checksum).
func dirChecksum(dir string) string {
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return ""
	}
	sum, err := Checksum(os.DirFS(dir))
	if err != nil {
		return ""
	}
	return sum
}

// stage copies the pack in fsys into a new directory under parent and
// returns its path and the checksum of what was copied. Files keep only
// their execute bits (0755/0644): installed packs are read-only content.
func stage(fsys fs.FS, parent string) (dir, sum string, err error) {
	dir, err = os.MkdirTemp(parent, ".staging-")
	if err != nil {
		return "", "", fmt.Errorf("stage pack: %w", err)
	}
	h := sha256.New()
	err = walkPack(fsys, func(rel string, d fs.DirEntry) error {
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if d.IsDir() {
			hashEntry(h, rel, d, nil)
			if rel == "." {
				return nil
			}
			return os.Mkdir(dst, 0o755)
		}
		b, err := fs.ReadFile(fsys, rel)
		if err != nil {
			return err
		}
		hashEntry(h, rel, d, b)
		mode := os.FileMode(0o644)
		if info, err := d.Info(); err == nil && info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		return os.WriteFile(dst, b, mode)
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", "", err
	}
	return dir, hex.EncodeToString(h.Sum(nil)), nil
}

// swapIn makes staged the content of final atomically: with
// renameat2(RENAME_EXCHANGE) when final exists (a reader sees the old tree
// or the new one, never neither), a plain rename otherwise. undo restores
// the previous state; done removes the old tree once the swap is final.
func swapIn(staged, final string) (undo, done func() error, err error) {
	if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(staged, final); err != nil {
			return nil, nil, fmt.Errorf("install pack files: %w", err)
		}
		return func() error { return os.RemoveAll(final) }, func() error { return nil }, nil
	}
	err = unix.Renameat2(unix.AT_FDCWD, staged, unix.AT_FDCWD, final, unix.RENAME_EXCHANGE)
	if err == nil {
		// staged now holds the old tree.
		undo = func() error {
			if err := unix.Renameat2(unix.AT_FDCWD, staged, unix.AT_FDCWD, final, unix.RENAME_EXCHANGE); err != nil {
				return err
			}
			return os.RemoveAll(staged)
		}
		return undo, func() error { return os.RemoveAll(staged) }, nil
	}
	// Filesystems without RENAME_EXCHANGE: two renames, with a window of
	// microseconds in which final does not exist.
	old := final + ".old-" + randHex()
	if err := os.Rename(final, old); err != nil {
		return nil, nil, fmt.Errorf("install pack files: %w", err)
	}
	if err := os.Rename(staged, final); err != nil {
		_ = os.Rename(old, final)
		return nil, nil, fmt.Errorf("install pack files: %w", err)
	}
	undo = func() error {
		if err := os.Rename(final, staged); err != nil {
			return err
		}
		if err := os.Rename(old, final); err != nil {
			return err
		}
		return os.RemoveAll(staged)
	}
	return undo, func() error { return os.RemoveAll(old) }, nil
}

func randHex() string {
	b := make([]byte, 8)
	_, _ = io.ReadFull(rand.Reader, b)
	return hex.EncodeToString(b)
}
