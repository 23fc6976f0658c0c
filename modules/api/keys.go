package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) keyRoutes() []Route {
	base := "/api/v1/keys"
	reader := Users.Plus("execution", "sensor") // actions and sensors read their secrets
	return []Route{
		{Method: "GET", Path: base, OperationID: "listKeys", Auth: Users, Handler: m.listKeys},
		// Actions keep state in their pack's keys (RBAC limits an execution
		// token to keys owned by its own pack or action).
		{Method: "POST", Path: base, OperationID: "createKey", Auth: Users.Plus("execution"), Handler: m.createKey},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getKey", Auth: reader, Handler: m.getKey},
		{Method: "PUT", Path: base + "/{ref}", OperationID: "updateKey", Auth: Users.Plus("execution"), Handler: m.updateKey},
		{Method: "DELETE", Path: base + "/{ref}", OperationID: "deleteKey", Auth: Users, Handler: m.deleteKey},
	}
}

// maxKeyValueChars bounds the JSON-serialised value (spec §9.5).
const maxKeyValueChars = 10000

// maxFilteredKeys caps the rows scanned for callers whose visibility must be
// decided per row (anyone without an unconstrained keys:read + keys:manage).
const maxFilteredKeys = 10000

var localRefRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// KeyResponse is the public view of a key. Value is omitted from lists and
// null for encrypted keys unless the caller holds keys:decrypt.
type KeyResponse struct {
	ID             int64            `json:"id"`
	Ref            string           `json:"ref"`
	LocalRef       *string          `json:"local_ref"`
	OwnerType      string           `json:"owner_type"`
	Owner          string           `json:"owner"`
	OwnerIdentity  *int64           `json:"owner_identity"`
	OwnerPackRef   *string          `json:"owner_pack_ref"`
	OwnerActionRef *string          `json:"owner_action_ref"`
	OwnerSensorRef *string          `json:"owner_sensor_ref"`
	Name           string           `json:"name"`
	Encrypted      bool             `json:"encrypted"`
	Value          *json.RawMessage `json:"value,omitempty"`
	Created        time.Time        `json:"created"`
	Updated        time.Time        `json:"updated"`
}

func keyResponse(k store.Key) KeyResponse {
	return KeyResponse{ID: k.ID, Ref: k.Ref, LocalRef: k.LocalRef, OwnerType: k.OwnerType, Owner: k.Owner,
		OwnerIdentity: k.OwnerIdentity, OwnerPackRef: k.OwnerPackRef, OwnerActionRef: k.OwnerActionRef,
		OwnerSensorRef: k.OwnerSensorRef, Name: k.Name, Encrypted: k.Encrypted, Created: k.Created, Updated: k.Updated}
}

