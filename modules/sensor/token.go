package sensor

import (
	"context"
	"fmt"
	"time"

	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
)

// tokenTTL is the sensor token lifetime (spec §5.1). The supervisor restarts
// a process at 80 % of it, which hands the sensor a fresh token.
const tokenTTL = 24 * time.Hour

// sensorToken issues the sensor-scoped JWT: type sensor, scope "sensor",
// metadata trigger_types / sensor_ref / pack_ref, subject the sensor's
// service identity (store.SensorIdentityEnsure). The API only lets it create
// events of those trigger types (rbac.SensorGrants).
func (m *Module) sensorToken(ctx context.Context, s *sensorSpec) (string, error) {
	id, err := m.d.Store.SensorIdentityEnsure(ctx, s.Ref)
	if err != nil {
		return "", fmt.Errorf("sensor %s: service identity: %w", s.Ref, err)
	}
	tok, err := m.issuer.Issue(security.Claims{
		Subject: id, Login: store.SensorIdentityLoginPrefix + s.Ref, TokenType: security.TokenSensor, Scope: "sensor",
		Metadata: map[string]any{
			security.MetaTriggerTypes: s.TriggerRefs,
			security.MetaSensorRef:    s.Ref,
			security.MetaPackRef:      s.PackRef,
		},
	}, tokenTTL)
	if err != nil {
		return "", fmt.Errorf("sensor %s: issue token: %w", s.Ref, err)
	}
	return tok, nil
}
