package store

import (
	"context"
	"encoding/json"
)

// Over RabbitMQ, the messages that also wake their consumer through
// PostgreSQL (ExecutionDispatch, EventCreated: migrations 00003, 00004,
// 00007) are held back by the relay for message_queue.wake_copy_delay before
// their broker copy is published. A consumer that handled one from its
// wake-up deletes its outbox row (OutboxConsumed), and the relay then
// publishes nothing: the broker carries only what no wake-up handled in time
// — a wake-up lost with a LISTEN connection, a worker with no free slot, an
// executor that failed. Deleting a row whose work is committed loses
// nothing, and a delete that comes too late only lets a copy through, which
// its consumer drops as a duplicate.

// wakeNotifyLimit is the NOTIFY payload size the wake-up triggers send at
// most (migrations 00003, 00004, 00007).
const wakeNotifyLimit = 7900

// Woken says whether m, committed by a session with PoolConfig.WakeWorkers,
// was also sent to its consumer as a wake-up. It follows the triggers'
// conditions closely enough to decide what the relay holds back: a wrong
// answer costs only time (a copy published at once, or held for nothing),
// never a message.
func Woken(m OutboxMessage) bool {
	var key string
	switch m.MessageType {
	case "ExecutionDispatch":
		key = "worker_id"
	case "EventCreated":
		key = "event_id"
	default:
		return false
	}
	// The trigger sends the payload with "outbox_id" added, in jsonb's text
	// form, which may be longer than the bytes here: keep a margin.
	if len(m.Payload) > wakeNotifyLimit-256 {
		return false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(m.Payload, &fields); err != nil {
		return false
	}
	_, ok := fields[key]
	return ok
}

// OutboxConsumed deletes the outbox row of a message its consumer handled
// from the wake-up, so that the relay holding it back never publishes its
// copy. Call it only once the work the message asked for is committed.
// Deletes waiting at the same time share a statement, committed without
// waiting for the disk: a delete lost in a crash only lets a copy through.
func (s *Store) OutboxConsumed(ctx context.Context, id int64) error {
	_, err := s.consumed.do(ctx, id)
	return err
}

func (s *Store) writeConsumed(batch []int64) ([]struct{}, []error) {
	errs := make([]error, len(batch))
	ctx, cancel := context.WithTimeout(context.Background(), groupStatementTimeout)
	defer cancel()
	if _, err := s.q.OutboxDeletePublished(ctx, s.relaxed, batch); err != nil {
		err = interpretError(err, "delete consumed outbox rows")
		for i := range errs {
			errs[i] = err
		}
	}
	return make([]struct{}, len(batch)), errs
}

// OutboxPresent returns which of ids are still in the outbox.
func (s *Store) OutboxPresent(ctx context.Context, ids []int64) (map[int64]bool, error) {
	got, err := s.q.OutboxPresent(ctx, s.relaxed, ids)
	if err != nil {
		return nil, interpretError(err, "look up held outbox rows")
	}
	present := make(map[int64]bool, len(got))
	for _, id := range got {
		present[id] = true
	}
	return present, nil
}
