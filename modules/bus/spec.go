package bus

import (
	"fmt"
	"strings"
)

// maxNameLen is AMQP's short-string limit for queue and exchange names.
const maxNameLen = 255

// DeadLetterQueueOf returns the logical name of the queue receiving q's dead
// letters. It is "" for a queue on the dead-letter exchange and for an
// exclusive queue: their exhausted messages are dropped.
func DeadLetterQueueOf(q QueueSpec) string {
	if q.Exchange == ExchangeDLX || q.Exclusive {
		return ""
	}
	if q.DeadLetterQueue != "" {
		return q.DeadLetterQueue
	}
	return q.Name + ".dlq"
}

// Normalize validates q against the topology and fills defaults. prefix is
// the namespace prefix, used only to check the final name length. Errors wrap
// ErrInvalidSpec and name the offending field.
func Normalize(q QueueSpec, prefix string) (QueueSpec, error) {
	bad := func(format string, args ...any) (QueueSpec, error) {
		return q, fmt.Errorf("%w: queue %q: %s", ErrInvalidSpec, q.Name, fmt.Sprintf(format, args...))
	}
	if err := checkName(q.Name, prefix); err != nil {
		return bad("Name: %v", err)
	}
	if dlq := DeadLetterQueueOf(q); dlq != "" {
		if err := checkName(dlq, prefix); err != nil {
			return bad("DeadLetterQueue: %v", err)
		}
	}
	kind, ok := ExchangeKind(q.Exchange)
	if !ok {
		return bad("Exchange %q is not a topology exchange", q.Exchange)
	}
	if kind != KindFanout && len(q.Bindings) == 0 {
		return bad("Bindings: at least one routing-key pattern is required on %s exchange %q", kind, q.Exchange)
	}
	for i, b := range q.Bindings {
		if b == "" || strings.ContainsAny(b, " \t\n") {
			return bad("Bindings[%d]: invalid pattern %q", i, b)
		}
	}
	if q.Exclusive && q.Exchange == ExchangeDLX {
		return bad("Exclusive: dead-letter queues must be durable")
	}
	switch {
	case q.Prefetch < 0:
		return bad("Prefetch must be >= 0, got %d", q.Prefetch)
	case q.Prefetch == 0:
		q.Prefetch = DefaultPrefetch
	}
	switch {
	case q.MaxDeliveries < 0:
		return bad("MaxDeliveries must be >= 0, got %d", q.MaxDeliveries)
	case q.MaxDeliveries == 0:
		q.MaxDeliveries = DefaultMaxDeliveries
	}
	if q.MessageTTL < 0 {
		return bad("MessageTTL must be >= 0, got %s", q.MessageTTL)
	}
	q.Bindings = append([]string(nil), q.Bindings...)
	return q, nil
}

func checkName(name, prefix string) error {
	switch {
	case name == "":
		return fmt.Errorf("must not be empty")
	case strings.HasPrefix(name, "amq."):
		return fmt.Errorf("%q uses the reserved amq. prefix", name)
	case len(prefix)+len(name) > maxNameLen:
		return fmt.Errorf("%q with prefix %q exceeds %d bytes", name, prefix, maxNameLen)
	case strings.ContainsAny(name, " \t\n"):
		return fmt.Errorf("%q contains whitespace", name)
	}
	return nil
}

// CheckPrefix validates a namespace prefix given to an implementation.
func CheckPrefix(prefix string) error {
	if strings.ContainsAny(prefix, " \t\n") || len(prefix) > 100 {
		return fmt.Errorf("bus: invalid namespace prefix %q: no whitespace, at most 100 bytes", prefix)
	}
	return nil
}
