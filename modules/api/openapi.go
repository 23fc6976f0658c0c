package api

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
	yaml "go.yaml.in/yaml/v3"
)

// openapiFS holds the contract: base.yaml (info, servers, security schemes,
// shared components) plus one fragment per route group. A fragment is a
// partial document with `paths` and optionally `components`; fragments are
// merged at start-up and a duplicate path or component name is an error.
//
//go:embed openapi/*.yaml
var openapiFS embed.FS

// loadSpec merges the fragments and validates the result with kin-openapi.
func loadSpec(ctx context.Context) (*openapi3.T, []byte, error) {
	names, err := fs.Glob(openapiFS, "openapi/*.yaml")
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names) // base.yaml first is not required: merging is order-independent
	merged := map[string]any{}
	for _, name := range names {
		raw, err := openapiFS.ReadFile(name)
		if err != nil {
			return nil, nil, err
		}
		var frag map[string]any
		if err := yaml.Unmarshal(raw, &frag); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := mergeFragment(merged, frag, name, ""); err != nil {
			return nil, nil, err
		}
	}
	js, err := json.Marshal(merged)
	if err != nil {
		return nil, nil, fmt.Errorf("openapi: encode merged document: %w", err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(js)
	if err != nil {
		return nil, nil, fmt.Errorf("openapi: load merged document: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, nil, fmt.Errorf("openapi: invalid document: %w", err)
	}
	return doc, js, nil
}

// mergeFragment deep-merges maps; two fragments defining the same leaf (a
// path+method, a schema) is reported with both the file and the key path.
func mergeFragment(dst, src map[string]any, file, at string) error {
	for k, v := range src {
		key := at + "/" + k
		cur, exists := dst[k]
		if !exists {
			dst[k] = v
			continue
		}
		cm, ok1 := cur.(map[string]any)
		sm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 || key == "/openapi" || strings.Count(key, "/") >= 3 {
			return fmt.Errorf("openapi: %s: %s is defined twice", file, key)
		}
		if err := mergeFragment(cm, sm, file, key); err != nil {
			return err
		}
	}
	return nil
}

// validator checks requests against the operation of their route.
type validator struct {
	doc *openapi3.T
}

func (v *validator) operation(method, path string) (*openapi3.PathItem, *openapi3.Operation) {
	item := v.doc.Paths.Find(path)
	if item == nil {
		return nil, nil
	}
	return item, item.GetOperation(method)
}

// middleware validates parameters and the body of r against the route's
// operation. Authentication is not re-checked here (the auth middleware ran
// first). Errors become 400 (unparseable input, bad parameters) or 422
// (body violates the schema) with the JSON field path in details.
func (v *validator) middleware(rt Route) echo.MiddlewareFunc {
	item, op := v.operation(rt.Method, rt.Path)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if op == nil { // the parity test prevents this; fail closed anyway
			return func(echo.Context) error {
				return &APIError{Status: http.StatusNotImplemented, Code: "NOT_IMPLEMENTED", Message: "operation not in the API contract"}
			}
		}
		route := &routers.Route{Spec: v.doc, Path: rt.Path, PathItem: item, Method: rt.Method, Operation: op}
		return func(c echo.Context) error {
			params := map[string]string{}
			for i, n := range c.ParamNames() {
				params[n] = c.ParamValues()[i]
			}
			in := &openapi3filter.RequestValidationInput{
				Request: c.Request(), PathParams: params, Route: route,
				Options: &openapi3filter.Options{
					AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
					MultiError:          true,
					SkipSettingDefaults: true,
				},
			}
			if err := openapi3filter.ValidateRequest(c.Request().Context(), in); err != nil {
				return validationError(err)
			}
			return next(c)
		}
	}
}

// fieldProblem is one schema violation.
type fieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func validationError(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return maxErr
	}
	var problems []fieldProblem
	status, code := http.StatusUnprocessableEntity, "VALIDATION_ERROR"
	var walk func(error)
	walk = func(e error) {
		// Type switches, not errors.As: openapi3.MultiError.As matches any
		// element, which would flatten parameter errors into body errors.
		switch x := e.(type) {
		case openapi3.MultiError:
			for _, y := range x {
				walk(y)
			}
			return
		case *openapi3filter.RequestError:
			if x.Parameter != nil {
				status, code = http.StatusBadRequest, "BAD_REQUEST"
				problems = append(problems, fieldProblem{Field: x.Parameter.Name, Message: paramMessage(x)})
				return
			}
			switch inner := x.Err.(type) {
			case *openapi3.SchemaError:
				problems = append(problems, schemaProblem(inner))
				return
			case openapi3.MultiError:
				walk(inner)
				return
			}
			// Undecodable body, wrong content type, missing body.
			status, code = http.StatusBadRequest, "BAD_REQUEST"
			msg := "malformed request body"
			if x.Err == nil && x.Reason != "" {
				msg = x.Reason
			}
			var ct *openapi3filter.ParseError
			if errors.As(x.Err, &ct) && ct.Kind == openapi3filter.KindUnsupportedFormat {
				status, code, msg = http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json"
			}
			problems = append(problems, fieldProblem{Field: "body", Message: msg})
			return
		case *openapi3.SchemaError:
			problems = append(problems, schemaProblem(x))
			return
		}
		status, code = http.StatusBadRequest, "BAD_REQUEST"
		problems = append(problems, fieldProblem{Field: "", Message: "invalid request"})
	}
	walk(err)
	msg := "request validation failed"
	if len(problems) > 0 {
		p := problems[0]
		msg = strings.TrimPrefix(p.Field+": "+p.Message, ": ")
	}
	return &APIError{Status: status, Code: code, Message: msg, Details: map[string]any{"errors": problems}}
}

func paramMessage(e *openapi3filter.RequestError) string {
	var schErr *openapi3.SchemaError
	if errors.As(e.Err, &schErr) {
		return schErr.Reason
	}
	if e.Reason != "" {
		return e.Reason
	}
	return "invalid value"
}

// schemaProblem renders a schema error with a dotted field path, e.g.
// grants.2.actions (never the offending value, which could be a secret).
func schemaProblem(e *openapi3.SchemaError) fieldProblem {
	path := strings.Join(e.JSONPointer(), ".")
	if path == "" {
		path = "body"
	}
	reason := e.Reason
	if reason == "" {
		reason = "invalid value"
	}
	return fieldProblem{Field: path, Message: reason}
}
