package notifier

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseNotificationEntityIDs(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tc := range []struct {
		channel, payload string
		wantType         string
		wantID           int64
	}{
		{"execution_created", `{"entity_type":"execution","entity_id":5,"id":5}`, "execution", 5},
		{"inquiry_created", `{"entity_type":"inquiry","id":9,"execution":5}`, "inquiry", 9},
		{"rule_lifecycle_changed", `{"entity_type":"rule_lifecycle","rule_id":3}`, "rule_lifecycle", 3},
		{"attune_notifications", `{"id":77,"entity_type":"execution","entity":"12","activity":"x"}`, "execution", 12},
	} {
		n, err := parseNotification(tc.channel, tc.payload, now)
		require.NoError(t, err, tc.payload)
		require.Equal(t, tc.wantType, n.EntityType)
		require.Equal(t, tc.wantID, n.EntityID, tc.payload)
	}
	for _, bad := range []string{
		`not json`, `[]`, `{"entity_id":1}`, `{"entity_type":"execution"}`,
		// a table row about a non-numeric entity must not fall back to the row id
		`{"id":77,"entity_type":"execution","entity":"abc","activity":"x"}`,
	} {
		_, err := parseNotification("attune_notifications", bad, now)
		require.Error(t, err, bad)
	}
}
