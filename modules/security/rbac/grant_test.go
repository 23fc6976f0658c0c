package rbac

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateGrantsErrorsNameIndexAndField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		g     Grant
		wants []string
	}{
		{"unknown resource", Grant{Resource: "secrets", Actions: []string{"read"}}, []string{`grants[1].resource: unknown resource "secrets"`}},
		{"no actions", Grant{Resource: ResPacks}, []string{"grants[1].actions: must list at least one action"}},
		{"unknown action", Grant{Resource: ResPacks, Actions: []string{"read", "view"}}, []string{`grants[1].actions[1]: unknown action "view"`}},
		{"bad owner", Grant{Resource: ResKeys, Actions: []string{"read"}, Constraints: &Constraints{Owner: "me"}},
			[]string{`grants[1].constraints.owner: unknown value "me" (want self|any|none)`}},
		{"bad scope", Grant{Resource: ResExecutions, Actions: []string{"read"}, Constraints: &Constraints{ExecutionScope: "children"}},
			[]string{`grants[1].constraints.execution_scope: unknown value "children"`}},
		{"bad visibility", Grant{Resource: ResArtifacts, Actions: []string{"read"}, Constraints: &Constraints{Visibility: []string{"public", "secret"}}},
			[]string{`grants[1].constraints.visibility[1]: unknown value "secret"`}},
		{"empty pack list", Grant{Resource: ResActions, Actions: []string{"read"}, Constraints: &Constraints{PackRefs: []string{}}},
			[]string{"grants[1].constraints.pack_refs: empty list matches nothing"}},
		{"empty ref value", Grant{Resource: ResActions, Actions: []string{"read"}, Constraints: &Constraints{Refs: []string{"a", ""}}},
			[]string{"grants[1].constraints.refs[1]: must not be empty"}},
		{"bad id", Grant{Resource: ResExecutions, Actions: []string{"read"}, Constraints: &Constraints{IDs: []int64{3, 0}}},
			[]string{"grants[1].constraints.ids[1]: must be a positive id"}},
		{"encrypted on actions", Grant{Resource: ResActions, Actions: []string{"read"}, Constraints: &Constraints{Encrypted: boolp(true)}},
			[]string{`grants[1].constraints.encrypted: does not apply to resource "actions"`}},
		{"scope on keys", Grant{Resource: ResKeys, Actions: []string{"read"}, Constraints: &Constraints{ExecutionScope: ScopeSelf}},
			[]string{`grants[1].constraints.execution_scope: does not apply to resource "keys"`}},
		{"owner types on rules", Grant{Resource: ResRules, Actions: []string{"read"}, Constraints: &Constraints{OwnerTypes: []string{"pack"}}},
			[]string{`grants[1].constraints.owner_types: does not apply`}},
		{"attribute object", Grant{Resource: ResActions, Actions: []string{"read"}, Constraints: &Constraints{Attributes: map[string]any{"team": map[string]any{}}}},
			[]string{"grants[1].constraints.attributes.team: must be a string, number, bool or null"}},
		{"several problems", Grant{Resource: "x", Actions: []string{"y"}}, []string{"grants[1].resource", "grants[1].actions[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			good := Grant{Resource: ResPacks, Actions: []string{ActRead}}
			err := ValidateGrants([]Grant{good, c.g})
			require.Error(t, err)
			for _, w := range c.wants {
				require.ErrorContains(t, err, w)
			}
			require.NotContains(t, err.Error(), "grants[0]")
		})
	}
	require.NoError(t, ValidateGrants(nil))
}

// Grants arrive as JSON from the permission_set table and API.
func TestGrantJSON(t *testing.T) {
	t.Parallel()
	raw := `[{"resource":"keys","actions":["create"],"constraints":{"owner_types":["pack","action"],
		"owner_refs":["core"],"encrypted":true}},{"resource":"actions","actions":["read","execute"],
		"constraints":{"pack_refs":["ops"],"attributes":{"team":"ops","level":3}}},{"resource":"packs","actions":["read"]}]`
	var grants []Grant
	require.NoError(t, json.NewDecoder(strings.NewReader(raw)).Decode(&grants))
	require.NoError(t, ValidateGrants(grants))
	require.Equal(t, []string{"pack", "action"}, grants[0].Constraints.OwnerTypes)
	require.Nil(t, grants[0].Constraints.PackRefs, "omitted means not given")
	require.True(t, *grants[0].Constraints.Encrypted)
	require.Nil(t, grants[2].Constraints)

	sub := user(grants...)
	require.True(t, Allowed(sub, Target{Resource: ResActions, Action: ActExecute, PackRef: "ops"}),
		"JSON number 3 matches the float64 attribute")

	out, err := json.Marshal(grants[2])
	require.NoError(t, err)
	require.JSONEq(t, `{"resource":"packs","actions":["read"]}`, string(out))
}
