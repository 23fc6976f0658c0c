package api

// routes is THE route table: every API operation, assembled from one
// function per resource group. The auth-matrix, OpenAPI-parity and fuzz
// tests all iterate it, so a group added here is covered automatically.
func (m *Module) routes() []Route {
	groups := [][]Route{
		m.authRoutes(),
		m.identityRoutes(),
		m.integrationTokenRoutes(),
		m.permissionRoutes(),
		m.keyRoutes(),
		m.auditRoutes(),
	}
	var out []Route
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
