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
	a.release(d1)
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
	a.release(d2)
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
}

func TestArtifactDirsSpareWrittenLateIsNotHandedOut(t *testing.T) {
	root := t.TempDir()
	var a artifactDirs
	if err := a.open(root, 1, 4); err != nil {
		t.Fatal(err)
	}
	d, _ := a.acquire(10)
	a.release(d)
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
	for _, d := range dirs {
		a.release(d)
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
	b.release(d)
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
	a.release("")
}
