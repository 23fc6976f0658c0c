package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// hookFixture inserts a webhook trigger, enabled or not, and returns its id
// and key.
func hookFixture(t *testing.T, s *store.Store, ref string, enabled bool) (int64, string) {
	t.Helper()
	key := "wh_" + strings.Repeat(fmt.Sprintf("%x", len(ref)%16), 32)
	if !enabled {
		key = "wh_" + strings.Repeat("e", 32)
	}
	var id int64
	require.NoError(t, s.Pool().QueryRow(context.Background(), `INSERT INTO trigger (ref, label, webhook_enabled, webhook_key)
		VALUES ($1, 'hook', $2, $3) RETURNING id`, ref, enabled, key).Scan(&id))
	return id, key
}

func ingestReq(trig int64, ref, key string, seq int) store.IngestGroupReq {
	src, ip := "webhook", fmt.Sprintf("10.0.0.%d", seq)
	size := int32(seq)
	return store.IngestGroupReq{
		Event: store.NewEvent{Trigger: &trig, TriggerRef: ref, SourceRef: &src,
			Config:  json.RawMessage(fmt.Sprintf(`{"n":%d}`, seq)),
			Payload: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq))},
		Msg: store.NewOutboxMessage{Exchange: "attune.events", RoutingKey: "event.created", MessageType: "EventCreated",
			Payload: json.RawMessage(fmt.Sprintf(`{"trigger_ref":%q}`, ref))},
		Log: store.WebhookLogEntry{TriggerID: trig, TriggerRef: ref, WebhookKey: key, SourceIP: &ip, PayloadSizeBytes: &size},
	}
}

// checkIngested asserts that ev is the event of request seq, with its own
// outbox message (snapshot included) and log row.
func checkIngested(t *testing.T, s *store.Store, ev store.Event, seq int) {
	t.Helper()
	ctx := context.Background()
	var payload, config, msg []byte
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT payload, config FROM event WHERE id = $1`, ev.ID).Scan(&payload, &config))
	require.JSONEq(t, fmt.Sprintf(`{"seq":%d}`, seq), string(payload))
	require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, seq), string(config))
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT payload FROM outbox WHERE (payload->>'event_id')::bigint = $1`, ev.ID).Scan(&msg))
	var m struct {
		TriggerRef string `json:"trigger_ref"`
		Snapshot   struct {
			Payload json.RawMessage `json:"payload"`
		} `json:"snapshot"`
	}
	require.NoError(t, json.Unmarshal(msg, &m))
	require.JSONEq(t, string(payload), string(m.Snapshot.Payload))
	var ip string
	var size int32
	var ua, hmac *string
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT source_ip, payload_size_bytes, user_agent, hmac_verified::text
		FROM webhook_event_log WHERE event_id = $1`, ev.ID).Scan(&ip, &size, &ua, &hmac))
	require.Equal(t, fmt.Sprintf("10.0.0.%d", seq), ip)
	require.EqualValues(t, seq, size)
	require.Nil(t, ua, "an absent user agent is NULL")
	require.Nil(t, hmac, "an unchecked HMAC is NULL")
}

// A group statement writes each request's own event, message and log row,
// and nothing for a request whose webhook was disabled meanwhile.
func TestWebhookIngestGroupMapsEachRequest(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	on, onKey := hookFixture(t, s, "fixture.on", true)
	off, offKey := hookFixture(t, s, "fixture.off", false)
	reqs := []store.IngestGroupReq{
		ingestReq(on, "fixture.on", onKey, 1), ingestReq(off, "fixture.off", offKey, 2),
		ingestReq(on, "fixture.on", onKey, 3), ingestReq(on, "fixture.on", "wh_"+strings.Repeat("0", 32), 4),
		ingestReq(on, "fixture.on", onKey, 5),
	}
	evs, oks, errs := s.IngestGroup(reqs)
	require.NoError(t, errors.Join(errs...))
	require.Equal(t, []bool{true, false, true, false, true}, oks, "a disabled webhook or a stale key wrote an event")
	for _, i := range []int{0, 2, 4} {
		checkIngested(t, s, evs[i], i+1)
		require.Equal(t, "fixture.on", evs[i].TriggerRef)
	}
	var n int
	require.NoError(t, s.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM event) + (SELECT count(*) FROM outbox)
		+ (SELECT count(*) FROM webhook_event_log)`).Scan(&n))
	require.Equal(t, 9, n)
}

