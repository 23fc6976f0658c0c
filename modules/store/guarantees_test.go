package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

func TestEventIdempotencyKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)

	in := store.NewEvent{TriggerRef: "core.webhook", SourceRef: ptr("webhook"), IdempotencyKey: ptr("k1"),
		Payload: json.RawMessage(`{"n":1}`)}
	first, created, err := s.EventInsert(ctx, in)
	require.NoError(t, err)
	require.True(t, created)

	in.Payload = json.RawMessage(`{"n":2}`) // a retry must not overwrite the original
	again, created, err := s.EventInsert(ctx, in)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)
	require.JSONEq(t, `{"n":1}`, string(again.Payload))

	// Same key from another source is a different event.
	other, created, err := s.EventInsert(ctx, store.NewEvent{TriggerRef: "core.webhook",
		SourceRef: ptr("sensor.x"), IdempotencyKey: ptr("k1")})
	require.NoError(t, err)
	require.True(t, created)
	require.NotEqual(t, first.ID, other.ID)

	// A NULL source still dedupes (NULLS NOT DISTINCT).
	a, _, err := s.EventInsert(ctx, store.NewEvent{TriggerRef: "core.t", IdempotencyKey: ptr("k2")})
	require.NoError(t, err)
	b, created, err := s.EventInsert(ctx, store.NewEvent{TriggerRef: "core.t", IdempotencyKey: ptr("k2")})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, a.ID, b.ID)

	// Without a key every insert is a new event.
	c, _, err := s.EventInsert(ctx, store.NewEvent{TriggerRef: "core.t"})
	require.NoError(t, err)
	d, _, err := s.EventInsert(ctx, store.NewEvent{TriggerRef: "core.t"})
	require.NoError(t, err)
	require.NotEqual(t, c.ID, d.ID)
}

func TestEnforcementOncePerRuleEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	rule := newRule(t, s, "fixture.r1")
	ev, _, err := s.EventInsert(ctx, store.NewEvent{TriggerRef: "fixture.trig"})
	require.NoError(t, err)

	in := store.NewEnforcement{Rule: &rule, RuleRef: "fixture.r1", TriggerRef: "fixture.trig", Event: &ev.ID}
	// Concurrent evaluations of the same (rule, event) yield one row.
	var wg sync.WaitGroup
	ids := make([]int64, 5)
	createdN := make([]bool, 5)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, c, err := s.EnforcementInsert(ctx, in)
			require.NoError(t, err)
			ids[i], createdN[i] = e.ID, c
		}()
	}
	wg.Wait()
	nCreated := 0
	for i := range ids {
		require.Equal(t, ids[0], ids[i])
		if createdN[i] {
			nCreated++
		}
	}
	require.Equal(t, 1, nCreated)

	enf, err := s.EnforcementResolve(ctx, ids[0], "processed")
	require.NoError(t, err)
	require.NotNil(t, enf.ResolvedAt)
	_, err = s.EnforcementResolve(ctx, ids[0], "disabled")
	require.ErrorIs(t, err, domain.ErrConflict)
}

func TestTimerFireRecordedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	rule := newRule(t, s, "fixture.timer")
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

	ok, err := s.TimerFireRecord(ctx, rule, at, nil)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.TimerFireRecord(ctx, rule, at, nil)
	require.NoError(t, err)
	require.False(t, ok, "a second leader must not fire the same tick")
	ok, err = s.TimerFireRecord(ctx, rule, at.Add(time.Minute), nil)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestExecutionOneTopLevelPerEnforcement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	rule := newRule(t, s, "fixture.r2")
	enf, _, err := s.EnforcementInsert(ctx, store.NewEnforcement{Rule: &rule, RuleRef: "fixture.r2",
		TriggerRef: "fixture.trig", Event: ptr(int64(1))})
	require.NoError(t, err)

	first, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "fixture.act", Enforcement: &enf.ID})
	require.NoError(t, err)
	_, err = s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "fixture.act", Enforcement: &enf.ID})
	require.ErrorIs(t, err, domain.ErrConflict)

	// An explicit retry and a child are allowed.
	_, err = s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "fixture.act", Enforcement: &enf.ID,
		Config: json.RawMessage(fmt.Sprintf(`{"retry_of":%d}`, first.ID))})
	require.NoError(t, err)
	_, err = s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "fixture.act", Enforcement: &enf.ID,
		Parent: &first.ID})
	require.NoError(t, err)
}

func TestExecutionFenceRefusesStaleAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	w, ex := scheduledExecution(t, s)
	require.Zero(t, ex.Fence)

	a1, err := s.ExecutionClaim(ctx, ex.ID, w.ID, 30*time.Second)
	require.NoError(t, err)
	require.EqualValues(t, 1, a1.Fence)
	require.EqualValues(t, 1, a1.Attempt)
	require.Equal(t, "running", a1.Status)
	require.NotNil(t, a1.LeaseExpiresAt)

	_, err = s.ExecutionClaim(ctx, ex.ID, w.ID, 30*time.Second)
	require.ErrorIs(t, err, domain.ErrConflict, "a running execution cannot be claimed twice")

	// The reaper presumes attempt 1 lost and reschedules; attempt 2 claims.
	_, err = s.ExecutionUpdateStatus(ctx, store.StatusUpdate{ID: ex.ID, Fence: a1.Fence,
		From: []string{"running"}, To: "scheduled"})
	require.NoError(t, err)
	a2, err := s.ExecutionClaim(ctx, ex.ID, w.ID, 30*time.Second)
	require.NoError(t, err)
	require.EqualValues(t, 2, a2.Fence)

	// Attempt 1 comes back and tries to write its result: refused.
	_, err = s.ExecutionUpdateStatus(ctx, store.StatusUpdate{ID: ex.ID, Fence: a1.Fence,
		From: []string{"running"}, To: "completed", Result: json.RawMessage(`{"from":"attempt1"}`)})
	require.ErrorIs(t, err, domain.ErrConflict)
	require.Contains(t, err.Error(), "fence 1")
	_, err = s.ExecutionExtendLease(ctx, ex.ID, a1.Fence, time.Minute)
	require.ErrorIs(t, err, domain.ErrConflict)

	done, err := s.ExecutionUpdateStatus(ctx, store.StatusUpdate{ID: ex.ID, Fence: a2.Fence,
		From: []string{"running"}, To: "completed", Result: json.RawMessage(`{"from":"attempt2"}`)})
	require.NoError(t, err)
	require.Equal(t, "completed", done.Status)
	require.JSONEq(t, `{"from":"attempt2"}`, string(done.Result))
	require.Equal(t, ptr(int64(2)), done.ResultFence)
	require.Nil(t, done.LeaseExpiresAt, "terminal status clears the lease")

	// A wrong expected status is refused even with the right fence.
	_, err = s.ExecutionUpdateStatus(ctx, store.StatusUpdate{ID: ex.ID, Fence: a2.Fence,
		From: []string{"running"}, To: "failed"})
	require.ErrorIs(t, err, domain.ErrConflict)
	_, err = s.ExecutionUpdateStatus(ctx, store.StatusUpdate{ID: 999999, Fence: 0,
		From: []string{"running"}, To: "failed"})
	require.ErrorIs(t, err, domain.ErrNotFound)
}

