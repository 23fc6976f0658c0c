package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Pack administration (spec §9.2 Packs). Packs are code: registering,
// installing and uploading need packs:install (core.editor, core.admin);
// removal needs packs:delete on the pack. Every mutation goes through
// packsvc, the same code path as `attune pack …`, so the CLI and the API can
// never register a pack differently. Environments are not built here
// (SkipEnvs): workers build them before first use.
func (m *Module) packRoutes() []Route {
	base := "/api/v1/packs"
	rs := []Route{
		{Method: "GET", Path: base, OperationID: "listPacks", Auth: Users, Handler: m.listPacks},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getPack", Auth: Users, Handler: m.getPack},
		{Method: "DELETE", Path: base + "/{ref}", OperationID: "deletePack", Auth: Users, Handler: m.deletePack},
		{Method: "POST", Path: base + "/register", OperationID: "registerPack", Auth: Users, Handler: m.registerPack},
		{Method: "POST", Path: base + "/install", OperationID: "installPack", Auth: Users, Handler: m.installPack},
		{Method: "POST", Path: base + "/upload", OperationID: "uploadPack", Auth: Users, Handler: m.uploadPack},
	}
	for _, kind := range []string{"actions", "triggers", "sensors", "rules", "runtimes", "policies"} {
		rs = append(rs, Route{Method: "GET", Path: base + "/{ref}/" + kind,
			OperationID: "listPack" + strings.ToUpper(kind[:1]) + kind[1:], Auth: Users, Handler: m.listPackComponents(kind)})
	}
	return rs
}

// startPacks builds the shared pack service once per Start.
func (m *Module) startPacks() error {
	if m.d.PacksBaseDir == "" {
		return nil
	}
	svc, err := packsvc.New(packsvc.Options{Store: m.d.Store, PacksDir: m.d.PacksBaseDir, Log: m.d.Log})
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	m.packs.Store(svc)
	return nil
}

func (m *Module) packService() (*packsvc.Service, error) {
	if s := m.packs.Load(); s != nil {
		return s, nil
	}
	return nil, &APIError{Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE",
		Message: "pack management is unavailable: packs_base_dir is not configured"}
}

// rowJSON renders a store row with upstream (column) field names: each
// exported field becomes its snake_case name (PackRef → pack_ref, SourceURL
// → source_url), so responses track the schema without a hand-written DTO
// per table. drop lists fields to leave out.
func rowJSON(v any, drop ...string) map[string]any {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	out := make(map[string]any, rt.NumField())
	for i := range rt.NumField() {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		name := snakeCase(f.Name)
		if contains(drop, name) {
			continue
		}
		out[name] = rv.Field(i).Interface()
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// snakeCase converts a Go field name (with initialisms) to snake_case.
func snakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && unicode.IsLower(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1]) && i > 0 && unicode.IsUpper(r[i-1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// canSee answers 404 (spec §9.1 Hiding) unless p may read the object.
func canSee(p *access.Principal, resource, packRef, ref string) error {
	if !access.CanRead(p, resource, packRef, ref) {
		return domain.NotFoundf("%s %q", strings.TrimSuffix(resource, "s"), ref)
	}
	return nil
}

// mayDo answers 403 unless p may perform action on the object.
func mayDo(p *access.Principal, resource, action, packRef, ref string) error {
	if !access.CanDo(p, resource, action, packRef, ref) {
		return domain.ErrForbidden
	}
	return nil
}

func countsJSON(c store.PackCounts) map[string]int64 {
	return map[string]int64{"actions": c.Actions, "triggers": c.Triggers, "rules": c.Rules, "sensors": c.Sensors,
		"runtimes": c.Runtimes, "policies": c.Policies, "permission_sets": c.PermissionSets, "workflows": c.Workflows}
}

func (m *Module) packJSON(ctx context.Context, pk store.Pack) (map[string]any, error) {
	c, err := m.d.Store.PackComponentCounts(ctx, pk.ID)
	if err != nil {
		return nil, err
	}
	out := rowJSON(pk)
	out["counts"] = countsJSON(c)
	return out, nil
}

func (m *Module) listPacks(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	all, err := m.d.Store.PackList(ctx)
	if err != nil {
		return err
	}
	var vis []store.Pack
	for _, pk := range all {
		if access.CanRead(p, rbac.ResPacks, pk.Ref, pk.Ref) {
			vis = append(vis, pk)
		}
	}
	page := pageSlice(pg, vis)
	out := ListResponse[map[string]any]{Items: make([]map[string]any, len(page.Items)), Pagination: page.Pagination}
	for i, pk := range page.Items {
		if out.Items[i], err = m.packJSON(ctx, pk); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, out)
}

// visiblePack loads pack {ref} if the caller may read it; otherwise 404.
func (m *Module) visiblePack(c echo.Context, p *access.Principal) (store.Pack, error) {
	ref := c.Param("ref")
	if err := canSee(p, rbac.ResPacks, ref, ref); err != nil {
		return store.Pack{}, err
	}
	return m.d.Store.PackGetByRef(c.Request().Context(), ref)
}

func (m *Module) getPack(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pk, err := m.visiblePack(c, p)
	if err != nil {
		return err
	}
	out, err := m.packJSON(c.Request().Context(), pk)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, out)
}

func (m *Module) deletePack(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pk, err := m.visiblePack(c, p)
	if err != nil {
		return err
	}
	if err := mayDo(p, rbac.ResPacks, rbac.ActDelete, pk.Ref, pk.Ref); err != nil {
		return err
	}
	svc, err := m.packService()
	if err != nil {
		return err
	}
	if err := svc.Remove(c.Request().Context(), pk.Ref); err != nil {
		return err
	}
	return success(c, "pack "+pk.Ref+" removed")
}

// mayInstall: packs are code, so every way of adding one needs packs:install.
func mayInstall(p *access.Principal) error {
	if !p.Can(rbac.Target{Resource: rbac.ResPacks, Action: rbac.ActInstall}) {
		return domain.ErrForbidden
	}
	return nil
}

func (m *Module) registerOpts(p *access.Principal, force bool) packsvc.RegisterOptions {
	id := p.IdentityID
	return packsvc.RegisterOptions{Force: force, InstalledBy: &id, Method: packsvc.MethodAPI, SkipEnvs: true}
}

// packResult renders a registration and maps pack problems (bad YAML,
// unreadable path, failed fetch) to 422 naming the input field: they are the
// caller's input, not server faults.
func (m *Module) packResult(c echo.Context, field string, res packsvc.Result, err error) error {
	if err != nil {
		var verr *domain.ValidationError
		if errors.As(err, &verr) || errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) ||
			errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return err
		}
		return domain.NewValidationError(field, err.Error())
	}
	pk, err := m.packJSON(c.Request().Context(), res.Pack)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, map[string]any{"pack": pk, "unchanged": res.Unchanged, "checksum": res.Checksum,
		"counts": countsJSON(res.Counts), "removed": res.Removed, "tests_skipped": true})
}

