package app

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConfigurationDocListsEveryKey keeps docs/configuration.md true: every
// key the loader accepts must be documented with its environment name.
func TestConfigurationDocListsEveryKey(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	for key := range leafKeys(reflect.TypeOf(Config{}), "") {
		require.Contains(t, string(doc), "| `"+key+"` |", "docs/configuration.md misses %s", key)
		require.True(t, strings.Contains(string(doc), envName(key)), "docs/configuration.md misses %s", envName(key))
	}
}
