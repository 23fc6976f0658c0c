package rbac

// Built-in permission set refs shipped in the core pack (spec §9.4).
const (
	CoreAdmin      = "core.admin"
	CoreEditor     = "core.editor"
	CoreExecutor   = "core.executor"
	CoreViewer     = "core.viewer"
	CoreKeyCreator = "core.key_creator"
	CorePack       = "core"
)

// BuiltinRefs lists the built-in permission set refs.
var BuiltinRefs = []string{CoreAdmin, CoreEditor, CoreExecutor, CoreViewer, CoreKeyCreator}

var viewerRead = []string{
	ResPacks, ResActions, ResPolicies, ResQueues, ResQueueItems, ResRules, ResTriggers,
	ResExecutions, ResKeys, ResArtifacts, ResRuntimes, ResWorkers,
}

// BuiltinGrants returns a fresh copy of the grants of a built-in permission
// set, or nil for any other ref. The core pack's permission-set YAML carries
// the same data; keep them in sync.
func BuiltinGrants(ref string) []Grant {
	switch ref {
	case CoreViewer:
		return readGrants(viewerRead)
	case CoreExecutor:
		return append(readGrants(viewerRead),
			Grant{Resource: ResActions, Actions: []string{ActExecute}},
			Grant{Resource: ResDashboards, Actions: []string{ActRead}})
	case CoreEditor:
		return []Grant{
			{Resource: ResPacks, Actions: []string{ActRead, ActCreate, ActInstall, ActConfigure}},
			{Resource: ResActions, Actions: []string{ActRead, ActCreate, ActUpdate, ActExecute}},
			{Resource: ResRules, Actions: []string{ActRead, ActCreate, ActUpdate}},
			{Resource: ResExecutions, Actions: []string{ActRead, ActCancel}},
			{Resource: ResKeys, Actions: []string{ActRead, ActUpdate, ActDecrypt}},
			{Resource: ResRuntimes, Actions: []string{ActRead, ActCreate, ActUpdate}},
			{Resource: ResQueues, Actions: []string{ActCreate, ActRead, ActUpdate, ActDelete}},
		}
	case CoreAdmin:
		out := make([]Grant, 0, len(Resources))
		for _, r := range Resources {
			out = append(out, Grant{Resource: r, Actions: append([]string(nil), Actions...)})
		}
		return out
	case CoreKeyCreator:
		enc := true
		return []Grant{{Resource: ResKeys, Actions: []string{ActCreate}, Constraints: &Constraints{
			OwnerTypes: []string{"pack", "action"},
			OwnerRefs:  []string{"core", "core.generate_ssh_key_pair"},
			Encrypted:  &enc,
		}}}
	}
	return nil
}

func readGrants(resources []string) []Grant {
	out := make([]Grant, 0, len(resources))
	for _, r := range resources {
		out = append(out, Grant{Resource: r, Actions: []string{ActRead}})
	}
	return out
}

// ImplicitGrants are held by every signed-in user (spec T3.11): the core pack
// and its actions and triggers are visible, and core actions executable. The
// auth layer appends them to the effective grants of access and integration
// tokens; they are not part of any stored permission set.
func ImplicitGrants() []Grant {
	core := func() *Constraints { return &Constraints{PackRefs: []string{CorePack}} }
	return []Grant{
		{Resource: ResPacks, Actions: []string{ActRead}, Constraints: core()},
		{Resource: ResActions, Actions: []string{ActRead, ActExecute}, Constraints: core()},
		{Resource: ResTriggers, Actions: []string{ActRead}, Constraints: core()},
	}
}