// The worker's claim is fenced to the dispatch it got and brings back the
// metadata version read in the same statement, which the worker's launch
// cache is checked against instead of a query of its own.
func TestExecutionClaimDispatchReadsMetadataVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	w, ex := scheduledExecution(t, s)
	_, err := s.Pool().Exec(ctx, `UPDATE execution SET worker = $1 WHERE id = $2`, w.ID, ex.ID)
	require.NoError(t, err)
	before, err := s.MetadataVersion(ctx)
	require.NoError(t, err)
	_, err = s.KeyInsert(ctx, store.NewKey{Ref: "system.claim_probe", OwnerType: store.KeyOwnerSystem, Name: "claim_probe",
		Value: json.RawMessage(`"x"`)})
	require.NoError(t, err)
	want, err := s.MetadataVersion(ctx)
	require.NoError(t, err)
	require.Greater(t, want, before, "a key insert did not bump the metadata version")

	// Claims from wake-ups name their dispatch's outbox row: the claim's
	// statement deletes it, claimed or refused.
	row := func() (id int64, gone func() bool) {
		require.NoError(t, s.Pool().QueryRow(ctx, `INSERT INTO outbox (exchange, routing_key, message_type, payload)
			VALUES ('attune.executions', 'k', 'ExecutionDispatch', '{}') RETURNING id`).Scan(&id))
		return id, func() bool {
			var n int
			require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE id = $1`, id).Scan(&n))
			return n == 0
		}
	}
	refusedRow, refusedGone := row()
	claimedRow, claimedGone := row()
	_, _, err = s.ExecutionClaimDispatch(ctx, ex.ID, w.ID, ex.Fence+1, refusedRow, time.Minute)
	require.ErrorIs(t, err, domain.ErrConflict, "a dispatch with another fence claimed")
	require.True(t, refusedGone(), "a refused woken claim left its outbox row")
	require.False(t, claimedGone())
	claimed, version, err := s.ExecutionClaimDispatch(ctx, ex.ID, w.ID, ex.Fence, claimedRow, time.Minute)
	require.NoError(t, err)
	require.True(t, claimedGone(), "a woken claim left its outbox row")
	require.Equal(t, want, version)
	require.Equal(t, "running", claimed.Status)
	require.Equal(t, ex.Fence+1, claimed.Fence)
	_, _, err = s.ExecutionClaimDispatch(ctx, ex.ID, w.ID, ex.Fence, 0, time.Minute)
	require.ErrorIs(t, err, domain.ErrConflict, "the same dispatch claimed twice")
}

// A heartbeat stamps the worker and renews its attempts' leases in one
// statement: the same now() on both, so a worker cannot look alive after the
// leases it held lapsed. Only attempts still holding their fence are renewed;
// a canceling one says so; the others come back missing.
func TestWorkerHeartbeatRenewsLeasesAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	w, ex := scheduledExecution(t, s)
	claim := func() store.Execution {
		t.Helper()
		e, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo", Status: "scheduled"})
		require.NoError(t, err)
		c, err := s.ExecutionClaim(ctx, e.ID, w.ID, time.Second)
		require.NoError(t, err)
		return c
	}
	a, err := s.ExecutionClaim(ctx, ex.ID, w.ID, time.Second)
	require.NoError(t, err)
	canceling, stale := claim(), claim()
	_, err = s.Pool().Exec(ctx, `UPDATE execution SET status = 'canceling' WHERE id = $1`, canceling.ID)
	require.NoError(t, err)

	beat, renewed, err := s.WorkerHeartbeatRenew(ctx, w.ID, []store.HeldLease{
		{ID: a.ID, Fence: a.Fence}, {ID: canceling.ID, Fence: canceling.Fence}, {ID: stale.ID, Fence: stale.Fence - 1},
	}, time.Minute)
	require.NoError(t, err)
	require.True(t, beat)
	require.Equal(t, map[int64]string{a.ID: "running", canceling.ID: "canceling"}, renewed)
	var same bool
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT w.last_heartbeat + interval '1 minute' = e.lease_expires_at
		FROM worker w, execution e WHERE w.id = $1 AND e.id = $2`, w.ID, a.ID).Scan(&same))
	require.True(t, same, "the heartbeat and the lease renewal carry different times")
	var staleLease time.Time
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT lease_expires_at FROM execution WHERE id = $1`, stale.ID).Scan(&staleLease))
	require.True(t, staleLease.Before(time.Now().Add(30*time.Second)), "a stale fence's lease was renewed")

	// Nothing held: the heartbeat alone. A worker row that is gone says so.
	beat, renewed, err = s.WorkerHeartbeatRenew(ctx, w.ID, nil, time.Minute)
	require.NoError(t, err)
	require.True(t, beat)
	require.Empty(t, renewed)
	beat, _, err = s.WorkerHeartbeatRenew(ctx, w.ID+1000, nil, time.Minute)
	require.NoError(t, err)
	require.False(t, beat)
}

// scheduledExecution registers a worker and inserts a scheduled execution
// (not yet placed on it).
func scheduledExecution(t *testing.T, s *store.Store) (store.Worker, store.Execution) {
	t.Helper()
	ctx := context.Background()
	w, err := s.WorkerUpsert(ctx, store.WorkerRegistration{Name: "w1"})
	require.NoError(t, err)
	ex, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo", Status: "scheduled"})
	require.NoError(t, err)
	return w, ex
}

// scheduledOn inserts a scheduled execution placed on worker.
func scheduledOn(t *testing.T, s *store.Store, worker int64) store.Execution {
	t.Helper()
	ctx := context.Background()
	ex, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo", Status: "scheduled"})
	require.NoError(t, err)
	_, err = s.Pool().Exec(ctx, `UPDATE execution SET worker = $1 WHERE id = $2`, worker, ex.ID)
	require.NoError(t, err)
	ex.Worker = &worker
	return ex
}

func TestExecutionListPageNewestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	var ids []int64
	for range 5 {
		e, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.echo"})
		require.NoError(t, err)
		ids = append(ids, e.ID)
	}
	page, err := s.ExecutionListPage(ctx, store.ExecutionFilter{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []int64{ids[4], ids[3]}, []int64{page[0].ID, page[1].ID})
	page, err = s.ExecutionListPage(ctx, store.ExecutionFilter{Limit: 10, BeforeID: page[1].ID})
	require.NoError(t, err)
	require.Len(t, page, 3)
	require.Equal(t, ids[2], page[0].ID)
	_, err = s.ExecutionListPage(ctx, store.ExecutionFilter{Status: "bogus"})
	var ve *domain.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "status", ve.Field)
}

func TestOutboxClaimNeverDoublesUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	const total = 300
	require.NoError(t, s.InTx(ctx, func(tx *store.Tx) error {
		for i := range total {
			if _, err := tx.OutboxEnqueue(ctx, store.NewOutboxMessage{Exchange: "attune", RoutingKey: "rk",
				MessageType: "test", Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}); err != nil {
				return err
			}
		}
		return nil
	}))

	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				batch, err := s.OutboxClaimBatch(ctx, 7, time.Minute)
				require.NoError(t, err)
				if len(batch) == 0 {
					return
				}
				ids := make([]int64, len(batch))
				mu.Lock()
				for i, m := range batch {
					seen[m.ID]++
					ids[i] = m.ID
					require.EqualValues(t, 1, m.Attempts)
				}
				mu.Unlock()
				n, err := s.OutboxDeletePublished(ctx, ids...)
				require.NoError(t, err)
				require.EqualValues(t, len(ids), n)
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, total)
	for id, n := range seen {
		require.Equal(t, 1, n, "outbox row %d claimed %d times", id, n)
	}
	pending, err := s.OutboxCountPending(ctx)
	require.NoError(t, err)
	require.Zero(t, pending)
}

func TestOutboxLeaseLapseRedelivers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	var msg store.OutboxMessage
	require.NoError(t, s.InTx(ctx, func(tx *store.Tx) error {
		var err error
		msg, err = tx.OutboxEnqueue(ctx, store.NewOutboxMessage{Exchange: "attune", MessageType: "t",
			Payload: json.RawMessage(`{}`)})
		return err
	}))
	got, err := s.OutboxClaimBatch(ctx, 10, 50*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, got, 1)
	again, err := s.OutboxClaimBatch(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again, "claimed row is hidden while its lease runs")

	// The relay died without publishing: once the lease lapses it comes back.
	require.Eventually(t, func() bool {
		b, err := s.OutboxClaimBatch(ctx, 10, time.Minute)
		require.NoError(t, err)
		return len(b) == 1 && b[0].ID == msg.ID && b[0].Attempts == 2
	}, 5*time.Second, 20*time.Millisecond)

	require.NoError(t, s.OutboxMarkFailed(ctx, msg.ID, time.Hour, fmt.Errorf("nack")))
	m, err := s.OutboxGet(ctx, msg.ID)
	require.NoError(t, err)
	require.Equal(t, ptr("nack"), m.LastError)

	err = s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.OutboxEnqueue(ctx, store.NewOutboxMessage{Exchange: "attune", MessageType: "t",
			Payload: json.RawMessage(`not json`)})
		return err
	})
	var ve *domain.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "payload", ve.Field)
}

// A worker's result is one fenced statement: a stale attempt writes nothing,
// and ExecutionCompleted is written only when the executor needs it — a
// retryable run, or one holding an admission slot.
func TestExecutionFinishAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	pack, err := s.PackUpsert(ctx, store.Pack{Ref: "fixture", Label: "Fixture", Version: "1.0.0"})
	require.NoError(t, err)
	act, err := s.ActionUpsert(ctx, store.Action{Ref: "fixture.act", Pack: pack.ID, PackRef: "fixture", Label: "act",
		Entrypoint: "act.sh", Enabled: true})
	require.NoError(t, err)
	running := func() store.Execution {
		ex, err := s.ExecutionInsert(ctx, store.NewExecution{Action: &act.ID, ActionRef: act.Ref, Status: "running"})
		require.NoError(t, err)
		return ex
	}
	finish := func(ex store.Execution, fence int64, needed bool) error {
		return s.ExecutionFinishAttempt(ctx, store.AttemptResult{ID: ex.ID, Fence: fence, Status: "failed",
			Result: []byte(`{"succeeded":false}`), Needed: needed,
			Completed: store.NewOutboxMessage{Exchange: "attune.executions", RoutingKey: "execution.completed",
				MessageType: "ExecutionCompleted", Payload: json.RawMessage(fmt.Sprintf(`{"execution_id":%d}`, ex.ID))}})
	}
	messages := func() int {
		var n int
		require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n))
		return n
	}

	stale := running()
	require.ErrorIs(t, finish(stale, stale.Fence+1, true), domain.ErrConflict)
	got, err := s.ExecutionGet(ctx, stale.ID)
	require.NoError(t, err)
	require.Equal(t, "running", got.Status, "a stale attempt wrote its result")
	require.Equal(t, 0, messages())

	plain := running()
	require.NoError(t, finish(plain, plain.Fence, false))
	got, err = s.ExecutionGet(ctx, plain.ID)
	require.NoError(t, err)
	require.Equal(t, "failed", got.Status)
	require.JSONEq(t, `{"succeeded":false}`, string(got.Result))
	require.Equal(t, plain.Fence, *got.ResultFence)
	require.Nil(t, got.LeaseExpiresAt)
	require.Equal(t, 0, messages(), "a completion nobody acts on was written")
	require.ErrorIs(t, finish(plain, plain.Fence, false), domain.ErrConflict, "a second result was accepted")

	retryable := running()
	require.NoError(t, finish(retryable, retryable.Fence, true))
	require.Equal(t, 1, messages(), "a retryable completion was not written")

	admitted := running()
	require.NoError(t, s.InTx(ctx, func(tx *store.Tx) error {
		st, err := tx.AdmissionStateAcquire(ctx, act.ID, nil, 1)
		if err != nil {
			return err
		}
		_, err = tx.AdmissionEnter(ctx, st.ID, admitted.ID, "active")
		return err
	}))
	require.NoError(t, finish(admitted, admitted.Fence, false))
	require.Equal(t, 2, messages(), "the completion of an execution holding an admission slot was not written")
}

// The one-statement rule firing picks the least-loaded eligible worker and
// writes enforcement, scheduled execution and dispatch together — or, with
// no eligible worker or for a (rule, event) already fired, nothing at all.
func TestRuleFireScheduled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	rule, act := fireFixture(t, s, "fixture.fire")
	fire := func(event int64, runtimes ...string) (store.FiredScheduled, store.FireOutcome) {
		t.Helper()
		f, out, err := s.RuleFireScheduled(ctx,
			store.NewEnforcement{Rule: &rule, RuleRef: "fixture.fire", TriggerRef: "fixture.trig", Event: &event,
				Config: json.RawMessage(`{"a":1}`)},
			store.NewExecution{Action: &act.ID, ActionRef: act.Ref, Config: json.RawMessage(`{"a":1,"b":2}`), AsSystem: true,
				MaxRetries: 2},
			store.NewOutboxMessage{Exchange: "attune.executions", RoutingKey: "execution.dispatch.worker.",
				MessageType: "ExecutionDispatch", Payload: json.RawMessage(`{"action_ref":"fixture.act","rule_ref":"fixture.fire"}`)},
			store.FireTarget{RuntimeNames: runtimes, StaleAfter: time.Minute})
		require.NoError(t, err)
		return f, out
	}
	count := func(sql string, args ...any) int {
		var n int
		require.NoError(t, s.Pool().QueryRow(ctx, sql, args...).Scan(&n))
		return n
	}

	_, out := fire(1)
	require.Equal(t, store.FireNoWorker, out)
	require.Equal(t, 0, count(`SELECT count(*) FROM enforcement`), "no worker, yet an enforcement was written")

	busy, err := s.WorkerUpsert(ctx, store.WorkerRegistration{Name: "busy", Capabilities: json.RawMessage(`{"runtimes":["shell"]}`)})
	require.NoError(t, err)
	idle, err := s.WorkerUpsert(ctx, store.WorkerRegistration{Name: "idle", Capabilities: json.RawMessage(`{"runtimes":["shell"]}`)})
	require.NoError(t, err)
	load, err := s.ExecutionInsert(ctx, store.NewExecution{ActionRef: act.Ref, Status: "running"})
	require.NoError(t, err)
	_, err = s.Pool().Exec(ctx, `UPDATE execution SET worker = $1 WHERE id = $2`, busy.ID, load.ID)
	require.NoError(t, err)
	_, out = fire(1, "python")
	require.Equal(t, store.FireNoWorker, out, "a worker without the runtime was picked")

	f, out := fire(1, "shell")
	require.Equal(t, store.Fired, out)
	require.Equal(t, idle.ID, f.Worker, "not the least-loaded worker")
	ex, err := s.ExecutionGet(ctx, f.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, "scheduled", ex.Status)
	require.Equal(t, idle.ID, *ex.Worker)
	require.Equal(t, f.EnforcementID, *ex.Enforcement)
	require.Equal(t, f.Fence, ex.Fence)
	require.EqualValues(t, 2, ex.MaxRetries)
	require.JSONEq(t, `{"a":1,"b":2}`, string(ex.Config))
	var routing string
	var payload map[string]any
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT routing_key, payload FROM outbox`).Scan(&routing, &payload))
	require.Equal(t, fmt.Sprintf("execution.dispatch.worker.%d", idle.ID), routing)
	require.Equal(t, map[string]any{"action_ref": "fixture.act", "rule_ref": "fixture.fire",
		"execution_id": float64(f.ExecutionID), "fence": float64(f.Fence), "worker_id": float64(idle.ID)}, payload)
	require.Equal(t, 1, count(`SELECT count(*) FROM enforcement WHERE id = $1 AND status = 'processed' AND config = '{"a":1}'`, f.EnforcementID))

	_, out = fire(1, "shell")
	require.Equal(t, store.FireDuplicate, out)
	require.Equal(t, 1, count(`SELECT count(*) FROM enforcement`))
	require.Equal(t, 2, count(`SELECT count(*) FROM execution`))
	require.Equal(t, 1, count(`SELECT count(*) FROM outbox`))
}

