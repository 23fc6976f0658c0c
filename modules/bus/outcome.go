package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Outcome is what a consumer does with a delivery after its handler ran.
type Outcome int

// Possible outcomes, decided by Decide.
const (
	Ack Outcome = iota
	Requeue
	DeadLetter
)

func (o Outcome) String() string {
	switch o {
	case Ack:
		return "ack"
	case Requeue:
		return "requeue"
	case DeadLetter:
		return "dead-letter"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Decide maps a handler result to an Outcome. Both implementations use it so
// that retry semantics cannot drift apart.
func Decide(err error, attempt, maxDeliveries int) Outcome {
	switch {
	case err == nil:
		return Ack
	case errors.Is(err, ErrPermanent):
		return DeadLetter
	case attempt >= maxDeliveries:
		return DeadLetter
	default:
		return Requeue
	}
}

// CallHandler runs h, turning a panic into an ordinary (retryable) error so
// one bad message cannot kill the process; the message is retried and
// eventually dead-lettered like any failure.
func CallHandler(ctx context.Context, h Handler, d Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bus: handler panic on %s message %s: %v\n%s", d.Type, d.ID, r, debug.Stack())
		}
	}()
	return h(ctx, d)
}

// Backoff of RetryTransient.
const (
	transientBackoffMin = 100 * time.Millisecond
	transientBackoffMax = 5 * time.Second
)

// RetryTransient wraps h so that an error transient reports — a dependency
// such as the database briefly unavailable — is retried in place with
// backoff for up to max, instead of being returned at once. A returned
// error requeues the message, and every redelivery counts toward the
// queue's delivery limit: a restart of a few seconds would otherwise
// dead-letter perfectly good messages.
func RetryTransient(h Handler, transient func(error) bool, max time.Duration) Handler {
	return func(ctx context.Context, d Delivery) error {
		backoff := transientBackoffMin
		deadline := time.Now().Add(max)
		for {
			err := h(ctx, d)
			if err == nil || !transient(err) || time.Now().After(deadline) {
				return err
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return err
			}
			backoff = min(backoff*2, transientBackoffMax)
		}
	}
}