func (m *Module) listKeys(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if !p.Can(rbac.Target{Resource: rbac.ResKeys, Action: rbac.ActRead}) &&
		len(grantsFor(p, rbac.ResKeys, rbac.ActRead)) == 0 {
		return domain.ErrForbidden
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	f := store.KeyFilter{OwnerType: c.QueryParam("owner_type"), Owner: c.QueryParam("owner")}
	ctx := c.Request().Context()
	// Fast path: callers who may see every key page in SQL.
	if rbac.Unconstrained(p.Subject, rbac.ResKeys, rbac.ActRead) && p.Can(rbac.Target{Resource: rbac.ResKeys, Action: rbac.ActManage}) {
		rows, err := m.d.Store.KeyListPage(ctx, f, pg.Offset(), pg.Limit())
		if err != nil {
			return err
		}
		var total *int64
		if pg.IncludeTotal {
			n, err := m.d.Store.KeyCount(ctx, f)
			if err != nil {
				return err
			}
			total = &n
		}
		out := make([]KeyResponse, len(rows))
		for i, k := range rows {
			out[i] = keyResponse(k)
		}
		return c.JSON(http.StatusOK, paged(pg, out, total))
	}
	// Per-row visibility (constrained grants, private identity keys): the
	// same check as GET /keys/{ref}, so a list never shows what a read hides.
	rows, err := m.d.Store.KeyListPage(ctx, f, 0, maxFilteredKeys)
	if err != nil {
		return err
	}
	out := []KeyResponse{}
	for _, k := range rows {
		if access.CanSeeKey(p, k) {
			out = append(out, keyResponse(k))
		}
	}
	return c.JSON(http.StatusOK, pageSlice(pg, out))
}

func grantsFor(p *access.Principal, resource, action string) []rbac.Grant {
	var out []rbac.Grant
	for _, g := range p.Subject.Grants {
		if g.Resource == resource {
			for _, a := range g.Actions {
				if a == action {
					out = append(out, g)
					break
				}
			}
		}
	}
	return out
}

type keyWrite struct {
	LocalRef  string          `json:"local_ref"`
	Name      *string         `json:"name"`
	Value     json.RawMessage `json:"value"`
	Encrypted *bool           `json:"encrypted"`
	OwnerType string          `json:"owner_type"`
	Owner     *string         `json:"owner"`
}

// checkValue enforces the size bound and that a value was given.
func checkValue(v json.RawMessage) error {
	if len(v) == 0 || string(v) == "null" {
		return domain.NewValidationError("value", "is required")
	}
	if len(v) > maxKeyValueChars {
		return domain.Invalidf("value", "longer than %d characters", maxKeyValueChars)
	}
	return nil
}

// sealValue encrypts v for key ref, or returns it unchanged.
func (m *Module) sealValue(v json.RawMessage, ref string, encrypted bool) (json.RawMessage, *string, error) {
	if !encrypted {
		return v, nil, nil
	}
	sealed, err := m.box.Encrypt(v, ref)
	if err != nil {
		return nil, nil, err
	}
	js, err := json.Marshal(sealed)
	if err != nil {
		return nil, nil, err
	}
	h := m.box.KeyHash()
	return js, &h, nil
}

func (m *Module) createKey(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var req keyWrite
	if err := bind(c, &req); err != nil {
		return err
	}
	if !localRefRE.MatchString(req.LocalRef) {
		return domain.NewValidationError("local_ref", "1-63 characters of a-z, 0-9, _ and -, starting alphanumeric")
	}
	if err := checkValue(req.Value); err != nil {
		return err
	}
	enc := req.Encrypted == nil || *req.Encrypted // encrypted by default (spec §9.5)
	name := req.LocalRef
	if req.Name != nil {
		name = *req.Name
	}
	if name == "" || len(name) > 255 {
		return domain.NewValidationError("name", "must be 1-255 characters")
	}
	ctx := c.Request().Context()
	nk, err := m.keyOwner(ctx, p, req.OwnerType, req.Owner)
	if err != nil {
		return err
	}
	nk.Ref += "." + req.LocalRef
	nk.LocalRef, nk.Name, nk.Encrypted = &req.LocalRef, name, enc
	probe := store.Key{Ref: nk.Ref, OwnerType: nk.OwnerType, OwnerIdentity: nk.OwnerIdentity,
		OwnerPackRef: nk.OwnerPackRef, OwnerActionRef: nk.OwnerActionRef, OwnerSensorRef: nk.OwnerSensorRef, Encrypted: enc}
	if nk.OwnerIdentity != nil {
		probe.Owner = itoa64(*nk.OwnerIdentity)
	}
	if !p.Can(access.KeyTarget(probe, rbac.ActCreate)) {
		return domain.ErrForbidden
	}
	if nk.OwnerType == store.KeyOwnerIdentity && *nk.OwnerIdentity != p.IdentityID &&
		!p.Can(rbac.Target{Resource: rbac.ResKeys, Action: rbac.ActManage}) {
		return domain.ErrForbidden
	}
	if nk.Value, nk.EncryptionKeyHash, err = m.sealValue(req.Value, nk.Ref, enc); err != nil {
		return err
	}
	k, err := m.d.Store.KeyInsert(ctx, nk)
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, keyResponse(k))
}