// An accepted webhook is one statement: event, log row and EventCreated,
// whose payload carries a snapshot of the event and the metadata version
// (up to 8 KiB of payload); a repeated idempotency key writes nothing.
func TestWebhookIngest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	key := "wh_" + strings.Repeat("a", 32)
	var trig int64
	require.NoError(t, s.Pool().QueryRow(ctx, `INSERT INTO trigger (ref, label, webhook_enabled, webhook_key)
		VALUES ('fixture.hook', 'hook', true, $1) RETURNING id`, key).Scan(&trig))
	var version int64
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT version FROM metadata_version`).Scan(&version))
	src, idem := "webhook", "webhook:1:k1"
	ingest := func(payload string) (store.Event, bool) {
		t.Helper()
		ev, ok, err := s.WebhookIngest(ctx,
			store.NewEvent{Trigger: &trig, TriggerRef: "fixture.hook", Payload: json.RawMessage(payload), SourceRef: &src, IdempotencyKey: &idem},
			store.NewOutboxMessage{Exchange: "attune.events", RoutingKey: "event.created", MessageType: "EventCreated",
				Payload: json.RawMessage(`{"trigger_ref":"fixture.hook","trigger_id":` + fmt.Sprint(trig) + `}`)},
			store.WebhookLogEntry{TriggerID: trig, TriggerRef: "fixture.hook", WebhookKey: key})
		require.NoError(t, err)
		return ev, ok
	}
	ev, ok := ingest(`{"seq":1,"msg":"hello"}`)
	require.True(t, ok)
	var msg struct {
		EventID  int64 `json:"event_id"`
		Snapshot *struct {
			Payload         json.RawMessage `json:"payload"`
			Created         time.Time       `json:"created"`
			MetadataVersion int64           `json:"metadata_version"`
		} `json:"snapshot"`
	}
	var raw []byte
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT payload FROM outbox`).Scan(&raw))
	require.NoError(t, json.Unmarshal(raw, &msg))
	require.Equal(t, ev.ID, msg.EventID)
	require.NotNil(t, msg.Snapshot)
	require.JSONEq(t, `{"seq":1,"msg":"hello"}`, string(msg.Snapshot.Payload))
	require.True(t, ev.Created.Equal(msg.Snapshot.Created), "%s vs %s", ev.Created, msg.Snapshot.Created)
	require.Equal(t, version, msg.Snapshot.MetadataVersion)
	var logged int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM webhook_event_log WHERE event_id = $1`, ev.ID).Scan(&logged))
	require.Equal(t, 1, logged)

	_, ok = ingest(`{"seq":1,"msg":"hello"}`)
	require.False(t, ok, "a repeated idempotency key wrote an event")

	// A large payload travels without a snapshot: the executor reads it.
	idem = "webhook:1:k2"
	_, ok = ingest(`{"big":"` + strings.Repeat("x", 9000) + `"}`)
	require.True(t, ok)
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT payload FROM outbox ORDER BY id DESC LIMIT 1`).Scan(&raw))
	require.NotContains(t, string(raw), "snapshot")
}

