package sensor

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// maxLineBytes bounds one emitted JSON line; longer lines are dropped.
const maxLineBytes = 1 << 20

// ingestAttempts bounds retries of one event write when the database fails.
const ingestAttempts = 3

// emittedLine is one JSON line a sensor prints on stdout.
type emittedLine struct {
	TriggerRef string `json:"trigger_ref"`
	// TriggerType is accepted as an alias of trigger_ref (spec §5.1).
	TriggerType string          `json:"trigger_type"`
	Payload     json.RawMessage `json:"payload"`
	// TriggerInstanceID "rule_<id>" targets one rule (event.rule).
	TriggerInstanceID string `json:"trigger_instance_id"`
	// DedupeKey makes a re-emitted event yield one row.
	DedupeKey string `json:"dedupe_key"`
}

// readEvents turns each stdout line of a sensor process into an event. It
// runs until the pipe closes; reading is synchronous, so a slow database
// slows the sensor (pipe back-pressure) instead of buffering without bound.
func (m *Module) readEvents(s *sensorSpec, r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, tooLong, err := readLine(br)
		if tooLong {
			m.dropLine(s, "line longer than 1 MiB")
		} else if len(bytes.TrimSpace(line)) > 0 {
			m.emitLine(s, line)
		}
		if err != nil {
			return
		}
	}
}

// readLine returns the next line without its newline; an over-long line is
// consumed and reported as tooLong.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > maxLineBytes+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, err
	}
}

func (m *Module) dropLine(s *sensorSpec, why string) {
	m.metrics.sensorEvents.WithLabelValues(s.Ref, "dropped").Inc()
	// The line itself is never logged: it may carry secrets.
	m.log.Warn("sensor: emitted line dropped", "sensor", s.Ref, "reason", why)
}

func (m *Module) emitLine(s *sensorSpec, line []byte) {
	var e emittedLine
	if err := json.Unmarshal(line, &e); err != nil {
		m.dropLine(s, "not a JSON object: "+err.Error())
		return
	}
	ne, err := s.newEvent(e)
	if err != nil {
		m.dropLine(s, err.Error())
		return
	}
	ctx := m.sup.ctx
	for attempt := 1; ; attempt++ {
		_, created, err := pipeline.IngestEvent(ctx, m.d.Store, ne)
		if err == nil {
			outcome := "event"
			if !created {
				outcome = "duplicate"
			}
			m.metrics.sensorEvents.WithLabelValues(s.Ref, outcome).Inc()
			return
		}
		if attempt == ingestAttempts || ctx.Err() != nil {
			m.metrics.sensorEvents.WithLabelValues(s.Ref, "dropped").Inc()
			m.log.Error("sensor: storing emitted event failed", "sensor", s.Ref, "trigger", ne.TriggerRef, "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// newEvent validates an emitted line against what the sensor may emit: only
// its own trigger types, and only rules it was given as trigger instances.
func (s *sensorSpec) newEvent(e emittedLine) (store.NewEvent, error) {
	ref := cmp.Or(e.TriggerRef, e.TriggerType)
	if ref == "" {
		return store.NewEvent{}, errors.New("trigger_ref: required")
	}
	if !slices.Contains(s.TriggerRefs, ref) {
		return store.NewEvent{}, fmt.Errorf("trigger_ref: %q is not one of the sensor's trigger types %v", ref, s.TriggerRefs)
	}
	payload := e.Payload
	if len(bytes.TrimSpace(payload)) == 0 || bytes.Equal(bytes.TrimSpace(payload), []byte("null")) {
		payload = json.RawMessage(`{}`)
	}
	src, sid := s.Ref, s.ID
	ne := store.NewEvent{TriggerRef: ref, Payload: payload, Source: &sid, SourceRef: &src}
	if id, ok := s.TriggerIDs[ref]; ok {
		ne.Trigger = &id
	}
	if e.TriggerInstanceID != "" {
		idText, ok := strings.CutPrefix(e.TriggerInstanceID, "rule_")
		id, err := strconv.ParseInt(idText, 10, 64)
		if !ok || err != nil {
			return store.NewEvent{}, fmt.Errorf("trigger_instance_id: %q is not rule_<id>", e.TriggerInstanceID)
		}
		if !s.hasInstance(id, ref) {
			return store.NewEvent{}, fmt.Errorf("trigger_instance_id: rule %d is not an instance of %s on this sensor", id, ref)
		}
		ne.Rule = &id
		for _, in := range s.Instances {
			if in.RuleID == id {
				ne.RuleRef = &in.RuleRef
			}
		}
	}
	if e.DedupeKey != "" {
		k := e.DedupeKey
		ne.IdempotencyKey = &k
	}
	return ne, nil
}
