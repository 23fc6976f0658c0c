package rabbitmq

import (
	"encoding/json"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/attune-system/attune/modules/bus"
)

// deliveryCount reads the quorum-queue x-delivery-count header: the number of
// earlier deliveries that were returned (absent on the first delivery).
func deliveryCount(h amqp.Table) int {
	switch v := h["x-delivery-count"].(type) {
	case int64:
		return int(v)
	case int32:
		return int(v)
	case int:
		return v
	}
	return 0
}

// firstDeath extracts the original exchange and routing key of a
// dead-lettered message from its x-death header.
func firstDeath(h amqp.Table) (exchange, key string, ok bool) {
	deaths, _ := h["x-death"].([]any)
	if len(deaths) == 0 {
		return "", "", false
	}
	death, _ := deaths[len(deaths)-1].(amqp.Table) // oldest death is last
	exchange, _ = death["exchange"].(string)
	keys, _ := death["routing-keys"].([]any)
	if len(keys) > 0 {
		key, _ = keys[0].(string)
	}
	return exchange, key, exchange != ""
}

func (b *Bus) unprefix(name string) string { return strings.TrimPrefix(name, b.opts.Prefix) }

func (b *Bus) delivery(m bus.Message, d amqp.Delivery, attempt int) bus.Delivery {
	return bus.Delivery{Message: m, Exchange: b.unprefix(d.Exchange), RoutingKey: d.RoutingKey,
		Redelivered: d.Redelivered || attempt > 1, Attempt: attempt}
}

// rawPayload keeps an undecodable body inspectable as a JSON string.
func rawPayload(body []byte) json.RawMessage {
	b, _ := json.Marshal(string(body))
	return b
}
