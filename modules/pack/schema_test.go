package pack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const flatSchema = `
name: {type: string, required: true}
count: {type: integer, default: 3, minimum: 1, maximum: 10}
token: {type: string, secret: true}
headers:
  type: object
  properties:
    auth: {type: string, secret: true}
    mode: {type: string, default: fast}
`

const jsonSchemaForm = `
type: object
required: [name]
properties:
  name: {type: string}
  count: {type: integer, default: 3, minimum: 1, maximum: 10}
  token: {type: string, secret: true}
  headers:
    type: object
    properties:
      auth: {type: string, secret: true}
      mode: {type: string, default: fast}
`

func TestParamSchemaFormsEquivalent(t *testing.T) {
	t.Parallel()
	flat, err := ParseParamSchema([]byte(flatSchema))
	require.NoError(t, err)
	js, err := ParseParamSchema([]byte(jsonSchemaForm))
	require.NoError(t, err)
	require.JSONEq(t, string(flat.JSON()), string(js.JSON()))

	cases := []struct {
		params map[string]any
		err    string
	}{
		{map[string]any{"name": "x"}, ""},
		{map[string]any{}, "Missing required parameter: name"},
		{map[string]any{"name": "x", "count": 0}, "count: minimum: got 0, want 1"},
		{map[string]any{"name": 5}, "name: got number, want string"},
		{map[string]any{"name": "x", "headers": map[string]any{"auth": 1}}, "headers.auth: got number, want string"},
	}
	for _, s := range []*ParamSchema{flat, js} {
		for _, c := range cases {
			err := s.Validate(c.params)
			if c.err == "" {
				require.NoError(t, err)
				continue
			}
			require.EqualError(t, err, c.err)
		}
		require.Equal(t, []string{"headers.auth", "token"}, s.SecretFields())
		require.Equal(t, []string{"name"}, s.Required())
	}
}

func TestApplyDefaults(t *testing.T) {
	t.Parallel()
	s, err := ParseParamSchema([]byte(flatSchema))
	require.NoError(t, err)
	in := map[string]any{"name": "x", "headers": map[string]any{"auth": "a"}}
	out := s.ApplyDefaults(in)
	require.Equal(t, map[string]any{"name": "x", "count": int64(3), "headers": map[string]any{"auth": "a", "mode": "fast"}}, out)
	require.NotContains(t, in, "count", "input must not be modified")
	require.NotContains(t, in["headers"], "mode", "nested input must not be modified")
	require.Equal(t, map[string]any{"name": "y", "count": 7}, s.ApplyDefaults(map[string]any{"name": "y", "count": 7}))
}

func TestParamSchemaRoundTripFromDB(t *testing.T) {
	t.Parallel()
	s, err := ParseParamSchema([]byte(flatSchema))
	require.NoError(t, err)
	again, err := ParseParamSchema(s.JSON())
	require.NoError(t, err)
	require.JSONEq(t, string(s.JSON()), string(again.JSON()))
	require.EqualError(t, again.Validate(nil), "Missing required parameter: name")
}

func TestParamSchemaRejectsRemoteRefs(t *testing.T) {
	t.Parallel()
	_, err := ParseParamSchema([]byte("type: object\nproperties:\n  a: {$ref: 'http://example.com/x.json'}\n"))
	require.Error(t, err)
}
