package worker

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// artifactDirs hands each attempt its own artifacts directory,
// <root>/<execution id>, without a mkdir per launch: on the filesystems we
// measured, a mkdir costs 0.13–0.26 ms of CPU (a rename about 15 µs), which
// was a quarter of the worker's CPU per W1 event and sat on the
// event → action path. A directory the action left empty is not kept: it is
// renamed into this worker's spare directory (<root>/.spare-<worker id>) and
// renamed back into place for a later attempt. A directory holding files is
// left where it is, as the execution's artifacts.
type artifactDirs struct {
	root  string // "" when the worker has no data directory
	spare string // this worker's own spare directory: no other process renames from it

	mu   sync.Mutex
	free []string // empty directories under spare
	next int      // name of the next directory moved into spare
	max  int      // most spare directories kept; the rest are removed
}

// open prepares root and this worker's spare directory, adopting the empty
// directories an earlier run of the same worker left there.
func (a *artifactDirs) open(root string, workerID int64, max int) error {
	a.root, a.max = root, max
	if root == "" {
		return nil
	}
	a.spare = filepath.Join(root, fmt.Sprintf(".spare-%d", workerID))
	if err := os.MkdirAll(a.spare, 0o700); err != nil {
		return fmt.Errorf("worker: artifacts dir: %w", err)
	}
	names, err := readNames(a.spare, -1)
	if err != nil {
		return fmt.Errorf("worker: artifacts dir: %w", err)
	}
	for _, n := range names {
		if i, err := strconv.Atoi(n); err == nil && i >= a.next {
			a.next = i + 1 // new spares never take an existing name
		}
		p := filepath.Join(a.spare, n)
		if empty, err := emptyDir(p); err == nil && empty && len(a.free) < a.max {
			a.free = append(a.free, p)
		} else if err == nil && empty {
			_ = os.Remove(p)
		}
	}
	return nil
}

// acquire returns the attempt's directory, or "" without a data directory.
// A directory already there (an earlier attempt of the same execution on
// this host) is used as it is.
func (a *artifactDirs) acquire(id int64) (string, error) {
	if a.root == "" {
		return "", nil
	}
	dir := filepath.Join(a.root, fmt.Sprint(id))
	if p := a.pop(); p != "" {
		// A spare holds nothing unless something wrote into a directory
		// after its attempt ended (a process the action left behind):
		// such a spare is dropped rather than handed to someone else.
		if empty, err := emptyDir(p); err == nil && empty {
			if err := os.Rename(p, dir); err == nil {
				return dir, nil
			}
			a.push(p) // dir exists with files: the spare stays one
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("artifacts dir: %w", err)
	}
	return dir, nil
}

// release keeps dir when the attempt wrote into it and recycles it
// otherwise.
func (a *artifactDirs) release(dir string) {
	if dir == "" {
		return
	}
	if empty, err := emptyDir(dir); err != nil || !empty {
		return
	}
	a.mu.Lock()
	if len(a.free) >= a.max {
		a.mu.Unlock()
		_ = os.Remove(dir)
		return
	}
	p := filepath.Join(a.spare, fmt.Sprint(a.next))
	a.next++
	a.mu.Unlock()
	if err := os.Rename(dir, p); err != nil {
		_ = os.Remove(dir)
		return
	}
	a.push(p)
}

func (a *artifactDirs) push(p string) {
	a.mu.Lock()
	a.free = append(a.free, p)
	a.mu.Unlock()
}

func (a *artifactDirs) pop() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.free) == 0 {
		return ""
	}
	p := a.free[len(a.free)-1]
	a.free = a.free[:len(a.free)-1]
	return p
}

// emptyDir reads at most one entry of dir.
func emptyDir(dir string) (bool, error) {
	names, err := readNames(dir, 1)
	return len(names) == 0, err
}

func readNames(dir string, n int) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(n)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return names, err
}
