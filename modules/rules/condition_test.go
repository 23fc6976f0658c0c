package rules

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ev(payload string) EventContext {
	var p any
	if payload != "" {
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			panic(err)
		}
	}
	return EventContext{ID: 42, TriggerRef: "core.intervaltimer",
		Created: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), Payload: p}
}

const samplePayload = `{"severity":"critical","count":3,"tags":["a","b"],"host":{"name":"Web-1"},"items":[{"n":1},{"n":2}]}`

func TestCompileAlways(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `null`, `{}`, `[]`, ` {} `} {
		c, err := Compile(json.RawMessage(in))
		require.NoError(t, err, in)
		require.True(t, c.Match(ev(samplePayload)), in)
	}
}

func TestExpressionMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr string
		want bool
	}{
		{`event.payload.severity == "critical" and event.payload.count >= 3`, true},
		{`event.payload.severity == "critical" and event.payload.count > 3`, false},
		{`not (event.payload.count < 3) or false`, true},
		{`event.payload.count * 2 + 1 == 7`, true},
		{`event.payload.severity in ["warning", "critical"]`, true},
		{`"c" in event.payload.tags`, false},
		{`event.payload.tags[1] == "b"`, true},
		{`event.payload.items[0].n == 1`, true},
		{`event.payload["host"]["name"] == "Web-1"`, true},
		{`contains(event.payload.tags, "a")`, true},
		{`contains(event.payload.host.name, "eb") and not contains(event.payload.tags, "z")`, true},
		{`event.payload.host.name contains "Web"`, true},
		{`length(event.payload.tags) == 2 and length(event.payload.severity) == 8`, true},
		{`lower(event.payload.host.name) == "web-1" and upper("x") == "X"`, true},
		{`match("^Web-[0-9]+$", event.payload.host.name)`, true},
		{`int("7") == 7 and string(event.payload.count) == "3"`, true},
		{`event.id == 42 and event.trigger == "core.intervaltimer" and event.trigger_ref == event.trigger`, true},
		{`event.created == "2025-06-01T12:00:00Z"`, true},
		// Missing fields and type errors are "no match", never a panic.
		{`event.payload.missing.deep == 1`, false},
		{`event.payload.missing == nil`, true},
		{`event.payload.severity > 3`, false},
		{`event.payload.tags[99] == "x"`, false},
		{`length(event.payload.count) == 1`, false},
		{`event.payload.severity`, false}, // not a bool
	}
	for _, tc := range cases {
		c, err := Compile(exprJSON(tc.expr))
		require.NoError(t, err, tc.expr)
		require.Equal(t, tc.want, c.Match(ev(samplePayload)), tc.expr)
	}
}

func exprJSON(e string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"expression": e})
	return b
}

func TestNoPayloadMatchesByDefault(t *testing.T) {
	t.Parallel()
	c, err := Compile(exprJSON(`event.payload.severity == "critical"`))
	require.NoError(t, err)
	require.True(t, c.Match(ev("")))
}

func TestJSONNumberPayload(t *testing.T) {
	t.Parallel()
	c, err := Compile(exprJSON(`event.payload.count >= 3 and event.payload.ratio < 1`))
	require.NoError(t, err)
	e := ev("")
	e.Payload = map[string]any{"count": json.Number("3"), "ratio": json.Number("0.5")}
	require.True(t, c.Match(e))
}

func TestExpressionCompileErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr      string
		line, col int
		msg       string
	}{
		{`event.payload.a ==`, 1, 18, "unexpected token EOF"},
		{"event.payload.a == 1 and\n  (2", 2, 4, ""},
		{`env.HOME == "x"`, 1, 1, "unknown name env"},
		{`event.payload.a == 1 and map([1,2], # > 1)`, 1, 26, "not allowed"},
		{`1..10 == 1`, 1, 2, "not allowed"},
		{`event.payload.s matches "x"`, 1, 17, "match(pattern, s)"},
		{`let x = 1; x == 1`, 1, 5, "not allowed"},
		{`event.payload.s.Method()`, 1, 17, "not allowed"},
		{`now() > 1`, 1, 1, ""},
		{`match("(", "x")`, 1, 7, "invalid regular expression"},
		{`1 + 1`, 1, 1, "bool"},
	}
	for _, tc := range cases {
		_, err := Compile(exprJSON(tc.expr))
		var pe *PositionError
		require.True(t, errors.As(err, &pe), "%q: %v", tc.expr, err)
		require.Equal(t, "conditions.expression", pe.Field)
		require.Equal(t, tc.line, pe.Line, "%q: %v", tc.expr, err)
		if tc.col > 0 && tc.expr != `1 + 1` {
			require.Equal(t, tc.col, pe.Column, "%q: %v", tc.expr, err)
		}
		require.Contains(t, pe.Message, tc.msg, tc.expr)
	}
	long := make([]byte, maxExprLength+1)
	for i := range long {
		long[i] = '1'
	}
	_, err := Compile(exprJSON(string(long)))
	require.ErrorContains(t, err, "limit")
	_, err = Compile(json.RawMessage(`{"and":[{"==":[1,1]}]}`))
	require.ErrorContains(t, err, "JSON-Logic is not supported")
}

