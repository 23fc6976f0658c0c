// Package rbac is attune's permission engine (spec §9.4): grants are
// {resource, actions, constraints}, effective rights are the union of all
// grants (there are no deny rules), every given constraint must hold, and
// anything unknown or missing fails closed. It is pure: callers load grants
// and describe the target; the engine does no I/O.
package rbac

// Resource names a kind of object grants apply to.
const (
	ResPacks        = "packs"
	ResActions      = "actions"
	ResQueues       = "queues"
	ResQueueItems   = "queue_items"
	ResRules        = "rules"
	ResTriggers     = "triggers"
	ResExecutions   = "executions"
	ResEvents       = "events"
	ResEnforcements = "enforcements"
	ResInquiries    = "inquiries"
	ResKeys         = "keys"
	ResArtifacts    = "artifacts"
	ResRuntimes     = "runtimes"
	ResWorkers      = "workers"
	ResRetention    = "retention"
	ResIdentities   = "identities"
	ResPermissions  = "permissions"
	ResAuditLog     = "audit_log"
	ResPolicies     = "policies" // not in the §9.4 list, but core.viewer reads it
	ResDashboards   = "dashboards"
	ResCaches       = "caches"
)

// Action names an operation on a resource.
const (
	ActRead      = "read"
	ActCreate    = "create"
	ActInstall   = "install"
	ActConfigure = "configure"
	ActUpdate    = "update"
	ActDelete    = "delete"
	ActExecute   = "execute"
	ActCancel    = "cancel"
	ActRespond   = "respond"
	ActManage    = "manage"
	ActDecrypt   = "decrypt"
)

// Resources lists every known resource in a stable order.
var Resources = []string{
	ResPacks, ResActions, ResQueues, ResQueueItems, ResRules, ResTriggers, ResExecutions,
	ResEvents, ResEnforcements, ResInquiries, ResKeys, ResArtifacts, ResRuntimes, ResWorkers,
	ResRetention, ResIdentities, ResPermissions, ResAuditLog, ResPolicies, ResDashboards, ResCaches,
}

// Actions lists every known action in a stable order.
var Actions = []string{
	ActRead, ActCreate, ActInstall, ActConfigure, ActUpdate, ActDelete,
	ActExecute, ActCancel, ActRespond, ActManage, ActDecrypt,
}

// Constraint enumerations.
const (
	OwnerSelf = "self"
	OwnerAny  = "any"
	OwnerNone = "none"

	ScopeSelf        = "self"
	ScopeDescendants = "descendants"
	ScopeAny         = "any"

	VisibilityPublic     = "public"
	VisibilityPrivate    = "private"
	VisibilityRestricted = "restricted"
)

var (
	resourceSet = toSet(Resources)
	actionSet   = toSet(Actions)
	visibilites = toSet([]string{VisibilityPublic, VisibilityPrivate, VisibilityRestricted})
)

// KnownResource reports whether r is a known resource name.
func KnownResource(r string) bool { _, ok := resourceSet[r]; return ok }

// KnownAction reports whether a is a known action name.
func KnownAction(a string) bool { _, ok := actionSet[a]; return ok }

func toSet(xs []string) map[string]struct{} {
	m := make(map[string]struct{}, len(xs))
	for _, x := range xs {
		m[x] = struct{}{}
	}
	return m
}
