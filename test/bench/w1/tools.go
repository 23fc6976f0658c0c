package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// buildTool builds ../shared/bench/<name> (stdlib-only) into the scratch dir.
func buildTool(o options, name string) (string, error) {
	src := filepath.Join(o.shared, "bench", name)
	if _, err := os.Stat(filepath.Join(src, "main.go")); err != nil {
		return "", fmt.Errorf("bench tool %s not found at %s (expected the shared bench folder; set -shared)", name, src)
	}
	out := filepath.Join(o.work, name)
	cmd := exec.Command("go", "build", "-C", src, "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w: %s", src, err, b)
	}
	return out, nil
}

// report is the subset of loadgen's RESULT_JSON the table uses.
type report struct {
	Accepted      int     `json:"accepted"`
	HTTPErrors    int     `json:"http_errors"`
	Completed     int     `json:"completed"`
	Lost          int     `json:"lost"`
	Duplicated    int     `json:"duplicated"`
	CompletedPerS float64 `json:"completed_per_s"`
	LatP50ms      float64 `json:"lat_p50_ms"`
	LatP99ms      float64 `json:"lat_p99_ms"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	FirstError    string  `json:"first_error"`
}

// row is one system's figures: B1 from the latency run, B2 from the
// throughput run, peak RSS the larger of the two.
type row struct {
	name     string
	lat, thr report
	err      string
}

// loadgen runs one loadgen mode against url, sampling pid's process tree.
func loadgen(o options, url, result string, pid int, mode string) (report, error) {
	args := []string{"-url", url, "-result", result, "-pid", fmt.Sprint(pid)}
	switch mode {
	case "warmup": // latency mode, fewer requests
		args = append(args, "-mode", "latency", "-n", fmt.Sprint(o.warmN), "-rate", fmt.Sprint(o.latRate))
	case "latency":
		args = append(args, "-mode", mode, "-n", fmt.Sprint(o.latN), "-rate", fmt.Sprint(o.latRate))
	default:
		args = append(args, "-mode", mode, "-n", fmt.Sprint(o.thrN), "-c", fmt.Sprint(o.thrC))
	}
	cmd := exec.Command(o.loadgen, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return report{}, fmt.Errorf("loadgen %s: %w: %s", mode, err, out.String())
	}
	fmt.Fprint(os.Stderr, out.String())
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if j, ok := strings.CutPrefix(sc.Text(), "RESULT_JSON "); ok {
			var r report
			return r, json.Unmarshal([]byte(j), &r)
		}
	}
	return report{}, fmt.Errorf("loadgen %s: no RESULT_JSON line", mode)
}

// measure runs B1 then B2 against url. B1 is preceded by o.warmN requests
// at the same rate, not counted, so that it measures every system in its
// steady state rather than its first requests after start (new database
// connections, first plans, cold caches), which each system pays once.
func measure(o options, name, url, result string, pid int) (row, error) {
	r := row{name: name}
	var err error
	if o.warmN > 0 {
		if _, err = loadgen(o, url, result, pid, "warmup"); err != nil {
			return r, err
		}
	}
	if r.lat, err = loadgen(o, url, result, pid, "latency"); err != nil {
		return r, err
	}
	r.thr, err = loadgen(o, url, result, pid, "throughput")
	return r, err
}

// benchFloor starts the floor server and measures it.
func benchFloor(o options, bin string) (row, error) {
	addr, err := freeAddr()
	if err != nil {
		return row{}, err
	}
	result := filepath.Join(o.work, "floor-result.txt")
	cmd := exec.Command(bin, "-addr", addr, "-result", result)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return row{}, err
	}
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() }()
	if err := waitTCP(addr, 10*time.Second); err != nil {
		return row{}, err
	}
	return measure(o, "floor", "http://"+addr+"/w1", result, cmd.Process.Pid)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitTCP(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening after %s", addr, d)
}
