package api

import (
	"embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// docsFS is the vendored Swagger UI (swagger-ui-dist 5.35.0, Apache-2.0,
// fetched with `npm pack swagger-ui-dist@5 --ignore-scripts`; only the
// bundle and its stylesheet are kept). Nothing is loaded from the internet.
//
//go:embed docsui/swagger-ui-bundle.js docsui/swagger-ui.css docsui/LICENSE
var docsFS embed.FS

// docsCSP allows only this origin. Swagger UI sets inline style attributes,
// hence 'unsafe-inline' for styles only; scripts must come from self, so
// the initializer is a separate file rather than an inline <script>.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

const docsHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Attune API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>
`

const docsInit = `window.ui = SwaggerUIBundle({url: "/api-spec/openapi.json", dom_id: "#swagger-ui", deepLinking: true});
`

// staticRoutes serves the contract and its docs page. They are not API
// operations (no auth, no envelope) and so are not in the route table or
// the OpenAPI document.
func (m *Module) staticRoutes(e *echo.Echo) {
	e.GET("/api-spec/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/json", m.docJSON)
	})
	serve := func(path, ctype string, body func() ([]byte, error)) {
		e.GET(path, func(c echo.Context) error {
			b, err := body()
			if err != nil {
				return err
			}
			c.Response().Header().Set("Content-Security-Policy", docsCSP)
			c.Response().Header().Set("Cache-Control", "public, max-age=3600")
			return c.Blob(http.StatusOK, ctype, b)
		})
	}
	constant := func(s string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(s), nil } }
	file := func(n string) func() ([]byte, error) { return func() ([]byte, error) { return docsFS.ReadFile(n) } }
	serve("/api/docs", "text/html; charset=utf-8", constant(docsHTML))
	serve("/api/docs/init.js", "text/javascript; charset=utf-8", constant(docsInit))
	serve("/api/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", file("docsui/swagger-ui-bundle.js"))
	serve("/api/docs/swagger-ui.css", "text/css; charset=utf-8", file("docsui/swagger-ui.css"))
}
