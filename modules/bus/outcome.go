package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
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
