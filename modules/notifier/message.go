package notifier

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Channels are the PostgreSQL NOTIFY channels the notifier LISTENs on: the
// trigger channels of db/migrations/00001_init.sql (spec §1.4), the API's
// rule_lifecycle_changed, and attune_notifications (rows of the
// notification table, spec §7).
var Channels = []string{
	"event_created",
	"enforcement_created", "enforcement_status_changed",
	"execution_created", "execution_status_changed", "workflow_execution_status_changed",
	"inquiry_created", "inquiry_responded", "inquiry_timeout",
	"artifact_created", "artifact_updated",
	"rule_lifecycle_changed",
	"attune_notifications",
}

// Frame types sent to clients.
const (
	typeWelcome      = "welcome"
	typeNotification = "notification"
	typeError        = "error"
	typeResync       = "resync"
)

// notification is one parsed NOTIFY. It is shared by every client it fans
// out to, so it is immutable after parse (the lazily resolved access facts
// live behind their own sync.Once in facts).
type notification struct {
	Channel    string
	EntityType string
	EntityID   int64
	Payload    json.RawMessage
	fields     map[string]any
	Received   time.Time
	facts      *facts
}

// str returns a string field of the payload ("" when absent or not a string).
func (n *notification) str(key string) string {
	s, _ := n.fields[key].(string)
	return s
}

// int returns an integer field of the payload.
func (n *notification) int(key string) (int64, bool) {
	switch v := n.fields[key].(type) {
	case json.Number:
		i, err := v.Int64()
		return i, err == nil
	case string: // notification.entity is text
		i, err := strconv.ParseInt(v, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// deferred reports a compact payload (auth_mode "deferred", spec §1.4): the
// refs are missing and the client must refetch through the API.
func (n *notification) deferred() bool { return n.str("auth_mode") == "deferred" }

// parseNotification decodes a NOTIFY payload. entity_type is required; the
// numeric entity id comes from entity_id, or for channels whose trigger
// does not send one, from id (inquiries, workflow executions), rule_id (rule
// lifecycle) or entity (notification table rows).
func parseNotification(channel, payload string, received time.Time) (*notification, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(payload)))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, fmt.Errorf("channel %s: payload is not a JSON object", channel)
	}
	n := &notification{Channel: channel, Payload: json.RawMessage(payload), fields: fields, Received: received}
	n.EntityType = n.str("entity_type")
	if n.EntityType == "" {
		return nil, fmt.Errorf("channel %s: payload has no entity_type", channel)
	}
	keys := []string{"entity_id", "id", "rule_id"}
	if _, isRow := n.fields["activity"]; isRow || channel == "attune_notifications" {
		// A notification-table row: its own id is not the entity's, so only
		// a numeric entity will do (a wrong id would be authorised against
		// the wrong row).
		keys = []string{"entity"}
	}
	for _, key := range keys {
		if id, ok := n.int(key); ok {
			n.EntityID = id
			break
		}
	}
	if n.EntityID <= 0 {
		return nil, fmt.Errorf("channel %s: payload has no numeric entity id", channel)
	}
	n.facts = &facts{}
	return n, nil
}

// notificationFrame is the wire form of one notification (spec §7) plus
// seq, which numbers the notification frames of one connection from 1
// without gaps.
type notificationFrame struct {
	Type             string          `json:"type"`
	Seq              uint64          `json:"seq"`
	NotificationType string          `json:"notification_type"`
	EntityType       string          `json:"entity_type"`
	EntityID         int64           `json:"entity_id"`
	UserID           *int64          `json:"user_id"`
	Payload          json.RawMessage `json:"payload"`
	Timestamp        string          `json:"timestamp"`
}

func (n *notification) frame(seq uint64) notificationFrame {
	return notificationFrame{
		Type: typeNotification, Seq: seq, NotificationType: n.Channel, EntityType: n.EntityType,
		EntityID: n.EntityID, Payload: n.Payload, Timestamp: n.Received.UTC().Format(time.RFC3339Nano),
	}
}

type welcomeFrame struct {
	Type     string `json:"type"`
	ClientID string `json:"client_id"`
	Message  string `json:"message"`
}

type errorFrame struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// resyncFrame tells a client it may have missed notifications (the LISTEN
// connection dropped; PostgreSQL does not replay): refetch through REST.
type resyncFrame struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	// Seq is the last notification seq sent on this connection before the gap.
	Seq uint64 `json:"seq"`
}

// clientMessage is what clients send.
type clientMessage struct {
	Type   string `json:"type"`
	Filter string `json:"filter"`
}
