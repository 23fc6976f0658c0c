package store

import "context"

// Over RabbitMQ, the messages that also wake their consumer through
// PostgreSQL (ExecutionDispatch, EventCreated: migrations 00003, 00004,
// 00007) are held back by the relay for message_queue.wake_copy_delay before
// their broker copy is published. A consumer that handled one from its
// wake-up deletes its outbox row (the executor with OutboxConsumed, the
// worker's claim in its own statement: ExecutionClaimDispatch), and the
// relay then publishes nothing: the broker carries only what no wake-up
// handled in time — a wake-up lost with a LISTEN connection, a dispatch
// that waited too long for a worker slot, an executor that failed.
// Deleting a row whose work is committed loses nothing, and a delete that
// comes too late only lets a copy through, which its consumer drops as a
// duplicate.

// wakeNotifyLimit is the NOTIFY payload size the wake-up triggers send at
// most (migrations 00003, 00004, 00007).
const wakeNotifyLimit = 7900

// Woken says whether m, committed by a session with PoolConfig.WakeWorkers,
// was also sent to its consumer as a wake-up. The triggers also require the
// payload's event_id or worker_id, which every message of these types
// carries, and a payload that fits a NOTIFY: the length here is the row's
// jsonb text, which the trigger extends by "outbox_id", hence the margin. It
// runs on every commit's hand-over, so it does not parse the payload; a
// wrong answer costs only time (a copy published at once, or held for
// nothing), never a message.
func Woken(m OutboxMessage) bool {
	return (m.MessageType == "ExecutionDispatch" || m.MessageType == "EventCreated") &&
		len(m.Payload) <= wakeNotifyLimit-64
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
