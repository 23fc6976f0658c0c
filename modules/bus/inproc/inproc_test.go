package inproc_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/bustest"
	"github.com/attune-system/attune/modules/bus/inproc"
)

func TestContract(t *testing.T) {
	t.Parallel()
	bustest.RunContract(t, func(t *testing.T) bus.Bus {
		b, err := inproc.New(inproc.Options{Prefix: "t."})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}
