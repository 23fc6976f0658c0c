package rabbitmq

import (
	"os"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
)

// testURL is the broker used by tests (never logged: it holds credentials).
func testURL() string {
	if u := os.Getenv("ATTUNE_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// breakNetwork closes the raw TCP connection under the bus, as a network
// failure or broker crash would, without touching the shared broker.
func (b *Bus) breakNetwork(t testing.TB) {
	c := b.netConn.Load()
	require.NotNil(t, c)
	require.NoError(t, (*c).Close())
}

// deleteAll removes every queue this bus declared and its exchanges, using
// a separate connection so it works after Close.
func (b *Bus) deleteAll(t testing.TB) {
	conn, err := amqp.Dial(testURL())
	require.NoError(t, err)
	defer conn.Close()
	b.namesMu.Lock()
	names := make([]string, 0, len(b.declared))
	for n := range b.declared {
		names = append(names, n)
	}
	b.namesMu.Unlock()
	for _, n := range names {
		ch, err := conn.Channel()
		require.NoError(t, err)
		_, err = ch.QueueDelete(n, false, false, false)
		require.NoError(t, err, "delete queue %s", n)
		_ = ch.Close()
	}
	ch, err := conn.Channel()
	require.NoError(t, err)
	defer ch.Close()
	for _, e := range bus.Exchanges() {
		require.NoError(t, ch.ExchangeDelete(b.name(e.Name), false, false))
	}
}