// With PoolConfig.WakeWorkers, every ExecutionDispatch written to the
// outbox — by the one-statement firing or in a transaction — is NOTIFYed at
// commit on its worker's wake channel, carrying the outbox row's payload;
// sessions without the setting send nothing.
func TestDispatchWakesWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain, waking := wakeStores(t)
	rule, act := fireFixture(t, plain, "fixture.wake")
	w, err := plain.WorkerUpsert(ctx, store.WorkerRegistration{Name: "w", Capabilities: json.RawMessage(`{"runtimes":["shell"]}`)})
	require.NoError(t, err)

	notes, _ := listenFor(t, plain, "", store.WorkerWakeChannel(w.ID))
	got := make(chan string, 4)
	go func() {
		for n := range notes {
			got <- n.payload
		}
	}()

	fire := func(s *store.Store, event int64) store.FiredScheduled {
		t.Helper()
		f, out, err := s.RuleFireScheduled(ctx,
			store.NewEnforcement{Rule: &rule, RuleRef: "fixture.wake", TriggerRef: "fixture.trig", Event: &event},
			store.NewExecution{Action: &act.ID, ActionRef: act.Ref, Config: json.RawMessage(`{}`), AsSystem: true},
			store.NewOutboxMessage{Exchange: "attune.executions", RoutingKey: "execution.dispatch.worker.",
				MessageType: "ExecutionDispatch", Payload: json.RawMessage(`{"action_ref":"fixture.act"}`)},
			store.FireTarget{StaleAfter: time.Minute})
		require.NoError(t, err)
		require.Equal(t, store.Fired, out)
		return f
	}
	enqueue := func(s *store.Store, payload string) {
		t.Helper()
		require.NoError(t, s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.OutboxEnqueue(ctx, store.NewOutboxMessage{Exchange: "attune.executions",
				RoutingKey: fmt.Sprintf("execution.dispatch.worker.%d", w.ID), MessageType: "ExecutionDispatch",
				Payload: json.RawMessage(payload)})
			return err
		}))
	}
	next := func() string {
		t.Helper()
		select {
		case p := <-got:
			return p
		case <-time.After(10 * time.Second):
			t.Fatal("no wake-up notification")
			return ""
		}
	}

	fire(plain, 1)
	enqueue(plain, fmt.Sprintf(`{"execution_id":1,"fence":1,"worker_id":%d}`, w.ID))
	f := fire(waking, 2)
	// Commit order: had either write without the setting notified, its
	// payload would come first.
	var outboxPayload string
	var outboxID int64
	require.NoError(t, plain.Pool().QueryRow(ctx, `SELECT id, payload::text FROM outbox WHERE payload->>'execution_id' = $1`,
		fmt.Sprint(f.ExecutionID)).Scan(&outboxID, &outboxPayload))
	p, id := withoutOutboxID(t, next())
	require.Equal(t, outboxID, id, "the wake-up names its outbox row")
	require.JSONEq(t, outboxPayload, p)
	require.JSONEq(t, fmt.Sprintf(`{"action_ref":"fixture.act","execution_id":%d,"fence":%d,"worker_id":%d}`,
		f.ExecutionID, f.Fence, w.ID), p)
	enqueue(waking, fmt.Sprintf(`{"execution_id":99,"fence":3,"worker_id":%d}`, w.ID))
	p, id = withoutOutboxID(t, next())
	require.NoError(t, plain.Pool().QueryRow(ctx, `SELECT id FROM outbox WHERE payload->>'execution_id' = '99'`).Scan(&outboxID))
	require.Equal(t, outboxID, id)
	require.JSONEq(t, fmt.Sprintf(`{"execution_id":99,"fence":3,"worker_id":%d}`, w.ID), p)
	select {
	case p := <-got:
		t.Fatalf("unexpected notification: %s", p)
	default:
	}
}