func TestRewriteContainsCalls(t *testing.T) {
	t.Parallel()
	require.Equal(t, `Contains(a, "contains(")`, rewriteContainsCalls(`contains(a, "contains(")`))
	require.Equal(t, `a contains ("x")`, rewriteContainsCalls(`a contains ("x")`))
	require.Equal(t, `x and not Contains(a,b)`, rewriteContainsCalls(`x and not contains(a,b)`))
	require.Equal(t, `a.contains(b)`, rewriteContainsCalls(`a.contains(b)`))
}

func TestLegacyConditions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		conds string
		want  bool
	}{
		{`[{"field":"severity","operator":"equals","value":"critical"},{"field":"count","operator":"equals","value":3}]`, true},
		{`[{"field":"payload.severity","operator":"not_equals","value":"info"}]`, true},
		{`[{"field":"event.payload.tags","operator":"contains","value":"b"}]`, true},
		{`[{"field":"host.name","operator":"contains","value":"eb"}]`, true},
		{`[{"field":"host.name","operator":"iequals","value":"WEB-1"}]`, true},
		{`[{"field":"host.name","type":"regex","pattern":"^web"}]`, false},
		{`[{"field":"host.name","operator":"regex","value":"(?i)^web"}]`, true},
		{`[{"field":"count","operator":"gt","value":2},{"field":"count","operator":"lt","value":4}]`, true},
		{`[{"field":"items.1.n","operator":"equals","value":2}]`, true},
		{`[{"field":"items[0].n","operator":"equals","value":1}]`, true},
		{`[{"field":"host","operator":"exists"}]`, true},
		{`[{"field":"nope","operator":"exists"}]`, false},
		{`[{"field":"nope","operator":"not_equals","value":"x"}]`, false},
		{`[{"field":"severity","operator":"gt","value":3}]`, false},
		{`[{"field":"severity","operator":"equals","value":"critical"},{"field":"count","operator":"equals","value":4}]`, false},
	}
	for _, tc := range cases {
		c, err := Compile(json.RawMessage(tc.conds))
		require.NoError(t, err, tc.conds)
		require.Equal(t, tc.want, c.Match(ev(samplePayload)), tc.conds)
	}
	for conds, msg := range map[string]string{
		`[{"field":"a","operator":"like","value":1}]`:      "conditions[0].operator: unknown operator",
		`[{"field":"a","operator":"equals"}]`:              "conditions[0].value: required",
		`[{"field":"a","operator":"equals","value":1}, 5]`: "conditions[1]: must be an object",
		`[{"field":"a[x]","operator":"equals","value":1}]`: "conditions[0].field:",
		`[{"field":"a","operator":"regex","value":"("}]`:   "conditions[0].value: invalid regular expression",
		`[{"field":"a","operator":"iequals","value":3}]`:   "iequals needs a string",
	} {
		_, err := Compile(json.RawMessage(conds))
		require.ErrorContains(t, err, msg, conds)
	}
}

func TestPayloadLimits(t *testing.T) {
	t.Parallel()
	c, err := Compile(exprJSON(`event.payload != nil`))
	require.NoError(t, err)
	var deep any = "x"
	for range maxPayloadDepth + 5 {
		deep = []any{deep}
	}
	ok, err := c.MatchErr(EventContext{Payload: deep})
	require.False(t, ok)
	require.ErrorContains(t, err, "nested deeper")
	big := make([]any, maxPayloadNodes+1)
	ok, err = c.MatchErr(EventContext{Payload: big})
	require.False(t, ok)
	require.ErrorContains(t, err, "more than")
}

func TestCache(t *testing.T) {
	t.Parallel()
	cache := NewCache(2)
	v1 := time.Unix(100, 0)
	a, err := cache.Get(1, v1, exprJSON(`event.payload.count == 3`))
	require.NoError(t, err)
	b, err := cache.Get(1, v1, exprJSON(`ignored because the version is cached`))
	require.NoError(t, err)
	require.Same(t, a, b)
	c, err := cache.Get(1, v1.Add(time.Second), exprJSON(`event.payload.count == 4`))
	require.NoError(t, err)
	require.NotSame(t, a, c)
	require.False(t, c.Match(ev(samplePayload)))
	_, err = cache.Get(2, v1, exprJSON(`bad ==`))
	require.Error(t, err)
	_, err2 := cache.Get(2, v1, exprJSON(`bad ==`))
	require.Equal(t, err, err2, "compile errors are cached")
	_, _ = cache.Get(3, v1, nil)
	require.Equal(t, 2, cache.Len())
	cache.Forget(3)
	require.LessOrEqual(t, cache.Len(), 1)
}
