package executor

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// firedHints are the (event, rule) firings other executors announced on
// store.ExecutorFiredChannel (wake.go): the broker's copy of an event
// another executor was woken for waits for them rather than firing again
// only to find the enforcement there. A hint is never needed for
// correctness: one that does not come in time (lost, forgotten, or the
// other executor failed) means the copy fires as usual, and the unique
// (rule, event) enforcement keeps that one firing.
type firedHints struct {
	mu    sync.Mutex
	m     map[ruleEvent]*hint
	order []ruleEvent
}

type ruleEvent struct{ event, rule int64 }

// hint closes done when the firing was announced.
type hint struct {
	done   chan struct{}
	closed bool
}

// firedHintsMax bounds memory: the oldest hints are forgotten first.
const firedHintsMax = 8192

func newFiredHints() *firedHints { return &firedHints{m: map[ruleEvent]*hint{}} }

// entry returns k's hint, creating it; the caller holds mu.
func (f *firedHints) entry(k ruleEvent) *hint {
	if h := f.m[k]; h != nil {
		return h
	}
	h := &hint{done: make(chan struct{})}
	f.m[k] = h
	f.order = append(f.order, k)
	if len(f.order) > firedHintsMax {
		delete(f.m, f.order[0])
		f.order = f.order[1:]
	}
	return h
}

// mark records that k was fired.
func (f *firedHints) mark(k ruleEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h := f.entry(k); !h.closed {
		h.closed = true
		close(h.done)
	}
}

// wait reports whether k was fired, waiting until the deadline for the
// hint.
func (f *firedHints) wait(ctx context.Context, k ruleEvent, until time.Time) bool {
	f.mu.Lock()
	h := f.entry(k)
	closed := h.closed
	f.mu.Unlock()
	if closed {
		return true
	}
	d := time.Until(until)
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-h.done:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// parseFired reads a hint's payload, "<event id> <rule id>".
func parseFired(payload string) (ruleEvent, bool) {
	ev, rule, ok := strings.Cut(payload, " ")
	if !ok {
		return ruleEvent{}, false
	}
	e, err1 := strconv.ParseInt(ev, 10, 64)
	r, err2 := strconv.ParseInt(rule, 10, 64)
	return ruleEvent{e, r}, err1 == nil && err2 == nil
}
