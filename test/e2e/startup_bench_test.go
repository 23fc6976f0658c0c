package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attune-system/attune/modules/store/storetest"
)

// BenchmarkServeToReady measures `attune serve --roles=all` from exec to the
// first /readyz 200 on an already migrated database, and the process's RSS
// after two idle seconds (reported as idle-RSS-MiB).
//
//	go test -run '^$' -bench ServeToReady -benchtime 5x ./test/e2e/
func BenchmarkServeToReady(b *testing.B) {
	dsn := storetest.NewDatabase(b)
	dir := b.TempDir()
	if err := os.WriteFile(dir+"/attune.yaml", []byte(prodConfig(dsn, "", "")), 0o600); err != nil {
		b.Fatal(err)
	}
	var rssTotal float64
	for b.Loop() {
		port := freePort(b)
		cmd := exec.Command(binPath, "serve", "--roles=all", "--port", strconv.Itoa(port))
		cmd.Dir = dir
		cmd.Env = cleanEnv()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
		for deadline := time.Now().Add(30 * time.Second); ; {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				b.Fatal("not ready within 30s")
			}
			if resp, err := http.Get(url); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		b.StopTimer()
		time.Sleep(2 * time.Second)
		rssTotal += rssMiB(cmd.Process.Pid)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		b.StartTimer()
	}
	b.ReportMetric(rssTotal/float64(b.N), "idle-RSS-MiB")
}

// rssMiB reads VmRSS of pid from /proc.
func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
