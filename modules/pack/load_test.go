package pack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadCoreAndExampleClean(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"../../packs/core", "../../docs/examples/hello"} {
		p, probs := LoadDir(dir)
		require.Empty(t, probs, probs.Format())
		require.NotNil(t, p)
	}
	core, err := CorePack()
	require.NoError(t, err)
	require.True(t, core.System)
	require.Equal(t, "1.0.0", core.Version)
	refs := map[string]bool{}
	for _, a := range core.Actions {
		refs[a.Ref] = true
	}
	for _, want := range []string{"core.echo", "core.noop", "core.sleep", "core.http_request", "core.local"} {
		require.True(t, refs[want], want)
	}
	require.Len(t, core.Runtimes, 4)
	require.Len(t, core.PermissionSets, 4)
	require.Equal(t, []string{"core.intervaltimer", "core.crontimer", "core.datetimetimer"}, core.Sensors[0].TriggerTypes)
	require.True(t, core.Sensors[0].Builtin)
}

func TestExampleRuleResolvesCore(t *testing.T) {
	t.Parallel()
	p, probs := LoadDir("../../docs/examples/hello")
	require.Empty(t, probs)
	require.Equal(t, "core.intervaltimer", p.Rules[0].TriggerRef)
	require.Equal(t, map[string]any{"greeting": "Hi"}, p.Config)
	require.Equal(t, "core.shell", p.Actions[0].RuntimeRef)
}

func TestBrokenPacks(t *testing.T) {
	t.Parallel()
	bomb := "ref: demo.greet\nrunner_type: shell\nentry_point: greet.sh\na: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n"
	prev := "a"
	for i, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += name + ": &" + name + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n"
		prev = name
		_ = i
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of Problems.Format(), each must appear
	}{
		{"alias bomb", map[string]string{"actions/greet.yaml": bomb},
			[]string{"actions/greet.yaml:1:1: aliases expand to more than"}},
		{"duplicate key", map[string]string{"pack.yaml": goodPackYAML + "label: Again\n"},
			[]string{`pack.yaml:5:1: duplicate key "label" (first defined at line 2)`}},
		{"unknown field", map[string]string{"actions/greet.yaml": goodActionYAML + "entrypoint: x.sh\n"},
			[]string{"actions/greet.yaml:6:1: entrypoint: unknown field"}},
		{"unknown param type", map[string]string{"actions/greet.yaml": "ref: greet\nrunner_type: shell\nentry_point: greet.sh\nparameters:\n  name:\n    description: who\n    type: strnig\n"},
			[]string{`actions/greet.yaml:7:11: parameters.name.type: unknown type "strnig"`}},
		{"bad pack ref", map[string]string{"pack.yaml": strings.Replace(goodPackYAML, "demo", "Demo.X", 1)},
			[]string{`pack.yaml:1:6: ref: invalid pack ref "Demo.X"`}},
		{"component of another pack", map[string]string{"actions/greet.yaml": strings.Replace(goodActionYAML, "demo.greet", "other.greet", 1)},
			[]string{`actions/greet.yaml:1:6: ref: "other.greet" belongs to pack "other"`}},
		{"uppercase component", map[string]string{"actions/greet.yaml": strings.Replace(goodActionYAML, "demo.greet", "demo.Greet", 1)},
			[]string{`actions/greet.yaml:1:6: ref: "demo.Greet" must be lowercase`}},
		{"bad semver", map[string]string{"pack.yaml": strings.Replace(goodPackYAML, "1.0.0", "1.0", 1)},
			[]string{`pack.yaml:4:10: version: invalid version "1.0"`}},
		{"rule names missing action", map[string]string{"rules/r.yaml": "ref: r\ntrigger_ref: core.intervaltimer\ntrigger_params: {unit: seconds, interval: 5}\naction_ref: demo.nope\n"},
			[]string{`rules/r.yaml:4:13: action_ref: unknown action "demo.nope"`}},
		{"rule trigger params invalid", map[string]string{"rules/r.yaml": "ref: r\ntrigger_ref: core.intervaltimer\ntrigger_params: {unit: weeks}\naction_ref: greet\naction_params: {name: x}\n"},
			[]string{"rules/r.yaml:3:17: trigger_params: invalid for trigger core.intervaltimer:", "Missing required parameter: interval", "unit: value must be one of"}},
		{"rule missing required action param", map[string]string{"rules/r.yaml": "ref: r\ntrigger_ref: core.intervaltimer\ntrigger_params: {interval: 5}\naction_ref: greet\n"},
			[]string{"rules/r.yaml:1:1: action_params: Missing required parameter: name (action demo.greet)"}},
		{"rule bad conditions", map[string]string{"rules/r.yaml": "ref: r\ntrigger_ref: core.intervaltimer\ntrigger_params: {interval: 5}\naction_ref: core.noop\nconditions: [{field: a, operator: like, value: 1}]\n"},
			[]string{`rules/r.yaml:5:35: conditions[0].operator: must be one of equals|not_equals|contains, got "like"`}},
		{"missing entry point", map[string]string{"actions/greet.sh": ""},
			[]string{"actions/greet.yaml:3:14: entry_point: file actions/greet.sh does not exist"}},
		{"entry point escapes", map[string]string{"actions/greet.yaml": strings.Replace(goodActionYAML, "greet.sh", "../pack.yaml", 1)},
			[]string{`actions/greet.yaml:3:14: entry_point: "../pack.yaml" must be a relative path inside actions/`}},
		{"unknown runner", map[string]string{"actions/greet.yaml": strings.Replace(goodActionYAML, "shell", "cobol", 1)},
			[]string{`actions/greet.yaml:2:14: runner_type: unknown runner_type "cobol"`}},
		{"builtin not allowed outside system pack", map[string]string{"actions/greet.yaml": "ref: greet\nrunner_type: native\nentry_point: http_request\n"},
			[]string{"entry_point: file actions/http_request does not exist"}},
		{"sensor unknown trigger", map[string]string{"sensors/s.yaml": "ref: s\nrunner_type: shell\nentry_point: s.sh\ntrigger_types: [demo.nothing]\n", "sensors/s.sh": "x"},
			[]string{`sensors/s.yaml:4:16: trigger_types: unknown trigger "demo.nothing"`}},
		{"policy unknown action", map[string]string{"policies/p.yaml": "ref: p\naction_ref: demo.zzz\nmethod: enqueue\nthreshold: 2\n"},
			[]string{`policies/p.yaml:2:13: action_ref: unknown action "demo.zzz"`}},
		{"multiple problems collected", map[string]string{"pack.yaml": "ref: demo\nlabel: Demo\nversion: x\nbogus: 1\n"},
			[]string{"pack.yaml:1:1: description: is required", `pack.yaml:3:10: version: invalid version "x"`, "pack.yaml:4:1: bogus: unknown field"}},
		{"missing pack.yaml", map[string]string{"pack.yaml": ""},
			[]string{"pack.yaml: missing"}},
		{"bad default", map[string]string{"actions/greet.yaml": goodActionYAML + "  n: {type: integer, default: abc}\n"},
			[]string{"actions/greet.yaml:5:3: parameters: default value invalid: n: got string, want integer"}},
		{"external dependency recorded", map[string]string{"pack.yaml": goodPackYAML + "dependencies: [other]\n", "rules/r.yaml": "ref: r\ntrigger_ref: other.hook\naction_ref: greet\naction_params: {name: x}\n"},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writePack(t, basePack(tc.files))
			start := time.Now()
			p, probs := LoadDir(dir)
			require.Less(t, time.Since(start), 2*time.Second)
			out := probs.Format()
			if tc.want == nil {
				require.Empty(t, probs, out)
				require.Equal(t, []ExternalRef{{Kind: "trigger", Ref: "other.hook", File: "rules/r.yaml"}}, p.ExternalRefs)
				return
			}
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
		})
	}
}

