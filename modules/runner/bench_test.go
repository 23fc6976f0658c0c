package runner

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkRunTrue measures the runner's fixed cost per action: pipes,
// fork/exec, parameter feed, wait, group check and result building.
func BenchmarkRunTrue(b *testing.B) {
	s := Spec{Path: "/bin/true", Params: map[string]any{"a": 1}, Env: []string{"PATH=/usr/bin:/bin"}}
	for b.Loop() {
		res, err := Run(context.Background(), s)
		if err != nil || res.Status != StatusCompleted {
			b.Fatalf("run: %v %+v", err, res)
		}
	}
}

// BenchmarkRunTrueWithLogsAndSecrets adds log files and a redactor.
func BenchmarkRunTrueWithLogsAndSecrets(b *testing.B) {
	s := Spec{
		Path: "/bin/true", Params: map[string]any{"a": 1}, Env: []string{"PATH=/usr/bin:/bin"},
		LogDir: b.TempDir(), Secrets: trickySecrets,
	}
	for b.Loop() {
		res, err := Run(context.Background(), s)
		if err != nil || res.Status != StatusCompleted {
			b.Fatalf("run: %v %+v", err, res)
		}
	}
}

// workerLikeSpec is shaped like what the worker hands the runner for
// core.local: a shell command, 1 MiB capture caps, log files, and a secret
// as long as the execution token the worker always adds.
func workerLikeSpec(b *testing.B, cmd string) Spec {
	return Spec{
		Path: "/bin/sh", Args: []string{"-c", cmd}, Params: map[string]any{"cmd": cmd},
		Env: []string{"PATH=/usr/bin:/bin"}, LogDir: b.TempDir(),
		MaxStdout: 1 << 20, MaxStderr: 1 << 20,
		Secrets: []string{"eyJhbGciOiJIUzI1NiJ9." + strings.Repeat("tokenbody", 30) + ".c2lnbmF0dXJl"},
	}
}

// BenchmarkRunSmallOutput is the common case (W1): a short line on each
// stream. Its B/op is what every execution costs the worker's heap.
func BenchmarkRunSmallOutput(b *testing.B) {
	s := workerLikeSpec(b, "echo hello world; echo a warning >&2")
	for b.Loop() {
		res, err := Run(context.Background(), s)
		if err != nil || res.Status != StatusCompleted || res.JSON["stdout"] != "hello world\n" {
			b.Fatalf("run: %v %+v", err, res)
		}
	}
}

// BenchmarkRunBigOutput prints 100 MB: the capture stops at its 1 MiB cap
// and the log at its 64 MiB cap, so B/op must stay near the cap, not grow
// with the output.
func BenchmarkRunBigOutput(b *testing.B) {
	s := workerLikeSpec(b, "head -c 104857600 /dev/zero | tr '\\0' x")
	for b.Loop() {
		res, err := Run(context.Background(), s)
		if err != nil || res.Status != StatusCompleted || res.JSON["stdout_truncated"] != true {
			b.Fatalf("run: %v %+v", err, res)
		}
	}
}
