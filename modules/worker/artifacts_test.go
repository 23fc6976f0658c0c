package worker

import (
	"os"
	"path/filepath"
	"testing"
)

func TestArtifactDirsRecycleEmptyKeepWritten(t *testing.T) {
	root := t.TempDir()
	var a artifactDirs
	if err := a.open(root, 7, 2); err != nil {
		t.Fatal(err)
	}
	d1, err := a.acquire(1)
	if err != nil || d1 != filepath.Join(root, "1") {
		t.Fatalf("acquire(1) = %q, %v", d1, err)
	}
	if fi, err := os.Stat(d1); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("attempt directory: %v %v", fi, err)
	}
	// An attempt that wrote nothing leaves no directory behind; the next
	// attempt gets the same directory back under its own name.
	a.release(1, d1)
	if _, err := os.Stat(d1); !os.IsNotExist(err) {
		t.Fatalf("empty directory kept: %v", err)
	}
	d2, err := a.acquire(2)
	if err != nil || d2 != filepath.Join(root, "2") {
		t.Fatalf("acquire(2) = %q, %v", d2, err)
	}
	if names, _ := readNames(filepath.Join(root, ".spare-7"), -1); len(names) != 0 {
		t.Fatalf("the spare was not reused: %v", names)
	}
	// What an attempt wrote stays, as its artifacts.
	if err := os.WriteFile(filepath.Join(d2, "report.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.release(2, d2)
	if b, err := os.ReadFile(filepath.Join(d2, "report.txt")); err != nil || string(b) != "x" {
		t.Fatalf("artifact lost: %q %v", b, err)
	}
	// A later attempt of the same execution finds its earlier artifacts.
	again, err := a.acquire(2)
	if err != nil || again != d2 {
		t.Fatalf("acquire(2) again = %q, %v", again, err)
	}
	if _, err := os.Stat(filepath.Join(again, "report.txt")); err != nil {
		t.Fatalf("earlier attempt's artifact gone: %v", err)
	}
	// Emptied, it is still not recycled: this attempt did not put it there.
	if err := os.Remove(filepath.Join(again, "report.txt")); err != nil {
		t.Fatal(err)
	}
	a.release(2, again)
	if _, err := os.Stat(again); err != nil {
		t.Fatalf("a directory this attempt found in place was recycled: %v", err)
	}
}

// A lost attempt may still be ending while the next attempt of the same
// execution starts on this worker: the directory is shared and recycled
// only when both have released it.
func TestArtifactDirsOverlappingAttemptsShare(t *testing.T) {
	root := t.TempDir()
	var a artifactDirs
	if err := a.open(root, 4, 4); err != nil {
		t.Fatal(err)
	}
	d, _ := a.acquire(5)
	a.release(5, d) // a spare now exists
	old, err := a.acquire(7)
	if err != nil {
		t.Fatal(err)
	}
	next, err := a.acquire(7)
	if err != nil || next != old {
		t.Fatalf("second attempt got %q, %v; want %q", next, err, old)
	}
	a.release(7, old) // the lost attempt ends first
	if _, err := os.Stat(next); err != nil {
		t.Fatalf("the running attempt's directory was recycled: %v", err)
	}
	other, _ := a.acquire(8)
	if other == next {
		t.Fatal("a directory in use was handed to another execution")
	}
	a.release(7, next)
	if _, err := os.Stat(next); !os.IsNotExist(err) {
		t.Fatalf("not recycled once both attempts ended: %v", err)
	}
}

// A spare whose mode an action changed is not handed on.
func TestArtifactDirsChangedModeNotHandedOut(t *testing.T) {
	root := t.TempDir()
	var a artifactDirs
	if err := a.open(root, 6, 4); err != nil {
		t.Fatal(err)
	}
	d, _ := a.acquire(1)
	a.release(1, d)
	if err := os.Chmod(a.free[0], 0o500); err != nil {
		t.Fatal(err)
	}
	d2, err := a.acquire(2)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d2); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("execution 2's directory: %v %v", fi, err)
	}
}

func TestArtifactDirsSpareWrittenLateIsNotHandedOut(t *testing.T) {
	root := t.TempDir()
	var a artifactDirs
	if err := a.open(root, 1, 4); err != nil {
		t.Fatal(err)
	}
	d, _ := a.acquire(10)
	a.release(10, d)
	// Something the action left running writes into the directory after it
	// was recycled: the spare must not reach another execution.
	spare := a.free[0]
	if err := os.WriteFile(filepath.Join(spare, "late"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d11, err := a.acquire(11)
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := readNames(d11, -1); len(names) != 0 {
		t.Fatalf("execution 11 received another's file: %v", names)
	}
}

func TestArtifactDirsBoundedAndAdoptedOnRestart(t *testing.T) {
	root := t.TempDir()
	var a artifactDirs
	if err := a.open(root, 3, 2); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for id := int64(1); id <= 5; id++ {
		d, err := a.acquire(id)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for i, d := range dirs {
		a.release(int64(i+1), d)
	}
	spares, _ := readNames(filepath.Join(root, ".spare-3"), -1)
	if len(spares) != 2 {
		t.Fatalf("spares kept = %v, want 2", spares)
	}
	left, _ := readNames(root, -1)
	if len(left) != 1 { // only .spare-3
		t.Fatalf("root holds %v", left)
	}
	// A restarted worker adopts its spares.
	var b artifactDirs
	if err := b.open(root, 3, 2); err != nil {
		t.Fatal(err)
	}
	if len(b.free) != 2 {
		t.Fatalf("adopted %d spares, want 2", len(b.free))
	}
	d, err := b.acquire(9)
	if err != nil {
		t.Fatal(err)
	}
	b.release(9, d)
	if spares, _ := readNames(filepath.Join(root, ".spare-3"), -1); len(spares) != 2 {
		t.Fatalf("spares after restart = %v", spares)
	}
}

func TestArtifactDirsWithoutDataDir(t *testing.T) {
	var a artifactDirs
	if err := a.open("", 1, 2); err != nil {
		t.Fatal(err)
	}
	if d, err := a.acquire(1); d != "" || err != nil {
		t.Fatalf("acquire = %q, %v", d, err)
	}
	a.release(1, "")
}
