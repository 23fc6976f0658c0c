package store

import "strconv"

// wakeWorkersSetting is the session setting that turns on the outbox
// trigger outbox_wake_worker (migration 00003) for the session's writes.
const wakeWorkersSetting = "attune.wake_workers"

// WorkerWakeChannel is the NOTIFY channel on which, with
// PoolConfig.WakeWorkers, worker id's dispatches are sent as their outbox
// rows commit (the row's payload): a worker listening there may claim
// without waiting for the broker's copy, which stays the delivery
// guarantee.
func WorkerWakeChannel(workerID int64) string {
	return "attune_worker_wake_" + strconv.FormatInt(workerID, 10)
}
