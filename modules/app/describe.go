package app

import "github.com/attune-system/attune/modules/kernel"

// Describe returns every module definition and the role aliases, for
// `attune roles`. Nothing is constructed.
func Describe() ([]kernel.Definition, map[string][]string) {
	reg := kernel.NewRegistry()
	(&App{}).define(reg)
	return reg.Definitions(), reg.Aliases()
}

// LoginHints tells a person how to sign in once the process is ready.
func (a *App) LoginHints() []string {
	hasAPI := false
	for _, r := range a.roles {
		hasAPI = hasAPI || r == "api"
	}
	if !hasAPI {
		return nil
	}
	hints := []string{
		"  Health:   " + a.HTTPURL() + "/readyz?verbose",
		"  API docs: " + a.HTTPURL() + "/api/docs",
	}
	if a.cfg.Security.AdminPassword != "" {
		hints = append(hints, "  Log in as "+a.cfg.Security.AdminLogin+" with security.admin_password.")
	} else {
		hints = append(hints, "  Log in as "+a.cfg.Security.AdminLogin+
			" with the password printed once when the admin was first created (set security.admin_password to choose it).")
	}
	return hints
}
