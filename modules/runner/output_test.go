package runner

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOutputParsing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, format, body string
		data               any // nil: no data, stdout kept
	}{
		{"json whole multi-line", OutputJSON, `printf '{\n  "a": 1,\n  "b": [true, null]\n}\n'`,
			map[string]any{"a": json.Number("1"), "b": []any{true, nil}}},
		{"json last line after logs", OutputJSON, `echo starting; echo 'progress 50%'; echo '{"ok":"yes"}'`,
			map[string]any{"ok": "yes"}},
		{"json scalar", OutputJSON, `echo 42`, json.Number("42")},
		{"json unparseable keeps stdout", OutputJSON, `echo 'not json'; echo '{broken'`, nil},
		{"yaml", OutputYAML, `printf 'name: x\nitems:\n  - 1\n  - two\nnested: {k: v}\n'`,
			map[string]any{"name": "x", "items": []any{1, "two"}, "nested": map[string]any{"k": "v"}}},
		{"yaml non-string keys", OutputYAML, `printf '1: one\ntrue: yes\n'`,
			map[string]any{"1": "one", "true": "yes"}},
		{"jsonl keeps lines that parse", OutputJSONL, `echo '{"i":1}'; echo 'noise'; echo; echo '[2]'; echo '"s"'`,
			[]any{map[string]any{"i": json.Number("1")}, []any{json.Number("2")}, "s"}},
		{"jsonl none parse", OutputJSONL, `echo nope`, nil},
		{"text never parses", OutputText, `echo '{"a":1}'`, nil},
		{"blank stdout", OutputJSON, `echo '   '`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, Spec{Path: script(t, c.body), OutputFormat: c.format})
			require.Equal(t, StatusCompleted, res.Status)
			if c.data == nil {
				require.NotContains(t, res.JSON, "data")
				require.Contains(t, res.JSON, "stdout")
				return
			}
			require.Equal(t, c.data, res.JSON["data"])
			require.NotContains(t, res.JSON, "stdout")
			_, err := json.Marshal(res.JSON)
			require.NoError(t, err, "result must be storable as JSON")
		})
	}
}

func TestSecretOutputFieldsMasked(t *testing.T) {
	t.Parallel()
	res := run(t, Spec{
		Path:               script(t, `echo '{"token":"abc","user":"me","conn":{"password":"pw","host":"h"},"missing_parent":1}'`),
		OutputFormat:       OutputJSON,
		SecretOutputFields: []string{"token", "conn.password", "absent", "missing_parent.x"},
	})
	require.Equal(t, map[string]any{
		"token": Mask, "user": "me", "conn": map[string]any{"password": Mask, "host": "h"},
		"missing_parent": json.Number("1"),
	}, res.JSON["data"])
}

func TestInvalidUTF8MadeValid(t *testing.T) {
	t.Parallel()
	res := run(t, Spec{Path: script(t, `printf 'ok\377\376end'; printf 'e\300rr' >&2; exit 1`)})
	require.Equal(t, "ok\uFFFDend", res.JSON["stdout"])
	require.Equal(t, "e\uFFFDrr", res.JSON["error"])
	raw, err := json.Marshal(res.JSON)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, "ok\uFFFDend", back["stdout"])
}
