package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/attune-system/attune/db/dbsqlc"
)

// The webhook ingest's group statement (group.go).

type ingestReq struct {
	e   NewEvent
	msg NewOutboxMessage
	log WebhookLogEntry
}

type ingestRes struct {
	ev Event
	ok bool
}

// writeIngests ingests batch, one statement per kind of announcing message
// (in practice there is one kind, EventCreated).
func (s *Store) writeIngests(batch []ingestReq) ([]ingestRes, []error) {
	outs := make([]ingestRes, len(batch))
	errs := inGroups(len(batch), func(group []int, i int) bool {
		return batch[group[0]].msg.sameKind(batch[i].msg)
	}, func(ctx context.Context, group []int) error { return s.writeSameIngests(ctx, batch, group, outs) })
	return outs, errs
}

// ingestRow is one request in the statement's @rows.
type ingestRow struct {
	TriggerID  *int64 `json:"trigger_id"`
	TriggerRef string `json:"trigger_ref"`
	WebhookKey string `json:"webhook_key"`
	// Absent (omitted) is SQL NULL; JSON null stays a JSON null.
	Config    json.RawMessage `json:"config,omitempty"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	SourceRef *string         `json:"source_ref"`
	Idem      *string         `json:"idempotency_key"`
	Message   json.RawMessage `json:"message"`
	Log       ingestLogRow    `json:"log"`
}

type ingestLogRow struct {
	SourceIP         *string         `json:"source_ip"`
	UserAgent        *string         `json:"user_agent"`
	PayloadSizeBytes *int32          `json:"payload_size_bytes"`
	Headers          json.RawMessage `json:"headers,omitempty"`
	StatusCode       *int32          `json:"status_code"`
	ProcessingTimeMS *int32          `json:"processing_time_ms"`
	HMACVerified     *bool           `json:"hmac_verified"`
	IPAllowed        *bool           `json:"ip_allowed"`
}

// writeSameIngests writes the requests of batch at idx, which announce
// their events with the same kind of message, into outs.
func (s *Store) writeSameIngests(ctx context.Context, batch []ingestReq, idx []int, outs []ingestRes) error {
	rows := make([]ingestRow, len(idx))
	for j, i := range idx {
		r := batch[i]
		trig := r.log.TriggerID
		rows[j] = ingestRow{TriggerID: &trig, TriggerRef: r.e.TriggerRef, WebhookKey: r.log.WebhookKey,
			Config: r.e.Config, Payload: r.e.Payload, SourceRef: r.e.SourceRef, Idem: r.e.IdempotencyKey, Message: r.msg.Payload,
			Log: ingestLogRow{SourceIP: r.log.SourceIP, UserAgent: r.log.UserAgent, PayloadSizeBytes: r.log.PayloadSizeBytes,
				Headers: r.log.Headers, StatusCode: r.log.StatusCode, ProcessingTimeMS: r.log.ProcessingTimeMS,
				HMACVerified: r.log.HMACVerified, IPAllowed: r.log.IPAllowed}}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	one := s.oneShot()
	head := batch[idx[0]].msg
	got, err := s.q.WebhookEventIngestBatch(ctx, s.pool, dbsqlc.WebhookEventIngestBatchParams{
		Rows: doc, Exchange: head.Exchange, RoutingKey: head.RoutingKey, MessageType: head.MessageType,
		AvailableAt: one.availableAt(),
	})
	if err != nil {
		return interpretError(err, fmt.Sprintf("ingest %d webhook events", len(idx)))
	}
	// Rows are numbered from 1 in @rows' order; a request without a row
	// found its webhook disabled or its idempotency key used, and takes the
	// caller's transactional path.
	msgs := make([]OutboxMessage, 0, len(got))
	for _, g := range got {
		i, err := answered(idx, g.I)
		if err != nil {
			return err
		}
		e, trig := batch[i].e, batch[i].log.TriggerID
		outs[i] = ingestRes{ok: true, ev: Event{ID: g.EventID, Trigger: &trig, TriggerRef: e.TriggerRef, Config: e.Config,
			Payload: e.Payload, SourceRef: e.SourceRef, IdempotencyKey: e.IdempotencyKey, Created: g.EventCreated}}
		msgs = append(msgs, head.written(g.OutboxID, head.RoutingKey, g.OutboxPayload, g.OutboxCreated, g.OutboxAvailableAt))
	}
	one.committed(msgs...)
	return nil
}
