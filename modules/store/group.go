package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit. PostgreSQL's cost for a statement and its commit is mostly
// per statement, not per row: the webhook ingest measured 215 µs of server
// CPU per request alone and 65 µs per request eight at a time. So the
// statements every event runs (the webhook ingest, the rule firing, the
// worker's result) are written by a few loops per store: each takes the requests waiting when it is free
// and writes them with one statement. A lone request goes out at once, so
// a quiet system pays only the hand-over to the loop; a busy one shares
// statements.

const (
	// groupLoops statements of one kind may be in flight at once: while one
	// commits, the next batch gathers.
	groupLoops = 2
	// groupMax bounds a statement's rows (and its parameter's size).
	groupMax = 32
	// groupStatementTimeout bounds a group's statement, which no single
	// request's context may cancel (it carries the others' rows).
	groupStatementTimeout = 30 * time.Second
)

var errStoreClosed = errors.New("store: closed")

// group runs the loops that write requests of type R, answering each with
// a T; write answers a batch in order, or fails it whole.
type group[R, T any] struct {
	write func(ctx context.Context, batch []R) ([]T, error)

	mu      sync.Mutex
	started bool
	closed  bool
	reqs    chan *groupReq[R, T]
	stop    chan struct{} // closed by close: the loops drain and end
	stopped chan struct{} // closed once the loops have ended
	wg      sync.WaitGroup
	runs    atomic.Int64 // statements run, for tests
}

type groupReq[R, T any] struct {
	in   R
	done chan groupRes[T] // buffered: a loop never waits for the caller
}

type groupRes[T any] struct {
	out T
	err error
}

// start launches the loops on first use; false once the store is closed.
func (g *group[R, T]) start() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	if !g.started {
		g.started = true
		g.reqs = make(chan *groupReq[R, T], groupMax*groupLoops)
		g.stop, g.stopped = make(chan struct{}), make(chan struct{})
		for range groupLoops {
			g.wg.Add(1)
			go func() { defer g.wg.Done(); g.loop() }()
		}
		go func() { g.wg.Wait(); close(g.stopped) }()
	}
	return true
}

// close stops the loops once the requests already handed over are written.
func (g *group[R, T]) close() {
	g.mu.Lock()
	started := g.started && !g.closed
	g.closed = true
	g.mu.Unlock()
	if started {
		close(g.stop)
		<-g.stopped
	}
}

// do hands in to a loop and waits for its answer. A caller whose context
// ends stops waiting, but its row may still commit, as with a statement
// cancelled after its commit was sent.
func (g *group[R, T]) do(ctx context.Context, in R) (T, error) {
	var zero T
	if !g.start() {
		return zero, errStoreClosed
	}
	r := &groupReq[R, T]{in: in, done: make(chan groupRes[T], 1)}
	select {
	case g.reqs <- r:
	case <-g.stop:
		return zero, errStoreClosed
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.out, res.err
	case <-g.stopped:
		// Handed over as the store closed: answered, or never taken.
		select {
		case res := <-r.done:
			return res.out, res.err
		default:
			return zero, errStoreClosed
		}
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (g *group[R, T]) loop() {
	batch := make([]*groupReq[R, T], 0, groupMax)
	for {
		batch = batch[:0]
		select {
		case r := <-g.reqs:
			batch = append(batch, r)
		case <-g.stop:
			// Requests still queued are answered before the loop ends.
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				return
			}
		}
	gather:
		for len(batch) < groupMax {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		g.run(batch)
	}
}

// run writes one batch and answers its requests.
func (g *group[R, T]) run(batch []*groupReq[R, T]) {
	ins := make([]R, len(batch))
	for i, r := range batch {
		ins[i] = r.in
	}
	ctx, cancel := context.WithTimeout(context.Background(), groupStatementTimeout)
	defer cancel()
	g.runs.Add(1)
	outs, err := g.write(ctx, ins)
	for i, r := range batch {
		if err != nil {
			r.done <- groupRes[T]{err: err}
		} else {
			r.done <- groupRes[T]{out: outs[i]}
		}
	}
}

// inGroups splits the indices 0..n-1 of a batch into the groups one
// statement can write, in order, and calls write with each: a group starts
// with the first index left and takes every later one that joins accepts.
func inGroups(n int, joins func(group []int, i int) bool, write func(group []int) error) error {
	left := make([]int, n)
	for i := range left {
		left[i] = i
	}
	for len(left) > 0 {
		group, rest := []int{left[0]}, []int(nil)
		for _, i := range left[1:] {
			if joins(group, i) {
				group = append(group, i)
			} else {
				rest = append(rest, i)
			}
		}
		if err := write(group); err != nil {
			return err
		}
		left = rest
	}
	return nil
}