// With PoolConfig.WakeWorkers, every EventCreated written to the outbox is
// NOTIFYed at commit on the executors' wake channel with the row's payload,
// and every enforcement of an event announced on their fired channel as
// "<event> <rule>"; sessions without the setting send neither. The
// executors find each other's listeners by application name.
func TestEventWakesExecutors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain, waking := wakeStores(t)
	rule, act := fireFixture(t, plain, "fixture.ewake")
	_, err := plain.WorkerUpsert(ctx, store.WorkerRegistration{Name: "w", Capabilities: json.RawMessage(`{"runtimes":["shell"]}`)})
	require.NoError(t, err)

	got, l := listenFor(t, plain, "attune-test-ewake", store.ExecutorWakeChannel, store.ExecutorFiredChannel)
	pids, err := plain.ListenerBackendPIDs(ctx, "attune-test-ewake")
	require.NoError(t, err)
	require.Equal(t, []int64{l.BackendPID()}, pids)

	ingest := func(s *store.Store) int64 {
		t.Helper()
		var id int64
		require.NoError(t, s.InTx(ctx, func(tx *store.Tx) error {
			ev, _, err := tx.EventInsert(ctx, store.NewEvent{TriggerRef: "fixture.trig", Payload: json.RawMessage(`{}`)})
			if err != nil {
				return err
			}
			id = ev.ID
			_, err = tx.OutboxEnqueue(ctx, store.NewOutboxMessage{Exchange: "attune.events", RoutingKey: "event.created",
				MessageType: "EventCreated", Payload: json.RawMessage(fmt.Sprintf(`{"event_id":%d}`, ev.ID))})
			return err
		}))
		return id
	}
	fire := func(s *store.Store, event int64) {
		t.Helper()
		_, out, err := s.RuleFireScheduled(ctx,
			store.NewEnforcement{Rule: &rule, RuleRef: "fixture.ewake", TriggerRef: "fixture.trig", Event: &event},
			store.NewExecution{Action: &act.ID, ActionRef: act.Ref, Config: json.RawMessage(`{}`), AsSystem: true},
			store.NewOutboxMessage{Exchange: "attune.executions", RoutingKey: "execution.dispatch.worker.",
				MessageType: "ExecutionDispatch", Payload: json.RawMessage(`{}`)},
			store.FireTarget{StaleAfter: time.Minute})
		require.NoError(t, err)
		require.Equal(t, store.Fired, out)
	}
	next := func() note {
		t.Helper()
		select {
		case n := <-got:
			return n
		case <-time.After(10 * time.Second):
			t.Fatal("no notification")
			return note{}
		}
	}

	quiet := ingest(plain)
	fire(plain, quiet)
	// Commit order: had the writes without the setting notified, they
	// would come first.
	ev := ingest(waking)
	n := next()
	require.Equal(t, store.ExecutorWakeChannel, n.channel)
	p, id := withoutOutboxID(t, n.payload)
	require.JSONEq(t, fmt.Sprintf(`{"event_id": %d}`, ev), p)
	var outboxID int64
	require.NoError(t, plain.Pool().QueryRow(ctx, `SELECT id FROM outbox WHERE payload->>'event_id' = $1`,
		fmt.Sprint(ev)).Scan(&outboxID))
	require.Equal(t, outboxID, id, "the wake-up names its outbox row")
	fire(waking, ev)
	require.Equal(t, note{store.ExecutorFiredChannel, fmt.Sprintf("%d %d", ev, rule)}, next())
	select {
	case n := <-got:
		t.Fatalf("unexpected notification: %+v", n)
	default:
	}
}

