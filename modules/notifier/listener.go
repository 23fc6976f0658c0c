package notifier

import (
	"log/slog"
	"time"

	"github.com/attune-system/attune/modules/store"
)

// ApplicationName marks the LISTEN connection in pg_stat_activity.
const ApplicationName = "attune-notifier"

// newListener LISTENs on every channel and feeds the hub. After every
// reconnect clients are told to resync: PostgreSQL keeps no notifications
// for a dead listener.
func newListener(st *store.Store, log *slog.Logger, h *hub, met *metrics, now func() time.Time) *store.Listener {
	return st.NewListener(store.ListenConfig{
		Channels: Channels, ApplicationName: ApplicationName, Log: log,
		Notify: func(channel, payload string) {
			met.received.WithLabelValues(channel).Inc()
			note, err := parseNotification(channel, payload, now())
			if err != nil {
				log.Warn("dropping malformed notification", "err", err)
				return
			}
			h.publish(note)
		},
		Reconnected: func() {
			met.reconnects.Inc()
			log.Info("notifier: clients told to resync")
			h.resync()
		},
	})
}