// keyOwner resolves owner_type/owner into the owner FK columns and the ref
// prefix (system, identity.<login>, pack.<pack>, action.<ref>, sensor.<ref>).
func (m *Module) keyOwner(ctx context.Context, p *access.Principal, ownerType string, owner *string) (store.NewKey, error) {
	if ownerType == "" {
		ownerType = store.KeyOwnerSystem
	}
	nk := store.NewKey{OwnerType: ownerType}
	need := func() (string, error) {
		if owner == nil || *owner == "" {
			return "", domain.Invalidf("owner", "is required for owner_type %s", ownerType)
		}
		return *owner, nil
	}
	notFound := func(err error, what string) error {
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Invalidf("owner", "unknown %s %q", what, *owner)
		}
		return err
	}
	switch ownerType {
	case store.KeyOwnerSystem:
		if owner != nil && *owner != "" && *owner != "system" {
			return nk, domain.NewValidationError("owner", "must be empty for system keys")
		}
		nk.Ref = "system"
	case store.KeyOwnerIdentity:
		ident, err := m.d.Store.IdentityGet(ctx, p.IdentityID)
		if owner != nil && *owner != "" {
			ident, err = m.d.Store.IdentityGetByLogin(ctx, *owner)
		}
		if err != nil {
			return nk, notFound(err, "identity")
		}
		nk.OwnerIdentity, nk.Ref = &ident.ID, "identity."+ident.Login
	case store.KeyOwnerPack:
		o, err := need()
		if err != nil {
			return nk, err
		}
		pk, err := m.d.Store.PackGetByRef(ctx, o)
		if err != nil {
			return nk, notFound(err, "pack")
		}
		nk.OwnerPack, nk.OwnerPackRef, nk.Ref = &pk.ID, &pk.Ref, "pack."+pk.Ref
	case store.KeyOwnerAction:
		o, err := need()
		if err != nil {
			return nk, err
		}
		a, err := m.d.Store.ActionGetByRef(ctx, o)
		if err != nil {
			return nk, notFound(err, "action")
		}
		nk.OwnerAction, nk.OwnerActionRef, nk.Ref = &a.ID, &a.Ref, "action."+a.Ref
	case store.KeyOwnerSensor:
		o, err := need()
		if err != nil {
			return nk, err
		}
		s, err := m.d.Store.SensorGetByRef(ctx, o)
		if err != nil {
			return nk, notFound(err, "sensor")
		}
		nk.OwnerSensor, nk.OwnerSensorRef, nk.Ref = &s.ID, &s.Ref, "sensor."+s.Ref
	default:
		return nk, domain.Invalidf("owner_type", "must be one of system, identity, pack, action, sensor")
	}
	return nk, nil
}

// visibleKey loads {ref} if the caller may see it; otherwise 404.
func (m *Module) visibleKey(c echo.Context, p *access.Principal) (store.Key, error) {
	k, err := m.d.Store.KeyGetByRef(c.Request().Context(), c.Param("ref"))
	if err != nil {
		return store.Key{}, err
	}
	if !access.CanSeeKey(p, k) {
		return store.Key{}, domain.NotFoundf("key")
	}
	return k, nil
}

func (m *Module) getKey(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	k, err := m.visibleKey(c, p)
	if err != nil {
		return err
	}
	resp := keyResponse(k)
	null := json.RawMessage("null")
	resp.Value = &null
	switch {
	case !k.Encrypted:
		resp.Value = &k.Value
	case access.CanKey(p, k, rbac.ActDecrypt):
		var sealed string
		if err := json.Unmarshal(k.Value, &sealed); err != nil {
			return errors.New("key value is not a sealed string") // 500, logged without the value
		}
		var plain json.RawMessage
		if err := m.box.DecryptRow(sealed, deref(k.EncryptionKeyHash), k.Ref, &plain); err != nil {
			return err
		}
		resp.Value = &plain
	}
	return data(c, http.StatusOK, resp)
}

func (m *Module) updateKey(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	k, err := m.visibleKey(c, p)
	if err != nil {
		return err
	}
	if !access.CanKey(p, k, rbac.ActUpdate) {
		return domain.ErrForbidden
	}
	var req keyWrite
	if err := bind(c, &req); err != nil {
		return err
	}
	name, enc := k.Name, k.Encrypted
	if req.Name != nil {
		name = *req.Name
	}
	if req.Encrypted != nil {
		enc = *req.Encrypted
	}
	if name == "" || len(name) > 255 {
		return domain.NewValidationError("name", "must be 1-255 characters")
	}
	value, hash := k.Value, k.EncryptionKeyHash
	switch {
	case req.Value != nil:
		if err := checkValue(req.Value); err != nil {
			return err
		}
		if value, hash, err = m.sealValue(req.Value, k.Ref, enc); err != nil {
			return err
		}
	case enc != k.Encrypted:
		return domain.NewValidationError("value", "is required when changing encrypted")
	}
	updated, err := m.d.Store.KeyUpdate(c.Request().Context(), k.Ref, name, enc, hash, value)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, keyResponse(updated))
}

func (m *Module) deleteKey(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	k, err := m.visibleKey(c, p)
	if err != nil {
		return err
	}
	if !access.CanKey(p, k, rbac.ActDelete) {
		return domain.ErrForbidden
	}
	if err := m.d.Store.KeyDeleteByRef(c.Request().Context(), k.Ref); err != nil {
		return err
	}
	return success(c, "key deleted")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func itoa64(v int64) string { return itoa(int(v)) }
