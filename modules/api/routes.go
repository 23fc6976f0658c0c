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
		m.packRoutes(),
		m.actionRoutes(),
		m.ruleRoutes(),
		m.triggerRoutes(),
		m.sensorRoutes(),
		m.runtimeRoutes(),
		m.policyRoutes(),
		m.webhookRoutes(),
		m.executionRoutes(),
		m.eventRoutes(),
		m.enforcementRoutes(),
		m.workerRoutes(),
		m.inquiryRoutes(),
	}
	var out []Route
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
