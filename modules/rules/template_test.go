package rules

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func tctx() TemplateContext {
	return TemplateContext{
		Event:      ev(samplePayload),
		PackConfig: map[string]any{"webhook_url": "https://hooks.example/x", "retries": 3.0},
		RuleID:     7, RuleRef: "alerts.critical_to_webhook",
		Now: time.Date(2025, 6, 1, 12, 0, 5, 0, time.UTC),
	}
}

func TestResolveParamsSpecExample(t *testing.T) {
	t.Parallel()
	params := `{
		"url": "{{ pack.config.webhook_url }}",
		"method": "POST",
		"json_body": {
			"id": "{{ event.id }}",
			"text": "Alert {{ event.payload.severity }} via {{ system.rule.ref }}",
			"tags": "{{ event.payload.tags }}",
			"host": "{{event.payload.host}}",
			"missing": "{{ event.payload.nope }}",
			"mixed_missing": "x{{ event.payload.nope }}y",
			"list": ["{{ event.payload.count }}", {"deep": "{{ event.payload.items[1].n }}"}],
			"big": 12345678901234567890
		},
		"when": "{{ event.created }}",
		"now": "{{ system.timestamp }}",
		"rule": "{{ system.rule.id }}",
		"trigger": "{{ event.trigger }}",
		"legacy": "{{ trigger.payload.severity }}",
		"filters": "{{ event.payload.nope | default('anon') | upper }} {{ event.payload.host | tojson }} {{ event.payload.host.name | lower }}",
		"typed_default": "{{ event.payload.nope | default(5) }}",
		"literal": "{{ '{{' }} not a tag",
		"brace": "a { b } c"
	}`
	out, err := ResolveParams(json.RawMessage(params), tctx())
	require.NoError(t, err)
	require.Equal(t, "https://hooks.example/x", out["url"])
	body := out["json_body"].(map[string]any)
	require.Equal(t, int64(42), body["id"])
	require.Equal(t, "Alert critical via alerts.critical_to_webhook", body["text"])
	require.Equal(t, []any{"a", "b"}, body["tags"])
	require.Equal(t, map[string]any{"name": "Web-1"}, body["host"])
	require.Nil(t, body["missing"])
	require.Contains(t, body, "missing")
	require.Equal(t, "xy", body["mixed_missing"])
	require.Equal(t, []any{3.0, map[string]any{"deep": 2.0}}, body["list"])
	require.Equal(t, json.Number("12345678901234567890"), body["big"])
	require.Equal(t, "2025-06-01T12:00:00Z", out["when"])
	require.Equal(t, "2025-06-01T12:00:05Z", out["now"])
	require.Equal(t, int64(7), out["rule"])
	require.Equal(t, "core.intervaltimer", out["trigger"])
	require.Equal(t, "critical", out["legacy"])
	require.Equal(t, `ANON {"name":"Web-1"} web-1`, out["filters"])
	require.Equal(t, 5.0, out["typed_default"])
	require.Equal(t, "{{ not a tag", out["literal"])
	require.Equal(t, "a { b } c", out["brace"])

	// Resolved values do not alias the caller's payload.
	body["host"].(map[string]any)["name"] = "changed"
	require.Equal(t, "Web-1", tctx().Event.Payload.(map[string]any)["host"].(map[string]any)["name"])
}

func TestValidateTemplates(t *testing.T) {
	t.Parallel()
	require.NoError(t, ValidateTemplates(json.RawMessage(`{"a":"{{ event.id }}","b":["x {{ pack.config.k | default(\"d\") }}"]}`)))
	err := ValidateTemplates(json.RawMessage(`{"a":"ok {{ event.id","b":{"c":["x","line1\n  {{ env.HOME }}"]},"d":"{% if x %}"}`))
	var pes []*PositionError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *PositionError
		require.True(t, errors.As(e, &pe), e)
		pes = append(pes, pe)
	}
	require.Len(t, pes, 3)
	require.Equal(t, PositionError{Field: "action_params.a", Line: 1, Column: 4, Message: "unclosed {{"}, *pes[0])
	require.Equal(t, "action_params.b.c[1]", pes[1].Field)
	require.Equal(t, 2, pes[1].Line)
	require.Equal(t, 6, pes[1].Column)
	require.Contains(t, pes[1].Message, `unknown name "env.HOME"`)
	require.Equal(t, "action_params.d", pes[2].Field)
	require.Contains(t, pes[2].Message, "not supported")
	require.ErrorContains(t, ValidateTemplates(json.RawMessage(`[1]`)), "action_params: must be a JSON object")
}

