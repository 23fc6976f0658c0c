package store

import (
	"context"
	"fmt"
	"time"
)

// IngestGroup writes the webhook ingests in reqs as a group leader does with
// requests that arrive together; it returns each request's event and whether
// it was written.
func (s *Store) IngestGroup(reqs []IngestGroupReq) ([]Event, []bool, []error) {
	batch := make([]ingestReq, len(reqs))
	for i, r := range reqs {
		batch[i] = ingestReq{e: r.Event, msg: r.Msg, log: r.Log}
	}
	outs, errs := s.writeIngests(batch)
	evs, oks := make([]Event, len(reqs)), make([]bool, len(reqs))
	for i, o := range outs {
		evs[i], oks[i] = o.ev, o.ok
	}
	return evs, oks, errs
}

// IngestGroupReq is one request for IngestGroup.
type IngestGroupReq struct {
	Event NewEvent
	Msg   NewOutboxMessage
	Log   WebhookLogEntry
}

// FireGroupReq is one firing for FireGroup.
type FireGroupReq struct {
	Enf      NewEnforcement
	Ex       NewExecution
	Dispatch NewOutboxMessage
	Target   FireTarget
}

// FireGroup writes the firings in reqs as a group leader does with firings
// that arrive together, and returns each one's outcome or error.
func (s *Store) FireGroup(reqs []FireGroupReq) ([]FiredScheduled, []FireOutcome, []error) {
	batch := make([]fireReq, len(reqs))
	for i, r := range reqs {
		batch[i] = fireReq{enf: r.Enf, ex: r.Ex, dispatch: r.Dispatch, target: r.Target}
	}
	outs, errs := s.writeFirings(batch)
	fired, outcomes := make([]FiredScheduled, len(reqs)), make([]FireOutcome, len(reqs))
	for i, o := range outs {
		fired[i], outcomes[i] = o.fired, o.outcome
	}
	return fired, outcomes, errs
}

// FinishGroup writes the results in reqs as a group leader does with results
// that arrive together, and returns each one's refusal (nil: written).
func (s *Store) FinishGroup(reqs []AttemptResult) []error {
	stale, errs := s.writeFinishes(reqs)
	for i, r := range reqs {
		if errs[i] == nil && stale[i] {
			errs[i] = s.refused(context.Background(), r.ID, fmt.Sprintf("result %s with fence %d", r.Status, r.Fence))
		}
	}
	return errs
}

// ClaimGroupReq is one claim for ClaimGroup.
type ClaimGroupReq struct{ ID, Worker, Fence int64 }

// ClaimGroup writes the claims in reqs as a group leader does with claims
// that arrive together; it returns each claimed execution, or why it was
// refused.
func (s *Store) ClaimGroup(reqs []ClaimGroupReq) ([]Execution, []error) {
	batch := make([]claimReq, len(reqs))
	for i, r := range reqs {
		batch[i] = claimReq{id: r.ID, worker: r.Worker, fence: r.Fence, lease: time.Minute}
	}
	outs, errs := s.writeClaims(batch)
	exs := make([]Execution, len(reqs))
	for i, o := range outs {
		exs[i] = o.ex
		if errs[i] == nil && o.refused {
			errs[i] = s.refused(context.Background(), reqs[i].ID, "claim")
		}
	}
	return exs, errs
}
