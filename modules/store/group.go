package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Group commit. PostgreSQL's cost for a statement and its commit is mostly
// per statement, not per row: the webhook ingest measured 215 µs of server
// CPU per request alone and 65 µs per request eight at a time. So the
// statements every event runs (the webhook ingest, the rule firing, the
// worker's claim and its result) are written in groups: a request that finds fewer than
// groupLeaders statements of its kind in flight writes, in its own
// goroutine, itself and every request waiting behind it; the others wait
// to be written by the next such leader. A lone request thus goes straight
// to the database, with no hand-over, and a busy system shares statements.

const (
	// groupLeaders statements of one kind may be in flight at once: while
	// one commits, the next group gathers.
	groupLeaders = 2
	// groupMax bounds a statement's rows, and groupBytes the size of the
	// rows' data (one larger request goes alone): a group's parameter is a
	// copy of its rows, and twenty 1 MB results written together would
	// otherwise hold twenty more megabytes at once.
	groupMax   = 32
	groupBytes = 256 << 10
	// groupStatementTimeout bounds each of a group's statements, which no
	// single request's context may cancel (they carry the others' rows).
	groupStatementTimeout = 30 * time.Second
)

var errStoreClosed = errors.New("store: closed")

// group writes requests of type R, answering each with a T or an error;
// write answers a batch in order (see inGroups); size is a request's data
// in bytes.
type group[R, T any] struct {
	write func(batch []R) ([]T, []error)
	size  func(R) int

	mu      sync.Mutex
	pending []*groupReq[R, T]
	leaders int // statements in flight
	closed  bool
}

type groupReq[R, T any] struct {
	in   R
	done chan groupRes[R, T] // buffered: one answer per request
}

// groupRes answers a request: its result, or (lead set) the group this
// request is to write, itself first, as the next leader.
type groupRes[R, T any] struct {
	out  T
	err  error
	lead []*groupReq[R, T]
}

// close refuses new requests; those in flight finish (or fail with the
// pool).
func (g *group[R, T]) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// do writes in, alone or with the requests waiting beside it, and returns
// its answer. A caller whose context ends while it waits stops waiting if
// no leader has taken its request yet; once taken, the request is written.
func (g *group[R, T]) do(ctx context.Context, in R) (T, error) {
	var zero T
	r := &groupReq[R, T]{in: in, done: make(chan groupRes[R, T], 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return zero, errStoreClosed
	}
	g.pending = append(g.pending, r)
	var batch []*groupReq[R, T]
	if g.leaders < groupLeaders {
		g.leaders++
		batch = g.takeLocked()
	}
	g.mu.Unlock()
	if batch != nil {
		g.lead(batch)
	}
	for {
		var res groupRes[R, T]
		select {
		case res = <-r.done:
		case <-ctx.Done():
			if g.withdraw(r) {
				return zero, ctx.Err()
			}
			res = <-r.done // taken: it is being written
		}
		if res.lead == nil {
			return res.out, res.err
		}
		g.lead(res.lead)
	}
}

// withdraw takes r out of the queue; false when a leader has taken it.
func (g *group[R, T]) withdraw(r *groupReq[R, T]) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, p := range g.pending {
		if p == r {
			g.pending = append(g.pending[:i], g.pending[i+1:]...)
			return true
		}
	}
	return false
}

// takeLocked removes the next group from the queue: the first request, and
// those behind it while the group stays within groupMax and groupBytes.
func (g *group[R, T]) takeLocked() []*groupReq[R, T] {
	n, bytes := 0, 0
	for n < len(g.pending) && n < groupMax {
		b := g.size(g.pending[n].in)
		if n > 0 && bytes+b > groupBytes {
			break
		}
		bytes += b
		n++
	}
	batch := append([]*groupReq[R, T](nil), g.pending[:n]...)
	g.pending = append(g.pending[:0], g.pending[n:]...)
	return batch
}

// lead writes batch, answers its requests, and hands the lead to the first
// request still waiting, with its group, or gives it up.
func (g *group[R, T]) lead(batch []*groupReq[R, T]) {
	ins := make([]R, len(batch))
	for i, r := range batch {
		ins[i] = r.in
	}
	outs, errs := g.safeWrite(ins)
	for i, r := range batch {
		r.done <- groupRes[R, T]{out: outs[i], err: errs[i]}
	}
	g.mu.Lock()
	if len(g.pending) == 0 {
		g.leaders--
		g.mu.Unlock()
		return
	}
	next := g.takeLocked()
	g.mu.Unlock()
	next[0].done <- groupRes[R, T]{lead: next}
}

// safeWrite is write with a panic turned into every request's error: the
// requests must be answered and the lead passed on, or every later request
// of this kind would wait forever.
func (g *group[R, T]) safeWrite(ins []R) (outs []T, errs []error) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("store: writing %d requests panicked: %v", len(ins), p)
			outs, errs = make([]T, len(ins)), make([]error, len(ins))
			for i := range errs {
				errs[i] = err
			}
		}
	}()
	return g.write(ins)
}

// inGroups splits the indices 0..n-1 of a batch into the groups one
// statement can write, in order, and calls write with each, under its own
// timeout: a group starts with the first index left and takes every later
// one that joins accepts. It returns each index's error. A group whose
// statement fails for a reason other than the database's availability (or
// an answer that does not fit, after the commit) is written again one row
// at a time: one row's bad data (a value PostgreSQL cannot store) must fail
// only its own request.
func inGroups(n int, joins func(group []int, i int) bool, write func(ctx context.Context, group []int) error) []error {
	errs := make([]error, n)
	run := func(group []int) error {
		ctx, cancel := context.WithTimeout(context.Background(), groupStatementTimeout)
		defer cancel()
		return write(ctx, group)
	}
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
		if err := run(group); err != nil {
			for _, i := range group {
				if len(group) > 1 && !IsTransient(err) && !errors.Is(err, errGroupAnswer) {
					errs[i] = run([]int{i})
				} else {
					errs[i] = err
				}
			}
		}
		left = rest
	}
	return errs
}

// noneShares reports whether no index in group has i's key: a statement that
// updates rows by key must not see one twice.
func noneShares[K comparable](group []int, i int, key func(int) K) bool {
	for _, j := range group {
		if key(j) == key(i) {
			return false
		}
	}
	return true
}

// sortByID orders a group's indices by the id of the row each updates.
// PostgreSQL locks the rows as its join reaches them, which for these small
// groups (a nested loop over the input) is the input's order; with grouped
// claims, grouped results and heartbeats all sending a worker's executions in
// id order, they rarely wait on each other in a cycle, and a deadlock that
// does happen is retried (store.IsTransient).
func sortByID(idx []int, id func(i int) int64) {
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(id(a), id(b)) })
}

// errGroupAnswer is a group statement's answer that does not fit its rows.
// The statement has committed by then, so its group is not written again.
var errGroupAnswer = errors.New("store: group statement answer does not fit its rows")

// answered maps a group statement's answer position (its "i", from 1) to
// the batch index of the request it answers.
func answered(idx []int, pos int32) (int, error) {
	if pos < 1 || int(pos) > len(idx) {
		return 0, fmt.Errorf("%w: row %d of %d", errGroupAnswer, pos, len(idx))
	}
	return idx[pos-1], nil
}