// Concurrent ingests go through the ingest loops: every one gets its own
// event, and a request that cannot be written is told so.
func TestWebhookIngestConcurrent(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	on, onKey := hookFixture(t, s, "fixture.on", true)
	off, offKey := hookFixture(t, s, "fixture.off", false)
	const n = 48
	evs, oks := make([]store.Event, n), make([]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := ingestReq(on, "fixture.on", onKey, i+1)
			if i%8 == 7 {
				r = ingestReq(off, "fixture.off", offKey, i+1)
			}
			var err error
			evs[i], oks[i], err = s.WebhookIngest(context.Background(), r.Event, r.Msg, r.Log)
			require.NoError(t, err)
		}()
	}
	close(start)
	wg.Wait()
	ids := map[int64]bool{}
	for i := range n {
		if i%8 == 7 {
			require.False(t, oks[i])
			continue
		}
		require.True(t, oks[i])
		require.False(t, ids[evs[i].ID], "event %d returned twice", evs[i].ID)
		ids[evs[i].ID] = true
		checkIngested(t, s, evs[i], i+1)
	}
}

// Two requests with one idempotency key in the same group: the first one
// writes its event, the second is told to take the transactional path.
func TestWebhookIngestGroupIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	on, onKey := hookFixture(t, s, "fixture.on", true)
	first, second, other := ingestReq(on, "fixture.on", onKey, 1), ingestReq(on, "fixture.on", onKey, 2), ingestReq(on, "fixture.on", onKey, 3)
	k1, k2 := "webhook:1:same", "webhook:1:other"
	first.Event.IdempotencyKey, second.Event.IdempotencyKey, other.Event.IdempotencyKey = &k1, &k1, &k2
	evs, oks, errs := s.IngestGroup([]store.IngestGroupReq{first, second, other})
	require.NoError(t, errors.Join(errs...))
	require.Equal(t, []bool{true, false, true}, oks)
	checkIngested(t, s, evs[0], 1)
	checkIngested(t, s, evs[2], 3)
	require.Equal(t, k1, *evs[0].IdempotencyKey)

	// A later request with a used key writes nothing either.
	_, ok, err := s.WebhookIngest(context.Background(), second.Event, second.Msg, second.Log)
	require.NoError(t, err)
	require.False(t, ok)
}

// A value PostgreSQL cannot store in one request of a group (a \u0000 in a
// JSON string, a number beyond jsonb's range) fails that request alone, as
// invalid input; the others are written.
func TestWebhookIngestGroupBadRowFailsAlone(t *testing.T) {
	t.Parallel()
	s := storetest.NewStore(t)
	on, onKey := hookFixture(t, s, "fixture.on", true)
	nul, huge := ingestReq(on, "fixture.on", onKey, 2), ingestReq(on, "fixture.on", onKey, 4)
	nul.Event.Payload = json.RawMessage(`{"a":"x\u0000y"}`)
	huge.Event.Payload = json.RawMessage(`{"n":1e999999}`)
	reqs := []store.IngestGroupReq{ingestReq(on, "fixture.on", onKey, 1), nul, ingestReq(on, "fixture.on", onKey, 3), huge}
	evs, oks, errs := s.IngestGroup(reqs)
	for _, i := range []int{1, 3} {
		var ve *domain.ValidationError
		require.ErrorAs(t, errs[i], &ve, "request %d", i)
		require.False(t, oks[i])
	}
	for _, i := range []int{0, 2} {
		require.NoError(t, errs[i])
		require.True(t, oks[i])
		checkIngested(t, s, evs[i], i+1)
	}
}