// withoutOutboxID splits a wake-up's payload into the outbox row's payload
// and the row's id, which the trigger adds (migration 00007).
func withoutOutboxID(t *testing.T, payload string) (string, int64) {
	t.Helper()
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(payload), &doc))
	var id int64
	require.NoError(t, json.Unmarshal(doc["outbox_id"], &id), "outbox_id in %s", payload)
	delete(doc, "outbox_id")
	rest, err := json.Marshal(doc)
	require.NoError(t, err)
	return string(rest), id
}

// wakeStores opens two stores on one new database: sessions without and
// with wake-ups.
func wakeStores(t *testing.T) (plain, waking *store.Store) {
	t.Helper()
	dsn := storetest.NewDatabase(t)
	open := func(wake bool) *store.Store {
		s, err := store.Open(context.Background(), dsn, store.PoolConfig{MaxConns: 2, WakeWorkers: wake})
		require.NoError(t, err)
		t.Cleanup(s.Close)
		return s
	}
	return open(false), open(true)
}

type note struct{ channel, payload string }

// listenFor LISTENs on channels through s until the test ends.
func listenFor(t *testing.T, s *store.Store, appName string, channels ...string) (<-chan note, *store.Listener) {
	t.Helper()
	ctx := context.Background()
	got := make(chan note, 8)
	l := s.NewListener(store.ListenConfig{Channels: channels, ApplicationName: appName,
		Notify: func(c, p string) { got <- note{c, p} }})
	require.NoError(t, l.Connect(ctx))
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); l.Run(lctx) }()
	t.Cleanup(func() { stop(); <-done })
	return got, l
}

// fireFixture is a rule (ruleRef) and the action fixture.act for the
// RuleFireScheduled tests.
func fireFixture(t *testing.T, s *store.Store, ruleRef string) (int64, store.Action) {
	t.Helper()
	ctx := context.Background()
	rule := newRule(t, s, ruleRef)
	pack, err := s.PackUpsert(ctx, store.Pack{Ref: "fixture", Label: "Fixture", Version: "1.0.0"})
	require.NoError(t, err)
	act, err := s.ActionUpsert(ctx, store.Action{Ref: "fixture.act", Pack: pack.ID, PackRef: "fixture", Label: "act",
		Entrypoint: "act.sh", Enabled: true})
	require.NoError(t, err)
	return rule, act
}

