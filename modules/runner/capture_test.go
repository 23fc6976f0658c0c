package runner

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const hundredMB = 100 << 20

// heapSampler records the peak Go heap in use while it runs. ReadMemStats
// stops the world briefly, so it samples every few milliseconds only.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > h.peak.Load() {
				h.peak.Store(ms.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// procStatusKB reads a "VmHWM:"-style field of /proc/self/status in KiB.
func procStatusKB(t *testing.T, field string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, field) {
			var kb int64
			_, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, field)), "%d kB", &kb)
			require.NoError(t, err)
			return kb
		}
	}
	t.Fatalf("%s not in /proc/self/status", field)
	return 0
}

// Not parallel: it measures the process-wide heap, which other tests'
// allocations would blur.
func TestHugeOutputIsTruncatedWithBoundedMemory(t *testing.T) {
	const line = "line of output with tok3n-XYZ inside\n"
	body := fmt.Sprintf(`yes '%s' | head -c %d
head -c %d /dev/zero >&2
exit 0`, strings.TrimSuffix(line, "\n"), hundredMB, hundredMB)
	logs := t.TempDir()
	h := startHeapSampler()
	start := time.Now()
	res := run(t, Spec{
		Path: script(t, body), Env: []string{"PATH=/usr/bin:/bin"}, LogDir: logs,
		MaxStdout: 1 << 20, MaxStderr: 1 << 20, MaxLogBytes: 2 << 20,
		Secrets: []string{"tok3n-XYZ"}, Timeout: 60 * time.Second,
	})
	elapsed := time.Since(start)
	peak := h.finish()
	t.Logf("200 MB through the runner: %v, peak HeapInuse %.1f MiB", elapsed, float64(peak)/(1<<20))

	require.Equal(t, StatusCompleted, res.Status)
	// Redaction runs before the cap: sizes count redacted bytes.
	// Computed, not built: a 100 MB expected string would itself blow the
	// heap this test measures.
	redLine := strings.ReplaceAll(line, "tok3n-XYZ", Mask)
	secretEnd := strings.Index(line, "tok3n-XYZ") + len("tok3n-XYZ")
	occurrences := (hundredMB-secretEnd)/len(line) + 1
	redactedLen := hundredMB - occurrences*(len("tok3n-XYZ")-len(Mask))
	head := strings.Repeat(redLine, (2<<20)/len(redLine)+1)[:2<<20]
	require.Equal(t, true, res.JSON["stdout_truncated"])
	// Dropped bytes are counted redacted until both sinks are full and raw
	// after that (redaction stops once nothing more is kept).
	dropped := res.JSON["stdout_bytes_truncated"].(int64)
	require.GreaterOrEqual(t, dropped, int64(redactedLen-(1<<20)))
	require.Less(t, dropped, int64(hundredMB-(1<<20)))
	require.Equal(t, head[:1<<20], res.JSON["stdout"])
	require.Equal(t, true, res.JSON["stderr_truncated"])
	require.Equal(t, int64(hundredMB-(1<<20)), res.JSON["stderr_bytes_truncated"])

	outLog, err := os.ReadFile(res.StdoutLog)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(outLog, []byte(head)), "log keeps the first MaxLogBytes")
	require.Equal(t, fmt.Sprintf("\n[attune: log truncated at %d bytes, %d bytes dropped]\n", 2<<20, dropped+(1<<20)-(2<<20)),
		string(outLog[2<<20:]))
	require.NotContains(t, string(outLog), "tok3n-XYZ")
	errInfo, err := os.Stat(res.StderrLog)
	require.NoError(t, err)
	require.Less(t, errInfo.Size(), int64(2<<20+200))

	// 1 MiB + 1 MiB of captured output plus read buffers; 200 MB of output
	// must not show up in the heap.
	require.Less(t, peak, uint64(24<<20), "heap grew with output size")
}

// Twenty actions each printing 100 MB at once: memory stays bounded by
// the caps, not by the output volume (2 GB in total).
func TestConcurrentHugeOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 2 GB through pipes")
	}
	const n = 20
	path := script(t, fmt.Sprintf(`head -c %d /dev/zero`, hundredMB))
	logs := t.TempDir()
	debug.FreeOSMemory()
	h := startHeapSampler()
	rssBefore := procStatusKB(t, "VmRSS:")
	var peakRSS atomic.Int64
	stopRSS := make(chan struct{})
	var rssWG sync.WaitGroup
	rssWG.Add(1)
	go func() {
		defer rssWG.Done()
		for {
			if kb := procStatusKB(t, "VmRSS:"); kb > peakRSS.Load() {
				peakRSS.Store(kb)
			}
			select {
			case <-stopRSS:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	results := make([]*Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = Run(context.Background(), Spec{
				Path: path, Env: []string{"PATH=/usr/bin:/bin"}, LogDir: fmt.Sprintf("%s/%d", logs, i),
				MaxStdout: 1 << 20, MaxLogBytes: 2 << 20, Timeout: 120 * time.Second,
			})
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopRSS)
	rssWG.Wait()
	peak := h.finish()
	t.Logf("%d × 100 MB: %v, peak HeapInuse %.1f MiB, RSS before %d MiB, peak sampled RSS %d MiB, VmHWM %d MiB",
		n, elapsed, float64(peak)/(1<<20), rssBefore/1024, peakRSS.Load()/1024, procStatusKB(t, "VmHWM:")/1024)
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, StatusCompleted, results[i].Status)
		require.Equal(t, int64(hundredMB-(1<<20)), results[i].JSON["stdout_bytes_truncated"])
		require.Len(t, results[i].JSON["stdout"], 1<<20)
	}
	// 20 × (1 MiB capture + 2 × 64 KiB read buffers + 32 KiB log buffer).
	require.Less(t, peak, uint64(64<<20), "heap grew with output size")
	require.Less(t, peakRSS.Load()-rssBefore, int64(200<<10), "RSS grew with output size (KiB)")
}

// The pump reads straight into the redaction holdback; what reaches the
// result and the log must equal redacting the whole output at once, with
// secrets straddling every 64 KiB read boundary.
func TestPumpRedactsLikeWholeBuffer(t *testing.T) {
	t.Parallel()
	var in strings.Builder
	rng := rand.New(rand.NewPCG(5, 6))
	for in.Len() < 600<<10 {
		if rng.IntN(3) == 0 {
			in.WriteString(trickySecrets[rng.IntN(len(trickySecrets))])
		} else {
			in.WriteString(strings.Repeat("x", rng.IntN(300)) + "\n")
		}
	}
	dir := t.TempDir()
	data := dir + "/out.txt"
	require.NoError(t, os.WriteFile(data, []byte(in.String()), 0o600))
	res := run(t, Spec{
		Path: "/bin/cat", Args: []string{data}, LogDir: dir + "/logs",
		MaxStdout: 256 << 10, Secrets: trickySecrets,
	})
	want := NewRedactor(trickySecrets).String(in.String())
	require.Equal(t, StatusCompleted, res.Status)
	require.Equal(t, want[:256<<10], res.JSON["stdout"])
	require.Equal(t, int64(len(want)-256<<10), res.JSON["stdout_bytes_truncated"])
	outLog, err := os.ReadFile(res.StdoutLog)
	require.NoError(t, err)
	require.Equal(t, want, string(outLog))
}
