package executor_test

import (
	"testing"
	"time"
)

// BenchmarkEventToDispatch measures the in-process latency from event
// ingestion (event + EventCreated committed) to the ExecutionDispatch
// arriving on the worker's queue: outbox relay, rule evaluation,
// enforcement + execution transaction, relay, admission and scheduling.
func BenchmarkEventToDispatch(b *testing.B) {
	h := newHarness(b, harnessOpts{})
	f := h.fixture("bench", nil)
	w := h.worker("w1", "shell")
	h.rule(f, "r", `{"expression":"event.payload.n >= 0"}`, `{"url":"{{ event.payload.url }}"}`)
	b.ResetTimer()
	for b.Loop() {
		h.ingest(f, `{"n":1,"url":"https://b.test"}`)
		h.nextDispatch(w)
	}
}

// BenchmarkEnforcementThroughput measures events fully evaluated into
// dispatched executions per second with many in flight at once.
func BenchmarkEnforcementThroughput(b *testing.B) {
	h := newHarness(b, harnessOpts{})
	f := h.fixture("tput", nil)
	w := h.worker("w1", "shell")
	h.rule(f, "r", `{}`, `{"url":"u"}`)
	start := time.Now()
	n := 0
	for b.Loop() {
		h.ingest(f, `{}`)
		n++
	}
	for range n {
		h.nextDispatch(w)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "enforcements/s")
}
