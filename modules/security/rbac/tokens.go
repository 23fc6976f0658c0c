package rbac

import "github.com/attune-system/attune/modules/security"

// StandardRef is the reserved permission-set ref that gives an execution
// token key/artifact access scoped to its action and pack (spec §9.3).
const StandardRef = "standard"

type resAct struct{ res, act string }

// Ceilings cap what a non-user token can ever do, whatever grants its
// identity holds: an execution token runs with its executor's permission
// sets, and without a ceiling an action started by an admin could change
// system configuration (threat #8). Pairs absent from a ceiling are denied.
var (
	executionCeiling = toPairSet(
		resAct{ResExecutions, ActRead}, // further limited to the token's own execution
		resAct{ResExecutions, ActCreate},
		resAct{ResActions, ActRead}, resAct{ResActions, ActExecute}, // child executions
		resAct{ResKeys, ActRead}, resAct{ResKeys, ActDecrypt},
		resAct{ResKeys, ActCreate}, resAct{ResKeys, ActUpdate}, // state shared between actions of a pack (T2.3)
		resAct{ResArtifacts, ActRead}, resAct{ResArtifacts, ActCreate}, resAct{ResArtifacts, ActUpdate},
		resAct{ResEvents, ActCreate}, resAct{ResTriggers, ActRead},
	)
	sensorCeiling = toPairSet(
		resAct{ResTriggers, ActRead}, resAct{ResRules, ActRead}, resAct{ResEvents, ActCreate},
		resAct{ResKeys, ActRead}, resAct{ResKeys, ActDecrypt},
	)
	workerCeiling = toPairSet(
		resAct{ResArtifacts, ActRead}, resAct{ResArtifacts, ActCreate}, resAct{ResArtifacts, ActUpdate},
	)
)

func toPairSet(ps ...resAct) map[resAct]struct{} {
	m := make(map[resAct]struct{}, len(ps))
	for _, p := range ps {
		m[p] = struct{}{}
	}
	return m
}

// tokenCeiling reports whether sub's token type permits t at all.
func tokenCeiling(sub Subject, t Target) bool {
	if !ceilingAllows(sub, t.Resource, t.Action) {
		return false
	}
	if sub.TokenType == security.TokenExecution && t.Resource == ResExecutions && t.Action == ActRead {
		// "It may read its own execution ... it may not read other executions."
		return sub.ExecutionID > 0 && t.ID == sub.ExecutionID
	}
	return true
}

// ceilingUnrestricted is tokenCeiling for list queries: true only if the
// ceiling admits every row of resource/action.
func ceilingUnrestricted(sub Subject, resource, action string) bool {
	if sub.TokenType == security.TokenExecution && resource == ResExecutions && action == ActRead {
		return false
	}
	return ceilingAllows(sub, resource, action)
}

func ceilingAllows(sub Subject, resource, action string) bool {
	var ceiling map[resAct]struct{}
	switch sub.TokenType {
	case security.TokenAccess, security.TokenIntegration:
		return true
	case security.TokenExecution:
		ceiling = executionCeiling
	case security.TokenSensor:
		ceiling = sensorCeiling
	case security.TokenWorker:
		ceiling = workerCeiling
	default: // refresh tokens authorise nothing but /auth/refresh; unknown types deny
		return false
	}
	_, ok := ceiling[resAct{resource, action}]
	return ok
}

// StandardExecutionGrants are the grants of the reserved "standard" set for
// an execution token: read its own execution, read, decrypt, create and
// update keys owned by its action or pack, manage artifacts and post events within its pack. The
// token's effective grants are these plus its executor's permission sets,
// all capped by the execution ceiling.
func StandardExecutionGrants(executionID int64, packRef, actionRef string) []Grant {
	return []Grant{
		{Resource: ResExecutions, Actions: []string{ActRead}, Constraints: &Constraints{IDs: []int64{executionID}}},
		{Resource: ResKeys, Actions: []string{ActRead, ActDecrypt, ActCreate, ActUpdate},
			Constraints: &Constraints{OwnerTypes: []string{"pack"}, OwnerRefs: []string{packRef}}},
		{Resource: ResKeys, Actions: []string{ActRead, ActDecrypt, ActCreate, ActUpdate},
			Constraints: &Constraints{OwnerTypes: []string{"action"}, OwnerRefs: []string{actionRef}}},
		{Resource: ResArtifacts, Actions: []string{ActRead, ActCreate, ActUpdate},
			Constraints: &Constraints{PackRefs: []string{packRef}}},
		{Resource: ResEvents, Actions: []string{ActCreate}, Constraints: &Constraints{PackRefs: []string{packRef}}},
	}
}

// SensorGrants are the grants for a sensor token: read its trigger types,
// post events for them (Target.Ref = trigger ref) and read/decrypt keys owned
// by its pack or by the sensor itself.
func SensorGrants(packRef, sensorRef string, triggerRefs []string) []Grant {
	refs := append([]string(nil), triggerRefs...)
	return []Grant{
		{Resource: ResTriggers, Actions: []string{ActRead}, Constraints: &Constraints{Refs: refs}},
		{Resource: ResEvents, Actions: []string{ActCreate}, Constraints: &Constraints{Refs: refs}},
		{Resource: ResKeys, Actions: []string{ActRead, ActDecrypt},
			Constraints: &Constraints{OwnerTypes: []string{"pack"}, OwnerRefs: []string{packRef}}},
		{Resource: ResKeys, Actions: []string{ActRead, ActDecrypt},
			Constraints: &Constraints{OwnerTypes: []string{"sensor"}, OwnerRefs: []string{sensorRef}}},
	}
}
