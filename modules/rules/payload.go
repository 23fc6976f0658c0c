package rules

import (
	"encoding/json"
	"fmt"
)

// Limits on the payload a condition is evaluated against. Conditions run on
// every event, so a hostile or accidental giant payload must cost a bounded
// amount of work: beyond these limits the event simply does not match.
const (
	maxPayloadDepth = 64
	maxPayloadNodes = 100_000
)

// normalizePayload checks the payload limits and converts json.Number values
// (from decoders using UseNumber) to float64, since expr's operators only
// understand Go numeric types. The input is copied only when a conversion is
// needed.
func normalizePayload(v any) (any, error) {
	nodes := 0
	hasNumber, err := scanPayload(v, 0, &nodes)
	if err != nil {
		return nil, err
	}
	if !hasNumber {
		return v, nil
	}
	return convertNumbers(v), nil
}

func scanPayload(v any, depth int, nodes *int) (bool, error) {
	*nodes++
	if *nodes > maxPayloadNodes {
		return false, fmt.Errorf("payload has more than %d values", maxPayloadNodes)
	}
	if depth > maxPayloadDepth {
		return false, fmt.Errorf("payload is nested deeper than %d levels", maxPayloadDepth)
	}
	found := false
	switch c := v.(type) {
	case json.Number:
		return true, nil
	case map[string]any:
		for _, e := range c {
			f, err := scanPayload(e, depth+1, nodes)
			if err != nil {
				return false, err
			}
			found = found || f
		}
	case []any:
		for _, e := range c {
			f, err := scanPayload(e, depth+1, nodes)
			if err != nil {
				return false, err
			}
			found = found || f
		}
	}
	return found, nil
}

func convertNumbers(v any) any {
	switch c := v.(type) {
	case json.Number:
		if i, err := c.Int64(); err == nil {
			return i
		}
		f, _ := c.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(c))
		for k, e := range c {
			out[k] = convertNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(c))
		for i, e := range c {
			out[i] = convertNumbers(e)
		}
		return out
	}
	return v
}
