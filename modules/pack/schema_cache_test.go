package pack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCachedParamSchemaSharesOneCompilation(t *testing.T) {
	raw := []byte(`{"type":"object","properties":{"n":{"type":"integer","default":3}},"required":["n"]}`)
	a, err := CachedParamSchema(raw)
	require.NoError(t, err)
	b, err := CachedParamSchema(append([]byte(nil), raw...))
	require.NoError(t, err)
	require.Same(t, a, b, "the same text gives the same compiled schema")
	require.Equal(t, map[string]any{"n": int64(3)}, a.ApplyDefaults(nil))

	_, err = CachedParamSchema([]byte(`{"type": 5}`))
	require.Error(t, err, "a bad schema is an error every time, cached or not")
	_, err2 := CachedParamSchema([]byte(`{"type": 5}`))
	require.EqualError(t, err2, err.Error())
}