// TestTemplateInjectionCorpus feeds SSTI probes (guarantees-and-security
// §3.1 item 2): each must error or render harmlessly within 100 ms.
func TestTemplateInjectionCorpus(t *testing.T) {
	t.Parallel()
	corpus := []string{
		`{{ .Foo.Bar.Method }}`, `{{ env.HOME }}`, `{{ os.Getenv("HOME") }}`, `{{ event.payload.__class__ }}`,
		`{{ event.payload.host.name.upper() }}`, `{{ system.rule.ref | safe }}`, `{{ config.items() }}`,
		`{{ ''.__class__.__mro__[1].__subclasses__() }}`, `{{ range $i := . }}x{{ end }}`, `{% for x in range(1000000) %}`,
		`{{ event.payload | tojson | tojson | tojson | tojson | tojson | tojson | tojson | tojson }}`,
		`{{ call .Method }}`, `{{ printf "%s" 1 }}`, `{{ template "x" }}`, `{{ lookup("file", "/etc/passwd") }}`,
		`{{ event.payload[0][0][0] }}`, `{{ event.payload['a' + 'b'] }}`, `{{ 9**9**9 }}`,
		strings.Repeat("{{ event.id }}", 5000),
		"{{ " + strings.Repeat("event.", 100000) + "id }}",
		strings.Repeat("{{", 100000),
		strings.Repeat("[", 100000),
	}
	nested := strings.Repeat(`{"a":`, 5000) + `"{{ event.id }}"` + strings.Repeat(`}`, 5000)
	for _, tmpl := range corpus {
		params, _ := json.Marshal(map[string]string{"p": tmpl})
		start := time.Now()
		out, err := ResolveParams(params, tctx())
		elapsed := time.Since(start)
		require.Less(t, elapsed, 100*time.Millisecond, tmpl[:min(len(tmpl), 60)])
		if err == nil {
			// Harmless: nothing from the host leaked, output is bounded.
			b, _ := json.Marshal(out)
			require.NotContains(t, string(b), "/root")
			require.Less(t, len(b), 2<<20)
		}
	}
	start := time.Now()
	_, err := ResolveParams(json.RawMessage(nested), tctx())
	require.Error(t, err)
	require.Less(t, time.Since(start), 100*time.Millisecond)
}

func TestResolveLimits(t *testing.T) {
	t.Parallel()
	ctx := tctx()
	ctx.Event.Payload = map[string]any{"blob": strings.Repeat("x", 300<<10)}
	// Four copies of a 300 KiB value exceed the 1 MiB output budget.
	_, err := ResolveParams(json.RawMessage(`{"a":["{{ event.payload.blob }}","{{ event.payload.blob }}","{{ event.payload.blob }}","x{{ event.payload.blob }}"]}`), ctx)
	require.ErrorContains(t, err, "exceeds")
	many := make([]string, maxSubstitutions+1)
	for i := range many {
		many[i] = "{{ event.id }}"
	}
	params, _ := json.Marshal(map[string]any{"a": many})
	_, err = ResolveParams(params, tctx())
	require.ErrorContains(t, err, "substitutions")
	_, err = ResolveParams(json.RawMessage(`{"a":"{{ event.id | nope }}"}`), tctx())
	var pe *PositionError
	require.True(t, errors.As(err, &pe))
	require.Equal(t, 15, pe.Column)
}
