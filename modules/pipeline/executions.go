package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/store"
)

// Execution statuses (execution_status_enum).
const (
	StatusRequested  = "requested"
	StatusScheduling = "scheduling"
	StatusScheduled  = "scheduled"
	StatusRunning    = "running"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusCanceling  = "canceling"
	StatusCancelled  = "cancelled"
	StatusTimeout    = "timeout"
	StatusAbandoned  = "abandoned"
)

// NewExecution is a request to run an action, from the API or a rule.
type NewExecution struct {
	// ActionRef names the action (required).
	ActionRef string
	// Action, when set, is the action ActionRef names, already loaded by
	// the caller in this transaction.
	Action *store.Action
	// Params are the caller's parameters; schema defaults are added.
	Params map[string]any
	// ParamsError, when set, fails the execution at once with its text (a
	// rule template that did not resolve): nothing is dispatched.
	ParamsError error
	Enforcement *int64
	Parent      *int64
	// Executor is the identity the execution runs as; nil means the system
	// identity.
	Executor *int64
	// PermissionSetRefs override the action's default execution permission
	// sets when non-nil.
	PermissionSetRefs []string
	EnvVars           json.RawMessage
	// TimeoutSeconds overrides the action's timeout when set.
	TimeoutSeconds *int32
	// Schedule, when set, places the new requested execution in the same
	// transaction instead of announcing ExecutionRequested: the executor
	// uses it to save a commit and a bus hop on the event → action path.
	Schedule Scheduler
}

// Scheduler is the executor's part in firing rules: it supplies the rule's
// action (from its metadata cache), says where the one-statement firing may
// place an execution, and places requested executions in the caller's
// transaction.
type Scheduler interface {
	// LoadAction returns the action with this id (domain.ErrNotFound when
	// it is gone).
	LoadAction(ctx context.Context, db *store.DB, id int64) (store.Action, error)
	// InlineTarget is where a new execution of action may be placed by its
	// writing statement; ok is false when it may not (a policy governs the
	// action: admission needs the row first).
	InlineTarget(ctx context.Context, db *store.DB, action store.Action) (target store.FireTarget, ok bool, err error)
	// Place admits and places a requested execution (admission, worker
	// choice, dispatch record).
	Place(ctx context.Context, tx *store.Tx, ex store.Execution, action store.Action) error
}

// RequestExecution creates an execution in tx. Valid parameters give a
// `requested` execution with timeout and max_retries snapshotted and an
// ExecutionRequested message (or, with r.Schedule, its placement); invalid ones (or r.ParamsError) give a `failed`
// execution with result {error, succeeded:false} and an ExecutionCompleted
// message, without any worker. An unknown action is domain.ErrNotFound.
func RequestExecution(ctx context.Context, tx *store.Tx, r NewExecution) (store.Execution, error) {
	if r.ActionRef == "" {
		return store.Execution{}, domain.NewValidationError("action_ref", "must not be empty")
	}
	var action store.Action
	var err error
	if r.Action != nil && r.Action.Ref == r.ActionRef {
		action = *r.Action
	} else if action, err = tx.ActionGetByRef(ctx, r.ActionRef); err != nil {
		return store.Execution{}, err
	}
	ne, failure, err := executionRow(action, r)
	if err != nil {
		return store.Execution{}, err
	}
	if failure != "" {
		ne.Status = StatusFailed
	}
	ex, err := tx.ExecutionInsert(ctx, ne)
	if err != nil {
		return store.Execution{}, err
	}
	if failure != "" {
		// The failure is written by a fenced update so result_fence is set
		// exactly as for a worker-written result.
		if ex, err = tx.ExecutionUpdateStatus(ctx, store.StatusUpdate{
			ID: ex.ID, Fence: ex.Fence, From: []string{StatusFailed}, To: StatusFailed,
			Result: FailureResult(failure),
		}); err != nil {
			return store.Execution{}, err
		}
		return ex, EnqueueCompleted(ctx, tx, ex)
	}
	if r.Schedule != nil {
		return ex, r.Schedule.Place(ctx, tx, ex, action)
	}
	return ex, EnqueueRequested(ctx, tx, ex, nil, 0, time.Time{})
}

// executionRow is the `requested` row r asks for: parameters with schema
// defaults, timeout, retries and permission sets snapshotted from action.
// failure is why the parameters are invalid ("" when they are valid).
func executionRow(action store.Action, r NewExecution) (ne store.NewExecution, failure string, err error) {
	params, failure := prepareParams(action, r)
	config, err := json.Marshal(params)
	if err != nil {
		return ne, "", domain.Invalidf("parameters", "not JSON-encodable: %v", err)
	}
	perms := r.PermissionSetRefs
	if perms == nil {
		perms = action.DefaultExecutionPermissionSetRefs
	}
	timeout := r.TimeoutSeconds
	if timeout == nil {
		timeout = action.TimeoutSeconds
	}
	return store.NewExecution{
		Action: &action.ID, ActionRef: action.Ref, Config: config, EnvVars: r.EnvVars, Parent: r.Parent,
		Enforcement: r.Enforcement, Executor: r.Executor, AsSystem: r.Executor == nil, PermissionSetRefs: perms, TimeoutSeconds: timeout,
		WorkflowDef: action.WorkflowDef, MaxRetries: action.MaxRetries, Status: StatusRequested,
	}, failure, nil
}