func (m *Module) registerPack(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var req struct {
		Path  string `json:"path"`
		Force bool   `json:"force"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := mayInstall(p); err != nil {
		return err
	}
	if !filepath.IsAbs(req.Path) {
		return domain.NewValidationError("path", "must be an absolute directory path on the server")
	}
	svc, err := m.packService()
	if err != nil {
		return err
	}
	opts := m.registerOpts(p, req.Force)
	opts.SourceType, opts.SourceURL = packsvc.SourceLocal, req.Path
	res, err := svc.Register(c.Request().Context(), req.Path, opts)
	return m.packResult(c, "path", res, err)
}

func (m *Module) installPack(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var req struct {
		Source  string `json:"source"`
		RefSpec string `json:"ref_spec"`
		Force   bool   `json:"force"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := mayInstall(p); err != nil {
		return err
	}
	if req.Source == "" {
		return domain.NewValidationError("source", "is required")
	}
	svc, err := m.packService()
	if err != nil {
		return err
	}
	res, err := svc.Install(c.Request().Context(), req.Source, req.RefSpec, m.registerOpts(p, req.Force))
	return m.packResult(c, "source", res, err)
}

// uploadPack registers a pack from a multipart upload (field "file", a
// .tar.gz/.tgz or .zip). The whole request is bounded by server.max_body_size
// and the archive's entries by the pack service's limits.
func (m *Module) uploadPack(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if err := mayInstall(p); err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return maxErr
		}
		return domain.NewValidationError("file", "a multipart file field named file is required")
	}
	kind := ""
	switch name := strings.ToLower(fh.Filename); {
	case strings.HasSuffix(name, ".tar.gz"), strings.HasSuffix(name, ".tgz"):
		kind = "tar.gz"
	case strings.HasSuffix(name, ".zip"):
		kind = "zip"
	default:
		return domain.NewValidationError("file", "must be a .tar.gz, .tgz or .zip archive")
	}
	svc, err := m.packService()
	if err != nil {
		return err
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	opts := m.registerOpts(p, c.FormValue("force") == "true")
	opts.SourceURL = "upload:" + filepath.Base(fh.Filename)
	res, err := svc.InstallArchive(c.Request().Context(), f, kind, opts)
	return m.packResult(c, "file", res, err)
}

// listPackComponents lists one kind of component of a visible pack, keeping
// only the rows the caller may read.
func (m *Module) listPackComponents(kind string) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := mustPrincipal(c)
		if err != nil {
			return err
		}
		pk, err := m.visiblePack(c, p)
		if err != nil {
			return err
		}
		pg, err := parsePage(c)
		if err != nil {
			return err
		}
		items, err := m.componentsOf(c.Request().Context(), p, kind, pk)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, pageSlice(pg, items))
	}
}

func (m *Module) componentsOf(ctx context.Context, p *access.Principal, kind string, pk store.Pack) ([]map[string]any, error) {
	switch kind {
	case "actions":
		return m.actionItems(ctx, p, pk.Ref)
	case "triggers":
		return m.triggerItems(ctx, p, func(t store.Trigger) bool { return t.Pack != nil && *t.Pack == pk.ID })
	case "sensors":
		return m.sensorItems(ctx, p, pk.Ref)
	case "rules":
		return m.ruleItems(ctx, p, ruleFilter{packRef: pk.Ref})
	case "runtimes":
		return m.runtimeItems(ctx, p, func(r store.Runtime) bool { return r.Pack != nil && *r.Pack == pk.ID })
	case "policies":
		return m.policyItems(ctx, p, pk.Ref)
	}
	return nil, fmt.Errorf("unknown component kind %q", kind)
}
