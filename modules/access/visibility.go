package access

import (
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// CanRead reports whether p may read an object of resource in pack packRef
// with ref (either may be empty when the resource has none).
func CanRead(p *Principal, resource, packRef, ref string) bool {
	return p.Can(rbac.Target{Resource: resource, Action: rbac.ActRead, PackRef: packRef, Ref: ref})
}

// CanDo reports whether p may perform action on resource in pack packRef
// with ref.
func CanDo(p *Principal, resource, action, packRef, ref string) bool {
	return p.Can(rbac.Target{Resource: resource, Action: action, PackRef: packRef, Ref: ref})
}

// KeyTarget describes key k for rbac.Allowed.
func KeyTarget(k store.Key, action string) rbac.Target {
	enc := k.Encrypted
	t := rbac.Target{Resource: rbac.ResKeys, Action: action, Ref: k.Ref, ID: k.ID,
		OwnerType: k.OwnerType, Encrypted: &enc}
	switch k.OwnerType {
	case store.KeyOwnerPack:
		t.OwnerRef, t.PackRef = deref(k.OwnerPackRef), deref(k.OwnerPackRef)
	case store.KeyOwnerAction:
		t.OwnerRef = deref(k.OwnerActionRef)
	case store.KeyOwnerSensor:
		t.OwnerRef = deref(k.OwnerSensorRef)
	case store.KeyOwnerIdentity:
		t.OwnerRef = k.Owner
		if k.OwnerIdentity != nil {
			t.OwnerIdentity = *k.OwnerIdentity
		}
	case store.KeyOwnerSystem:
		t.OwnerRef = "system"
	}
	return t
}

// CanSeeKey reports whether p may know key k exists (read grant, plus for
// identity-owned keys: being the owner or holding keys:manage).
func CanSeeKey(p *Principal, k store.Key) bool {
	if !p.Can(KeyTarget(k, rbac.ActRead)) {
		return false
	}
	if k.OwnerType == store.KeyOwnerIdentity {
		owner := k.OwnerIdentity != nil && *k.OwnerIdentity == p.IdentityID
		return owner || p.Can(rbac.Target{Resource: rbac.ResKeys, Action: rbac.ActManage})
	}
	return true
}

// CanKey reports whether p may perform action on key k; it implies CanSeeKey.
func CanKey(p *Principal, k store.Key, action string) bool {
	return CanSeeKey(p, k) && p.Can(KeyTarget(k, action))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