func TestSymlinkRejected(t *testing.T) {
	t.Parallel()
	dir := writePack(t, basePack(nil))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "actions", "leak.sh")))
	_, probs := LoadDir(dir)
	require.Equal(t, "actions/leak.sh: symlinks are not allowed in a pack\n", probs.Format())
}

func TestFifoRejected(t *testing.T) {
	t.Parallel()
	dir := writePack(t, basePack(nil))
	if err := mkfifo(filepath.Join(dir, "actions", "pipe")); err != nil {
		t.Skipf("mkfifo unavailable: %v", err)
	}
	_, probs := LoadDir(dir)
	require.Contains(t, probs.Format(), "actions/pipe: special files")
}

func TestOversizedYAMLRejected(t *testing.T) {
	t.Parallel()
	big := goodActionYAML + "description: " + strings.Repeat("x", MaxYAMLBytes) + "\n"
	_, probs := LoadDir(writePack(t, basePack(map[string]string{"actions/greet.yaml": big})))
	require.Contains(t, probs.Format(), "actions/greet.yaml: file is larger than 1048576 bytes")
}

func TestWorkflowAction(t *testing.T) {
	t.Parallel()
	files := basePack(map[string]string{
		"actions/deploy.yaml":                    "ref: deploy\nworkflow_file: workflows/deploy.workflow.yaml\nparameters: {app: {type: string}}\n",
		"actions/workflows/deploy.workflow.yaml": "version: \"1.0.0\"\ntasks:\n  - name: a\n    action: core.noop\n    next: [{do: [b]}]\n  - name: b\n    action: core.echo\n",
	})
	p, probs := LoadDir(writePack(t, files))
	require.Empty(t, probs, probs.Format())
	var wf *Action
	for _, a := range p.Actions {
		if a.Ref == "demo.deploy" {
			wf = a
		}
	}
	require.NotNil(t, wf.Workflow)
	require.Equal(t, "", wf.RuntimeRef)
	require.Len(t, wf.Workflow.Definition["tasks"], 2)

	files["actions/workflows/deploy.workflow.yaml"] = "tasks:\n  - name: a\n    next: [{do: [zz]}]\n"
	_, probs = LoadDir(writePack(t, files))
	require.Contains(t, probs.Format(), `actions/workflows/deploy.workflow.yaml:3:17: tasks[0].next[0].do: unknown task "zz"`)
}

func TestConditionCompilerHook(t *testing.T) {
	t.Parallel()
	files := basePack(map[string]string{"rules/r.yaml": "ref: r\ntrigger_ref: core.intervaltimer\ntrigger_params: {interval: 5}\naction_ref: core.noop\nconditions: {expression: 'event.payload.x =='}\n"})
	c := &Checker{ConditionCompiler: func(expr string) error {
		if strings.HasSuffix(expr, "==") {
			return os.ErrInvalid
		}
		return nil
	}}
	p, probs := c.LoadDir(writePack(t, files))
	require.Contains(t, probs.Format(), "rules/r.yaml:5:26: conditions.expression: invalid argument")
	require.Equal(t, "event.payload.x ==", p.Rules[0].Conditions.Expression)
}

func TestRecursiveAliasRejected(t *testing.T) {
	t.Parallel()
	_, probs := LoadDir(writePack(t, basePack(map[string]string{"actions/greet.yaml": goodActionYAML + "x: &d [a, *d]\n"})))
	require.Contains(t, probs.Format(), "actions/greet.yaml:1:1: an alias refers to its own anchor")
}