// prepareParams applies schema defaults and validates. It returns the
// parameters to store and the failure message ("" when valid).
func prepareParams(action store.Action, r NewExecution) (map[string]any, string) {
	params := r.Params
	if params == nil {
		params = map[string]any{}
	}
	if r.ParamsError != nil {
		return params, r.ParamsError.Error()
	}
	if len(action.ParamSchema) == 0 || string(action.ParamSchema) == "null" {
		return params, ""
	}
	schema, err := pack.CachedParamSchema(action.ParamSchema)
	if err != nil {
		return params, fmt.Sprintf("action %s has an invalid parameter schema: %v", action.Ref, err)
	}
	params = schema.ApplyDefaults(params)
	if err := schema.Validate(params); err != nil {
		return params, err.Error()
	}
	return params, ""
}

// FailureResult is the result JSON of an execution that failed without
// running: {error, succeeded:false}.
func FailureResult(msg string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"error": msg, "succeeded": false})
	return b
}

// EnqueueRequested writes ExecutionRequested for ex in tx; a non-zero at
// delays it (scheduler backoff), waitingSince and retry travel with it.
func EnqueueRequested(ctx context.Context, tx *store.Tx, ex store.Execution, waitingSince *time.Time, retry int, at time.Time) error {
	b, err := json.Marshal(ExecutionRequested{ExecutionID: ex.ID, ActionRef: ex.ActionRef, WaitingSince: waitingSince, Retry: retry})
	if err != nil {
		return err
	}
	_, err = tx.OutboxEnqueue(ctx, store.NewOutboxMessage{
		Exchange: bus.ExchangeExecutions, RoutingKey: bus.KeyExecutionRequested,
		MessageType: TypeExecutionRequested, Payload: b, AvailableAt: at,
	})
	return err
}

// EnqueueDispatch writes ExecutionDispatch for ex, scheduled on its worker,
// in tx: the worker claims it with ex's fence.
func EnqueueDispatch(ctx context.Context, tx *store.Tx, ex store.Execution) error {
	if ex.Worker == nil {
		return fmt.Errorf("execution %d is scheduled on no worker", ex.ID)
	}
	return Enqueue(ctx, tx, bus.ExchangeExecutions, bus.KeyExecutionDispatch(strconv.FormatInt(*ex.Worker, 10)),
		TypeExecutionDispatch, ExecutionDispatch{ExecutionID: ex.ID, WorkerID: *ex.Worker, ActionRef: ex.ActionRef, Fence: ex.Fence})
}

// MayRetry reports whether the executor retries the terminal ex: it failed
// or timed out after running (one that failed before dispatch would fail
// the same way again) and has retries left.
func MayRetry(ex store.Execution) bool {
	return (ex.Status == StatusFailed || ex.Status == StatusTimeout) && ex.Attempt > 0 && ex.RetryCount < ex.MaxRetries
}

// EnqueueCompleted writes ExecutionCompleted for a terminal ex in tx.
func EnqueueCompleted(ctx context.Context, tx *store.Tx, ex store.Execution) error {
	return Enqueue(ctx, tx, bus.ExchangeExecutions, bus.KeyExecutionCompleted, TypeExecutionCompleted,
		ExecutionCompleted{ExecutionID: ex.ID, ActionRef: ex.ActionRef, Status: ex.Status, CompletedAt: ex.Updated})
}

// FinishExecution moves ex (still carrying its fence and one of from) to a
// terminal status with result and announces it, in tx. A lost race is
// domain.ErrConflict.
func FinishExecution(ctx context.Context, tx *store.Tx, ex store.Execution, from []string, to string, result json.RawMessage) (store.Execution, error) {
	if !domain.TerminalStatus(to) {
		return store.Execution{}, domain.Invalidf("status", "%q is not terminal", to)
	}
	done, err := tx.ExecutionUpdateStatus(ctx, store.StatusUpdate{ID: ex.ID, Fence: ex.Fence, From: from, To: to, Result: result})
	if err != nil {
		return store.Execution{}, err
	}
	return done, EnqueueCompleted(ctx, tx, done)
}

// CancelledByUserMessage is the error text of a cancelled execution.
const CancelledByUserMessage = "Execution cancelled by user"

// CancelExecution cancels an execution. Before handoff to a worker
// (requested, scheduling, scheduled) it becomes cancelled at once and
// ExecutionCompleted is announced; a running one becomes canceling and its
// worker gets ExecutionCancel. A canceling one is returned unchanged; a
// terminal one is domain.ErrConflict.
func CancelExecution(ctx context.Context, st *store.Store, id int64) (ex store.Execution, err error) {
	err = st.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.ExecutionGetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		pre := []string{StatusRequested, StatusScheduling, StatusScheduled}
		switch {
		case slices.Contains(pre, cur.Status):
			res, _ := json.Marshal(map[string]any{"error": CancelledByUserMessage, "succeeded": false, "cancelled": true})
			ex, err = FinishExecution(ctx, tx, cur, pre, StatusCancelled, res)
			return err
		case cur.Status == StatusRunning:
			if ex, err = tx.ExecutionUpdateStatus(ctx, store.StatusUpdate{
				ID: cur.ID, Fence: cur.Fence, From: []string{StatusRunning}, To: StatusCanceling,
			}); err != nil {
				return err
			}
			if ex.Worker == nil {
				return nil // the reaper finishes it when the lease lapses
			}
			w := strconv.FormatInt(*ex.Worker, 10)
			return Enqueue(ctx, tx, bus.ExchangeExecutions, bus.KeyExecutionCancel(w), TypeExecutionCancel,
				ExecutionCancel{ExecutionID: ex.ID, WorkerID: *ex.Worker})
		case cur.Status == StatusCanceling:
			ex = cur
			return nil
		default:
			return domain.Conflictf("execution %d is already %s", id, cur.Status)
		}
	})
	return ex, err
}
