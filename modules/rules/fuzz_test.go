package rules

import (
	"encoding/json"
	"testing"
	"time"
)

func FuzzCompileMatch(f *testing.F) {
	for _, s := range []string{
		`{"expression":"event.payload.severity == \"critical\" and event.payload.count >= 3"}`,
		`{"expression":"contains(event.payload.tags, \"a\") or match(\"^w\", event.payload.host.name)"}`,
		`[{"field":"count","operator":"gt","value":2}]`, `{}`, `[]`, `null`,
	} {
		f.Add(s, samplePayload)
	}
	f.Fuzz(func(t *testing.T, conds, payload string) {
		c, err := Compile(json.RawMessage(conds))
		if err != nil {
			return
		}
		var p any
		if json.Unmarshal([]byte(payload), &p) != nil {
			return
		}
		start := time.Now()
		c.Match(EventContext{ID: 1, TriggerRef: "x.y", Payload: p})
		if d := time.Since(start); d > time.Second {
			t.Fatalf("match took %s", d)
		}
	})
}

func FuzzResolveParams(f *testing.F) {
	for _, s := range []string{
		`{"a":"{{ event.payload.host.name | upper }} x {{ pack.config.k | default('d') }}","b":["{{ event.id }}"]}`,
		`{"a":"{{ .Foo.Bar.Method }}"}`, `{"a":"{{ env.HOME }}"}`, `{"a":"{{ '}}' }}"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, params string) {
		start := time.Now()
		out, err := ResolveParams(json.RawMessage(params), tctx())
		verr := ValidateTemplates(json.RawMessage(params))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("resolve took %s", d)
		}
		if err == nil {
			if verr != nil {
				t.Fatalf("resolve ok but validate failed: %v", verr)
			}
			if b, _ := json.Marshal(out); len(b) > 2*maxOutputBytes {
				t.Fatalf("output %d bytes", len(b))
			}
		}
	})
}
