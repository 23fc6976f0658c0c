// Package api is the module that serves the REST API under /api/v1 and /auth,
// the OpenAPI document at /api-spec/openapi.json and its docs page at
// /api/docs.
//
// # Adding a resource group
//
//  1. Write handlers in <resource>.go as echo.HandlerFunc methods on
//     *Module that return errors (domain.ErrNotFound → 404,
//     domain.ErrConflict → 409, *domain.ValidationError → 422,
//     domain.ErrForbidden → 403, *APIError for anything else); never write
//     an error response yourself. Wrap single objects with data(c, status,
//     v) and lists with paged/pageSlice (page/page_size, newest first).
//  2. Add func (m *Module) <resource>Routes() []Route in the same file —
//     each Route is data: Method, OpenAPI-style Path (/api/v1/rules/{ref}),
//     OperationID, Auth (Public, Users, or Users.Plus(token types such as
//     "execution"/"sensor")) and Handler — and append it in routes.go.
//  3. Describe the operations in openapi/<resource>.yaml (a fragment with
//     `paths` and optional `components`); request bodies are validated
//     against it before the handler runs, so set additionalProperties: false
//     and bounds on every field.
//  4. Authorize inside the handler with the access package: load the row,
//     return 404 when access.CanRead (or CanSeeKey…) fails (spec §9.1
//     Hiding), then 403 when the mutating action is not allowed.
//  5. Give every route a row in the authorization matrix (the test fails
//     until you do): register a matrixGroup from an init func in your own
//     <resource>_matrix_test.go with the expected status per role, a fixture
//     creating the objects your routes target, and the request (path and
//     body) per route. The OpenAPI parity and fuzz tests pick the routes up
//     automatically.
//
// Mutating requests are audited automatically (audit_log) by operation id.
package api