// Every write of an execution moves its updated time: the hot statements
// (claim, lease renewal, result) set it themselves and the execution_updated
// trigger covers the others (migration 00005).
func TestExecutionUpdatedMovesOnEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	w, err := s.WorkerUpsert(ctx, store.WorkerRegistration{Name: "w"})
	require.NoError(t, err)
	ex := scheduledOn(t, s, w.ID)
	backdate := func() {
		t.Helper()
		// Setting updated explicitly keeps the trigger out of this statement.
		_, err := s.Pool().Exec(ctx, `UPDATE execution SET updated = now() - interval '1 hour' WHERE id = $1`, ex.ID)
		require.NoError(t, err)
		got, err := s.ExecutionGet(ctx, ex.ID)
		require.NoError(t, err)
		require.WithinDuration(t, time.Now().Add(-time.Hour), got.Updated, time.Minute)
	}
	fresh := func(what string) {
		t.Helper()
		got, err := s.ExecutionGet(ctx, ex.ID)
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), got.Updated, time.Minute, "%s left updated behind", what)
	}

	backdate()
	claimed, _, err := s.ExecutionClaimDispatch(ctx, ex.ID, w.ID, ex.Fence, 0, time.Minute)
	require.NoError(t, err)
	fresh("the claim")

	backdate()
	_, renewed, err := s.WorkerHeartbeatRenew(ctx, w.ID, []store.HeldLease{{ID: ex.ID, Fence: claimed.Fence}}, time.Minute)
	require.NoError(t, err)
	require.Contains(t, renewed, ex.ID)
	fresh("the lease renewal")

	backdate()
	_, err = s.Pool().Exec(ctx, `UPDATE execution SET env_vars = '{"A":"1"}' WHERE id = $1`, ex.ID)
	require.NoError(t, err)
	fresh("an update that does not set it")

	backdate()
	require.NoError(t, s.ExecutionFinishAttempt(ctx, store.AttemptResult{ID: ex.ID, Fence: claimed.Fence, Status: "completed",
		Result: []byte(`{}`), Completed: store.NewOutboxMessage{Exchange: "attune.executions", RoutingKey: "execution.completed",
			MessageType: "ExecutionCompleted", Payload: []byte(`{}`)}}))
	fresh("the result")
}

