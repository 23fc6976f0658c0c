package store

import (
	"context"
	"strconv"
)

// wakeWorkersSetting is the session setting that turns on the outbox
// triggers outbox_wake_worker (migration 00003) and outbox_wake_executor
// (00004) for the session's writes.
const wakeWorkersSetting = "attune.wake_workers"

// WorkerWakeChannel is the NOTIFY channel on which, with
// PoolConfig.WakeWorkers, worker id's dispatches are sent as their outbox
// rows commit (the row's payload): a worker listening there may claim
// without waiting for the broker's copy, which stays the delivery
// guarantee.
func WorkerWakeChannel(workerID int64) string {
	return "attune_worker_wake_" + strconv.FormatInt(workerID, 10)
}

// ExecutorWakeChannel is the NOTIFY channel on which, with
// PoolConfig.WakeWorkers, every EventCreated is sent as its outbox row
// commits (the row's payload): an executor listening there may evaluate the
// event without waiting for the broker's copy, which stays the delivery
// guarantee.
const ExecutorWakeChannel = "attune_executor_wake"

// ExecutorFiredChannel announces, with PoolConfig.WakeWorkers, every
// enforcement of an event as it commits ("<event id> <rule id>"), so an
// executor holding the broker's copy of an event another executor was woken
// for need not fire again to learn it was fired.
const ExecutorFiredChannel = "attune_executor_fired"

// ListenerBackendPIDs are the backends of this database's sessions named
// applicationName, in pid order.
func (s *Store) ListenerBackendPIDs(ctx context.Context, applicationName string) ([]int64, error) {
	pids, err := s.q.ListenerBackendPIDs(ctx, s.db, applicationName)
	return pids, interpretError(err, "list listener backends")
}
