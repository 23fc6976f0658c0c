package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// Group commit of webhook ingests. Under a burst, many webhook requests
// wait for their statement at the same time; a PostgreSQL statement and
// commit cost mostly per statement, not per row (the ingest statement
// measured 215 µs of server CPU per request alone and 65 µs per request
// eight at a time). So requests are handed to a few ingest loops: each
// takes the requests waiting when it is free and writes them with one
// statement. A lone request goes out at once, so a
// quiet system pays only the hand-over; a busy one shares statements.

const (
	// ingestLoops statements may be in flight at once: while one commits,
	// the next batch gathers.
	ingestLoops = 2
	// ingestBatchMax bounds a statement's rows (and its parameter's size).
	ingestBatchMax = 32
	// ingestStatementTimeout bounds a batch statement, which no single
	// request's context may cancel (it carries the others' events).
	ingestStatementTimeout = 30 * time.Second
)

type ingestReq struct {
	e    NewEvent
	msg  NewOutboxMessage
	log  WebhookLogEntry
	done chan ingestRes // buffered: the loop never waits for the caller
}

type ingestRes struct {
	ev  Event
	ok  bool
	err error
}

// ingestBatcher runs the ingest loops, started with the first request.
type ingestBatcher struct {
	s *Store

	mu      sync.Mutex
	started bool
	closed  bool
	reqs    chan *ingestReq
	stop    chan struct{} // closed by close: the loops drain and end
	stopped chan struct{} // closed once the loops have ended
	wg      sync.WaitGroup
	batches atomic.Int64 // statements run, for tests
}

// start launches the loops on first use; false once the store is closed.
func (b *ingestBatcher) start() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	if !b.started {
		b.started = true
		b.reqs = make(chan *ingestReq, ingestBatchMax*ingestLoops)
		b.stop, b.stopped = make(chan struct{}), make(chan struct{})
		for range ingestLoops {
			b.wg.Add(1)
			go func() { defer b.wg.Done(); b.loop() }()
		}
		go func() { b.wg.Wait(); close(b.stopped) }()
	}
	return true
}

// close stops the loops once the requests already handed over are written.
func (b *ingestBatcher) close() {
	b.mu.Lock()
	started := b.started && !b.closed
	b.closed = true
	b.mu.Unlock()
	if started {
		close(b.stop)
		<-b.stopped
	}
}

// ingest hands r to a loop and waits for its outcome. A caller whose
// context ends stops waiting, but its event may still commit, as with a
// statement cancelled after its commit was sent.
func (b *ingestBatcher) ingest(ctx context.Context, r *ingestReq) (Event, bool, error) {
	if !b.start() {
		return Event{}, false, errStoreClosed
	}
	r.done = make(chan ingestRes, 1)
	select {
	case b.reqs <- r:
	case <-b.stop:
		return Event{}, false, errStoreClosed
	case <-ctx.Done():
		return Event{}, false, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.ev, res.ok, res.err
	case <-b.stopped:
		// Handed over as the store closed: answered, or never taken.
		select {
		case res := <-r.done:
			return res.ev, res.ok, res.err
		default:
			return Event{}, false, errStoreClosed
		}
	case <-ctx.Done():
		return Event{}, false, ctx.Err()
	}
}

var errStoreClosed = errors.New("store: closed")

func (b *ingestBatcher) loop() {
	batch := make([]*ingestReq, 0, ingestBatchMax)
	for {
		batch = batch[:0]
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case <-b.stop:
			// Requests still queued are answered before the loop ends.
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				return
			}
		}
	gather:
		for len(batch) < ingestBatchMax {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		b.write(batch)
	}
}

// write ingests batch, one statement per kind of announcing message (in
// practice there is one kind, EventCreated).
func (b *ingestBatcher) write(batch []*ingestReq) {
	for len(batch) > 0 {
		head := batch[0].msg
		same, rest := batch[:0:0], batch[:0:0]
		for _, r := range batch {
			if r.msg.Exchange == head.Exchange && r.msg.RoutingKey == head.RoutingKey && r.msg.MessageType == head.MessageType {
				same = append(same, r)
			} else {
				rest = append(rest, r)
			}
		}
		b.writeSame(same)
		batch = rest
	}
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

func (b *ingestBatcher) writeSame(batch []*ingestReq) {
	s := b.s
	rows := make([]ingestRow, len(batch))
	for i, r := range batch {
		trig := r.log.TriggerID
		rows[i] = ingestRow{TriggerID: &trig, TriggerRef: r.e.TriggerRef, WebhookKey: r.log.WebhookKey,
			Config: r.e.Config, Payload: r.e.Payload, SourceRef: r.e.SourceRef, Idem: r.e.IdempotencyKey, Message: r.msg.Payload,
			Log: ingestLogRow{SourceIP: r.log.SourceIP, UserAgent: r.log.UserAgent, PayloadSizeBytes: r.log.PayloadSizeBytes,
				Headers: r.log.Headers, StatusCode: r.log.StatusCode, ProcessingTimeMS: r.log.ProcessingTimeMS,
				HMACVerified: r.log.HMACVerified, IPAllowed: r.log.IPAllowed}}
	}
	answer := func(res func(i int) ingestRes) {
		for i, r := range batch {
			r.done <- res(i)
		}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		answer(func(int) ingestRes { return ingestRes{err: err} })
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ingestStatementTimeout)
	defer cancel()
	one := s.oneShot()
	head := batch[0].msg
	b.batches.Add(1)
	got, err := s.q.WebhookEventIngestBatch(ctx, s.pool, dbsqlc.WebhookEventIngestBatchParams{
		Rows: doc, Exchange: head.Exchange, RoutingKey: head.RoutingKey, MessageType: head.MessageType,
		AvailableAt: one.availableAt(),
	})
	if err != nil {
		err = interpretError(err, fmt.Sprintf("ingest %d webhook events", len(batch)))
		answer(func(int) ingestRes { return ingestRes{err: err} })
		return
	}
	// Rows are numbered from 1 in @rows' order; a request without a row
	// found its webhook disabled or its idempotency key used, and takes the
	// caller's transactional path.
	byIndex := make([]*dbsqlc.WebhookEventIngestBatchRow, len(batch))
	msgs := make([]OutboxMessage, 0, len(got))
	for i := range got {
		g := &got[i]
		if g.I < 1 || int(g.I) > len(batch) {
			continue
		}
		byIndex[g.I-1] = g
		msgs = append(msgs, head.written(g.OutboxID, head.RoutingKey, g.OutboxPayload, g.OutboxCreated, g.OutboxAvailableAt))
	}
	one.committed(msgs...)
	answer(func(i int) ingestRes {
		g := byIndex[i]
		if g == nil {
			return ingestRes{}
		}
		e := batch[i].e
		trig := batch[i].log.TriggerID
		return ingestRes{ok: true, ev: Event{ID: g.EventID, Trigger: &trig, TriggerRef: e.TriggerRef, Config: e.Config,
			Payload: e.Payload, SourceRef: e.SourceRef, IdempotencyKey: e.IdempotencyKey, Created: g.EventCreated}}
	})
}
