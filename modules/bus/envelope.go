package bus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// EnvelopeVersion is the envelope format version written by Encode.
const EnvelopeVersion = "1.0"

// envelope is the JSON wire format of spec §8. Headers are decoded leniently
// (see Decode) because upstream producers send non-string values such as
// "retry_count": 0 and "trace_id": null.
type envelope struct {
	MessageID     string                     `json:"message_id"`
	CorrelationID string                     `json:"correlation_id,omitempty"`
	MessageType   string                     `json:"message_type"`
	Version       string                     `json:"version"`
	Timestamp     time.Time                  `json:"timestamp"`
	Headers       map[string]json.RawMessage `json:"headers,omitempty"`
	Payload       json.RawMessage            `json:"payload"`
}

// Prepare fills the ID and Timestamp of m when empty and checks that its
// payload is valid JSON, so that a bad message fails at Publish rather than
// being dead-lettered by every consumer.
func Prepare(m Message) (Message, error) {
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = time.Now().UTC()
	}
	if m.Type == "" {
		return m, fmt.Errorf("bus: message %s: Type is required", m.ID)
	}
	if len(m.Payload) == 0 {
		m.Payload = json.RawMessage("{}")
	} else if !json.Valid(m.Payload) {
		return m, fmt.Errorf("bus: message %s (%s): Payload is not valid JSON", m.ID, m.Type)
	}
	return m, nil
}

// Encode serialises a prepared message into the §8 JSON envelope.
func Encode(m Message) ([]byte, error) {
	env := envelope{
		MessageID:     m.ID,
		CorrelationID: m.CorrelationID,
		MessageType:   m.Type,
		Version:       EnvelopeVersion,
		Timestamp:     m.Timestamp,
		Payload:       m.Payload,
	}
	if len(m.Headers) > 0 {
		env.Headers = make(map[string]json.RawMessage, len(m.Headers))
		for k, v := range m.Headers {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("bus: encode header %q: %w", k, err)
			}
			env.Headers[k] = b
		}
	}
	return json.Marshal(env)
}

// Decode parses a §8 envelope. Header values that are not strings are kept
// as their JSON text (e.g. "0"); null headers are dropped. A missing
// message_id or message_type makes the message undecodable.
func Decode(body []byte) (Message, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return Message{}, fmt.Errorf("bus: decode envelope: %w", err)
	}
	if env.MessageID == "" || env.MessageType == "" {
		return Message{}, fmt.Errorf("bus: decode envelope: message_id and message_type are required")
	}
	m := Message{
		ID:            env.MessageID,
		Type:          env.MessageType,
		CorrelationID: env.CorrelationID,
		Payload:       env.Payload,
		Timestamp:     env.Timestamp,
	}
	for k, raw := range env.Headers {
		if m.Headers == nil {
			m.Headers = make(map[string]string, len(env.Headers))
		}
		var s string
		switch {
		case bytes.Equal(raw, []byte("null")):
			continue
		case json.Unmarshal(raw, &s) == nil:
			m.Headers[k] = s
		default:
			m.Headers[k] = string(raw)
		}
	}
	return m, nil
}
