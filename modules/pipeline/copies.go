package pipeline

import (
	"context"
	"sync"
)

// Over a broker, some messages reach their consumer twice: as a PostgreSQL
// notification sent when the writing transaction commits (a head start) and
// as the broker's copy, which stays the delivery guarantee. Copies lets the
// two be one piece of work: whichever arrives first takes the message; the
// other waits for that work to settle and is dropped when it succeeded, or
// does the work itself when it failed. Forgetting a message early costs only
// the compare-and-set the later copy then loses, so memory is bounded.
type Copies[K comparable] struct {
	mu    sync.Mutex
	m     map[K]*CopyEntry
	order []K
}

// CopyEntry is a message one copy has taken. done closes once its work
// settled; handled then says whether the other copy has nothing left to do.
type CopyEntry struct {
	done    chan struct{}
	handled bool
	evicted bool // forgotten while in progress: Settle removes it
}

// copiesMax is how many messages a Copies remembers.
const copiesMax = 4096

// NewCopies returns an empty Copies.
func NewCopies[K comparable]() *Copies[K] { return &Copies[K]{m: map[K]*CopyEntry{}} }

// Begin takes k unless the other copy did: first is false then, with that
// copy's entry.
func (s *Copies[K]) Begin(k K) (e *CopyEntry, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[k]; e != nil {
		return e, false
	}
	e = &CopyEntry{done: make(chan struct{})}
	s.m[k] = e
	s.order = append(s.order, k)
	if len(s.order) > copiesMax {
		old := s.order[0]
		s.order = s.order[1:]
		if oe := s.m[old]; oe != nil {
			select {
			case <-oe.done:
				delete(s.m, old)
			default: // still in progress: its Settle removes it
				oe.evicted = true
			}
		}
	}
	return e, true
}

// Own is Begin for the guaranteed copy, which must not drop a message the
// other copy failed to handle: it waits for that work to settle and takes
// over unless it was handled (taken then says so).
func (s *Copies[K]) Own(ctx context.Context, k K) (e *CopyEntry, taken bool, err error) {
	for {
		e, first := s.Begin(k)
		if first {
			return e, false, nil
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		if e.handled {
			return nil, true, nil
		}
	}
}

// Settle records the outcome of e's work. Unhandled, the entry goes, so the
// other copy does the work itself.
func (s *Copies[K]) Settle(k K, e *CopyEntry, handled bool) {
	s.mu.Lock()
	e.handled = handled
	if (!handled || e.evicted) && s.m[k] == e {
		delete(s.m, k)
	}
	s.mu.Unlock()
	close(e.done)
}

// Len is how many messages are remembered.
func (s *Copies[K]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
