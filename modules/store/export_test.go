package store

import (
	"context"
	"time"
)

// IngestGroup writes the webhook ingests in reqs as one group statement, as
// the ingest loops do with requests that arrive together; it returns each
// request's event and whether it was written.
func (s *Store) IngestGroup(reqs []IngestGroupReq) ([]Event, []bool, error) {
	batch := make([]ingestReq, len(reqs))
	for i, r := range reqs {
		batch[i] = ingestReq{e: r.Event, msg: r.Msg, log: r.Log}
	}
	outs, err := s.writeIngests(context.Background(), batch)
	if err != nil {
		return nil, nil, err
	}
	evs, oks := make([]Event, len(reqs)), make([]bool, len(reqs))
	for i, o := range outs {
		evs[i], oks[i] = o.ev, o.ok
	}
	return evs, oks, nil
}

// IngestGroupReq is one request for IngestGroup.
type IngestGroupReq struct {
	Event NewEvent
	Msg   NewOutboxMessage
	Log   WebhookLogEntry
}

// IngestStatements is how many group statements the ingest loops ran.
func (s *Store) IngestStatements() int64 { return s.ingests.runs.Load() }

// FireGroupReq is one firing for FireGroup.
type FireGroupReq struct {
	Enf      NewEnforcement
	Ex       NewExecution
	Dispatch NewOutboxMessage
	Target   FireTarget
}

// FireGroup writes the firings in reqs as one group statement, as the firing
// loops do with firings that arrive together.
func (s *Store) FireGroup(reqs []FireGroupReq) ([]FiredScheduled, []FireOutcome, error) {
	batch := make([]fireReq, len(reqs))
	for i, r := range reqs {
		batch[i] = fireReq{enf: r.Enf, ex: r.Ex, dispatch: r.Dispatch, target: r.Target}
	}
	outs, err := s.writeFirings(context.Background(), batch)
	if err != nil {
		return nil, nil, err
	}
	fired, outcomes := make([]FiredScheduled, len(reqs)), make([]FireOutcome, len(reqs))
	for i, o := range outs {
		fired[i], outcomes[i] = o.fired, o.outcome
	}
	return fired, outcomes, nil
}

// FinishGroup writes the results in reqs as the result loops do with results
// that arrive together, and returns each one's refusal (nil: written).
func (s *Store) FinishGroup(reqs []AttemptResult) ([]error, error) {
	return s.writeFinishes(context.Background(), reqs)
}

// ClaimGroupReq is one claim for ClaimGroup.
type ClaimGroupReq struct{ ID, Worker, Fence int64 }

// ClaimGroup writes the claims in reqs as the claim loops do with claims that
// arrive together; it returns each claimed execution, or why it was refused.
func (s *Store) ClaimGroup(reqs []ClaimGroupReq) ([]Execution, []error, error) {
	batch := make([]claimReq, len(reqs))
	for i, r := range reqs {
		batch[i] = claimReq{id: r.ID, worker: r.Worker, fence: r.Fence, lease: time.Minute}
	}
	outs, err := s.writeClaims(context.Background(), batch)
	if err != nil {
		return nil, nil, err
	}
	exs, refused := make([]Execution, len(reqs)), make([]error, len(reqs))
	for i, o := range outs {
		exs[i], refused[i] = o.ex, o.refused
	}
	return exs, refused, nil
}