// Firings written by one group statement each get their own enforcement,
// execution and dispatch; a second firing of a (rule, event) in the group is
// a duplicate and one without an eligible worker writes nothing.
func TestRuleFireGroupMapsEachFiring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	rule, act := fireFixture(t, s, "fixture.group")
	w, err := s.WorkerUpsert(ctx, store.WorkerRegistration{Name: "w", Capabilities: json.RawMessage(`{"runtimes":["shell"]}`)})
	require.NoError(t, err)
	firing := func(event int64, runtime string) store.FireGroupReq {
		cfg := json.RawMessage(fmt.Sprintf(`{"event":%d}`, event))
		return store.FireGroupReq{
			Enf: store.NewEnforcement{Rule: &rule, RuleRef: "fixture.group", TriggerRef: "fixture.trig", Event: &event, Config: cfg},
			Ex:  store.NewExecution{Action: &act.ID, ActionRef: act.Ref, Config: cfg, AsSystem: true},
			Dispatch: store.NewOutboxMessage{Exchange: "attune.executions", RoutingKey: "execution.dispatch.worker.",
				MessageType: "ExecutionDispatch", Payload: json.RawMessage(fmt.Sprintf(`{"event":%d}`, event))},
			Target: store.FireTarget{RuntimeNames: []string{runtime}, StaleAfter: time.Minute},
		}
	}
	fired, outs, errs := s.FireGroup([]store.FireGroupReq{firing(1, "shell"), firing(1, "shell"), firing(2, "python"), firing(3, "shell")})
	require.NoError(t, errors.Join(errs...))
	require.Equal(t, []store.FireOutcome{store.Fired, store.FireDuplicate, store.FireNoWorker, store.Fired}, outs)
	for _, i := range []int{0, 3} {
		event := []int64{1, 0, 0, 3}[i]
		ex, err := s.ExecutionGet(ctx, fired[i].ExecutionID)
		require.NoError(t, err)
		require.JSONEq(t, fmt.Sprintf(`{"event":%d}`, event), string(ex.Config))
		require.Equal(t, fired[i].EnforcementID, *ex.Enforcement)
		require.Equal(t, w.ID, fired[i].Worker)
		var enfEvent int64
		require.NoError(t, s.Pool().QueryRow(ctx, `SELECT event FROM enforcement WHERE id = $1`, fired[i].EnforcementID).Scan(&enfEvent))
		require.Equal(t, event, enfEvent)
		var payload map[string]any
		require.NoError(t, s.Pool().QueryRow(ctx, `SELECT payload FROM outbox WHERE (payload->>'execution_id')::bigint = $1`,
			fired[i].ExecutionID).Scan(&payload))
		require.EqualValues(t, event, payload["event"])
		require.EqualValues(t, fired[i].Fence, payload["fence"])
	}
	var n int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM enforcement) + (SELECT count(*) FROM execution)
		+ (SELECT count(*) FROM outbox)`).Scan(&n))
	require.Equal(t, 6, n)
}

// Results written by one group statement each land on their own execution;
// a stale one, or a second result for an execution in the same group, is
// refused as a conflict; only a result the executor needs writes a message.
func TestExecutionFinishGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	w, err := s.WorkerUpsert(ctx, store.WorkerRegistration{Name: "w"})
	require.NoError(t, err)
	running := func() store.Execution {
		ex := scheduledOn(t, s, w.ID)
		claimed, _, err := s.ExecutionClaimDispatch(ctx, ex.ID, w.ID, ex.Fence, 0, time.Minute)
		require.NoError(t, err)
		return claimed
	}
	result := func(ex store.Execution, fence int64, status string, needed bool) store.AttemptResult {
		return store.AttemptResult{ID: ex.ID, Fence: fence, Status: status, Result: []byte(fmt.Sprintf(`{"id":%d}`, ex.ID)),
			Needed: needed, Completed: store.NewOutboxMessage{Exchange: "attune.executions", RoutingKey: "execution.completed",
				MessageType: "ExecutionCompleted", Payload: []byte(`{"status":"` + status + `"}`)}}
	}
	a, b, c := running(), running(), running()
	refused := s.FinishGroup([]store.AttemptResult{
		result(a, a.Fence, "failed", true), result(b, b.Fence-1, "completed", false),
		result(c, c.Fence, "completed", false), result(a, a.Fence, "completed", false),
	})
	require.NoError(t, refused[0])
	require.ErrorIs(t, refused[1], domain.ErrConflict, "a stale fence wrote its result")
	require.NoError(t, refused[2])
	require.ErrorIs(t, refused[3], domain.ErrConflict, "a second result for a finished execution was written")
	for ex, want := range map[int64]string{a.ID: "failed", b.ID: "running", c.ID: "completed"} {
		got, err := s.ExecutionGet(ctx, ex)
		require.NoError(t, err)
		require.Equal(t, want, got.Status, "execution %d", ex)
		if want != "running" {
			require.JSONEq(t, fmt.Sprintf(`{"id":%d}`, ex), string(got.Result))
		}
	}
	var msgs []string
	rows, err := s.Pool().Query(ctx, `SELECT payload::text FROM outbox`)
	require.NoError(t, err)
	for rows.Next() {
		var p string
		require.NoError(t, rows.Scan(&p))
		msgs = append(msgs, p)
	}
	require.NoError(t, rows.Err())
	require.Len(t, msgs, 1, "only the result the executor needs writes a message")
	require.JSONEq(t, fmt.Sprintf(`{"status":"failed","execution_id":%d}`, a.ID), msgs[0])
}

// Claims written by one group statement each move their own execution; a
// stale fence, another worker, or a second claim of an execution in the same
// group is refused as a conflict.
func TestExecutionClaimGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	w, err := s.WorkerUpsert(ctx, store.WorkerRegistration{Name: "w"})
	require.NoError(t, err)
	a, b, c := scheduledOn(t, s, w.ID), scheduledOn(t, s, w.ID), scheduledOn(t, s, w.ID)
	exs, refused := s.ClaimGroup([]store.ClaimGroupReq{
		{a.ID, w.ID, a.Fence}, {b.ID, w.ID, b.Fence + 1}, {a.ID, w.ID, a.Fence}, {c.ID, w.ID + 1, c.Fence}, {c.ID, w.ID, c.Fence},
	})
	require.NoError(t, refused[0])
	require.ErrorIs(t, refused[1], domain.ErrConflict, "a stale fence claimed")
	require.ErrorIs(t, refused[2], domain.ErrConflict, "an execution was claimed twice")
	require.ErrorIs(t, refused[3], domain.ErrConflict, "another worker's dispatch claimed")
	require.NoError(t, refused[4])
	for _, i := range []int{0, 4} {
		require.Equal(t, "running", exs[i].Status)
		require.Equal(t, []int64{a.ID, 0, 0, 0, c.ID}[i], exs[i].ID)
		require.Equal(t, []int64{a.Fence, 0, 0, 0, c.Fence}[i]+1, exs[i].Fence)
		require.NotNil(t, exs[i].LeaseExpiresAt)
	}
	got, err := s.ExecutionGet(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, "scheduled", got.Status)
}

// The firings of one group are placed one after another, each counting the
// ones placed before it: two level workers split every group of four two and
// two, and a worker two executions behind takes a group of two alone.
func TestRuleFireGroupSpreadsOverWorkers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewStore(t)
	rule, act := fireFixture(t, s, "fixture.spread")
	caps := json.RawMessage(`{"runtimes":["shell"]}`)
	a, err := s.WorkerUpsert(ctx, store.WorkerRegistration{Name: "a", Capabilities: caps})
	require.NoError(t, err)
	b, err := s.WorkerUpsert(ctx, store.WorkerRegistration{Name: "b", Capabilities: caps})
	require.NoError(t, err)
	event := int64(0)
	group := func(n int) map[int64]int {
		t.Helper()
		reqs := make([]store.FireGroupReq, n)
		for i := range reqs {
			event++
			ev := event
			reqs[i] = store.FireGroupReq{
				Enf: store.NewEnforcement{Rule: &rule, RuleRef: "fixture.spread", TriggerRef: "fixture.trig", Event: &ev},
				Ex:  store.NewExecution{Action: &act.ID, ActionRef: act.Ref, Config: json.RawMessage(`{}`), AsSystem: true},
				Dispatch: store.NewOutboxMessage{Exchange: "attune.executions", RoutingKey: "execution.dispatch.worker.",
					MessageType: "ExecutionDispatch", Payload: json.RawMessage(`{}`)},
				Target: store.FireTarget{RuntimeNames: []string{"shell"}, StaleAfter: time.Minute},
			}
		}
		fired, outs, errs := s.FireGroup(reqs)
		require.NoError(t, errors.Join(errs...))
		per := map[int64]int{}
		for i := range reqs {
			require.Equal(t, store.Fired, outs[i])
			per[fired[i].Worker]++
		}
		return per
	}
	// Each group of four leaves the two level again; placing every firing
	// on its own would split five groups two and two only by luck (0.7 %).
	for range 5 {
		require.Equal(t, map[int64]int{a.ID: 2, b.ID: 2}, group(4), "a group of four on two level workers")
	}
	// Ten each; two more scheduled on b put a two behind.
	scheduledOn(t, s, b.ID)
	scheduledOn(t, s, b.ID)
	require.Equal(t, map[int64]int{a.ID: 2}, group(2), "a worker two behind did not take the group of two")
}
