package packsvc_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/store"
)

func TestRegisterEditReregister(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	mustEnsureCore(t, e)
	dir := fixture(t, "demo")

	mark := maxOutboxID(t, e.st)
	res, err := e.svc.Register(ctx, dir, packsvc.RegisterOptions{Method: packsvc.MethodCLI})
	require.NoError(t, err)
	require.False(t, res.Unchanged)
	require.Equal(t, store.PackCounts{Actions: 2, Triggers: 1, Rules: 2, Sensors: 1, Policies: 1,
		PermissionSets: 1, Workflows: 1}, res.Counts)
	require.ElementsMatch(t, []string{"rule.created demo.every_minute", "rule.created demo.on_alert",
		"pack.registered demo"}, outboxKeys(t, e.st, mark))

	// Files are installed, with the exec bit kept.
	fi, err := os.Stat(filepath.Join(e.packsDir, "demo", "actions", "greet.sh"))
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&0o100)

	// Components are linked.
	greet, err := e.st.ActionGetByRef(ctx, "demo.greet")
	require.NoError(t, err)
	require.Equal(t, "core.shell", *greet.RuntimeRef)
	require.NotNil(t, greet.Runtime)
	deploy, err := e.st.ActionGetByRef(ctx, "demo.deploy")
	require.NoError(t, err)
	require.NotNil(t, deploy.WorkflowDef)
	rule, err := e.st.RuleGetByRef(ctx, "demo.on_alert")
	require.NoError(t, err)
	require.Equal(t, greet.ID, *rule.Action)
	require.JSONEq(t, `{"expression": "event.payload.severity == \"critical\""}`, string(rule.Conditions))
	trig, err := e.st.TriggerGetByRef(ctx, "demo.alert")
	require.NoError(t, err)
	require.Equal(t, "demo.watch", *trig.SensorRef)

	// An API-created (ad-hoc) rule in the pack.
	pk := res.Pack
	_, err = e.st.RuleUpsert(ctx, store.Rule{Ref: "demo.adhoc", Pack: pk.ID, PackRef: "demo", Label: "ad hoc",
		ActionRef: "demo.greet", Action: &greet.ID, TriggerRef: "demo.alert", Enabled: true, IsAdhoc: true})
	require.NoError(t, err)

	// Registering the same files again is a no-op.
	res2, err := e.svc.Register(ctx, dir, packsvc.RegisterOptions{})
	require.NoError(t, err)
	require.True(t, res2.Unchanged)

	// Edit: change the action, delete one rule, disable the other.
	writeFile(t, filepath.Join(dir, "actions", "greet.yaml"), `ref: demo.greet
label: Greet loudly
runner_type: shell
entry_point: greet.sh
timeout: 99
parameters:
  name: {type: string, required: true}
`)
	require.NoError(t, os.Remove(filepath.Join(dir, "rules", "every_minute.yaml")))
	b, err := os.ReadFile(filepath.Join(dir, "rules", "on_alert.yaml"))
	require.NoError(t, err)
	writeFile(t, filepath.Join(dir, "rules", "on_alert.yaml"), string(b)+"enabled: false\n")
	writeFile(t, filepath.Join(dir, "README.md"), "new file\n")

	mark = maxOutboxID(t, e.st)
	res3, err := e.svc.Register(ctx, dir, packsvc.RegisterOptions{})
	require.NoError(t, err)
	require.False(t, res3.Unchanged)
	require.Equal(t, []string{"rule demo.every_minute"}, res3.Removed)
	require.Equal(t, pk.ID, res3.Pack.ID, "pack id is stable across upgrades")
	require.ElementsMatch(t, []string{"rule.deleted demo.every_minute", "rule.disabled demo.on_alert",
		"pack.registered demo"}, outboxKeys(t, e.st, mark))

	greet2, err := e.st.ActionGetByRef(ctx, "demo.greet")
	require.NoError(t, err)
	require.Equal(t, greet.ID, greet2.ID)
	require.Equal(t, "Greet loudly", greet2.Label)
	require.EqualValues(t, 99, *greet2.TimeoutSeconds)
	_, err = e.st.RuleGetByRef(ctx, "demo.every_minute")
	require.ErrorIs(t, err, domain.ErrNotFound)
	adhoc, err := e.st.RuleGetByRef(ctx, "demo.adhoc")
	require.NoError(t, err, "ad-hoc rules survive re-registration")
	require.True(t, adhoc.IsAdhoc)
	_, err = os.Stat(filepath.Join(e.packsDir, "demo", "README.md"))
	require.NoError(t, err, "installed files follow the pack")
	// No staging or old trees are left behind.
	entries, err := os.ReadDir(e.packsDir)
	require.NoError(t, err)
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	require.ElementsMatch(t, []string{"core", "demo"}, names)
}

func TestRegisterRejectsBrokenPacksAndLeavesDBUnchanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	mustEnsureCore(t, e)
	// An installed good version, so "unchanged" covers updates too.
	good := fixture(t, "demo")
	_, err := e.svc.Register(ctx, good, packsvc.RegisterOptions{})
	require.NoError(t, err)
	before := snapshot(t, e.st)
	installed, err := packsvc.Checksum(os.DirFS(filepath.Join(e.packsDir, "demo")))
	require.NoError(t, err)

	cases := []struct {
		name  string
		edit  func(dir string)
		wants []string
	}{
		{"alias bomb", func(dir string) {
			bomb := "ref: demo.bomb\nlabel: x\nrunner_type: shell\nentry_point: greet.sh\nparameters:\n  a: &a [x,x,x,x,x,x,x,x,x,x]\n"
			prev := "a"
			for i := 0; i < 8; i++ {
				n := string(rune('b' + i))
				bomb += "  " + n + ": &" + n + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n"
				prev = n
			}
			writeFile(t, filepath.Join(dir, "actions", "bomb.yaml"), bomb)
		}, []string{"actions/bomb.yaml"}},
		{"duplicate keys", func(dir string) {
			writeFile(t, filepath.Join(dir, "triggers", "dup.yaml"), "ref: demo.dup\nlabel: a\nlabel: b\n")
		}, []string{"triggers/dup.yaml:3"}},
		{"unknown field", func(dir string) {
			writeFile(t, filepath.Join(dir, "triggers", "unk.yaml"), "ref: demo.unk\nlabel: a\nflavour: x\n")
		}, []string{"triggers/unk.yaml:3", "flavour"}},
		{"bad ref", func(dir string) {
			writeFile(t, filepath.Join(dir, "triggers", "bad.yaml"), "ref: other.bad\nlabel: a\n")
		}, []string{"triggers/bad.yaml:1"}},
		{"rule naming a missing action", func(dir string) {
			writeFile(t, filepath.Join(dir, "rules", "missing.yaml"),
				"ref: demo.missing\nlabel: m\ntrigger_ref: demo.alert\naction_ref: demo.nope\n")
		}, []string{"rules/missing.yaml:4", "demo.nope"}},
		{"bad condition expression", func(dir string) {
			writeFile(t, filepath.Join(dir, "rules", "expr.yaml"),
				"ref: demo.expr\nlabel: m\ntrigger_ref: demo.alert\naction_ref: demo.greet\naction_params: {name: x}\nconditions:\n  expression: 'event.payload.x =='\n")
		}, []string{"rules/expr.yaml:7", "conditions.expression"}},
		{"bad template", func(dir string) {
			writeFile(t, filepath.Join(dir, "rules", "tpl.yaml"),
				"ref: demo.tpl\nlabel: m\ntrigger_ref: demo.alert\naction_ref: demo.greet\naction_params: {name: '{{ env.HOME }}'}\n")
		}, []string{"rules/tpl.yaml", "action_params"}},
		{"missing dependency", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "pack.yaml"))
			writeFile(t, filepath.Join(dir, "pack.yaml"), string(b)+"dependencies: [absent]\n")
		}, []string{"pack.yaml", "dependencies", `pack "absent" is not installed`}},
		{"symlink", func(dir string) {
			require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "actions", "link.sh")))
		}, []string{"actions/link.sh", "symlink"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fixture(t, "demo")
			b, _ := os.ReadFile(filepath.Join(dir, "pack.yaml"))
			writeFile(t, filepath.Join(dir, "pack.yaml"), string(b)+"# edited\n")
			c.edit(dir)
			_, err := e.svc.Register(ctx, dir, packsvc.RegisterOptions{Force: true})
			require.Error(t, err)
			for _, w := range c.wants {
				require.Contains(t, err.Error(), w)
			}
			require.Equal(t, before, snapshot(t, e.st), "database unchanged")
			sum, err := packsvc.Checksum(os.DirFS(filepath.Join(e.packsDir, "demo")))
			require.NoError(t, err)
			require.Equal(t, installed, sum, "installed files unchanged")
		})
	}
}

func TestRegisterRefusesCrossPackOverwrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	mustEnsureCore(t, e)
	_, err := e.svc.Register(ctx, fixture(t, "demo"), packsvc.RegisterOptions{})
	require.NoError(t, err)
	// An ad-hoc action created through the API in another pack, whose ref
	// a second pack's files then claim.
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "pack.yaml"), "ref: other\nlabel: O\ndescription: d\nversion: 1.0.0\n")
	_, err = e.svc.Register(ctx, other, packsvc.RegisterOptions{})
	require.NoError(t, err)
	demo, err := e.st.PackGetByRef(ctx, "demo")
	require.NoError(t, err)
	_, err = e.st.ActionUpsert(ctx, store.Action{Ref: "other.stolen", Pack: demo.ID, PackRef: "demo", Label: "x",
		Entrypoint: "x.sh", Enabled: true, IsAdhoc: true})
	require.NoError(t, err)
	before := snapshot(t, e.st)

	writeFile(t, filepath.Join(other, "actions", "stolen.yaml"), "ref: other.stolen\nlabel: S\nrunner_type: shell\nentry_point: s.sh\n")
	writeFile(t, filepath.Join(other, "actions", "s.sh"), "#!/bin/sh\n")
	_, err = e.svc.Register(ctx, other, packsvc.RegisterOptions{})
	require.ErrorIs(t, err, domain.ErrConflict)
	require.Contains(t, err.Error(), `action "other.stolen" belongs to pack demo`)
	require.Equal(t, before, snapshot(t, e.st))
}

func TestRegisterVerifiesDependencyRefs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	mustEnsureCore(t, e)
	_, err := e.svc.Register(ctx, fixture(t, "demo"), packsvc.RegisterOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pack.yaml"), "ref: user\nlabel: U\ndescription: d\nversion: 1.0.0\ndependencies: [demo]\n")
	writeFile(t, filepath.Join(dir, "rules", "r.yaml"), "ref: user.r\nlabel: R\ntrigger_ref: demo.alert\naction_ref: demo.absent\n")
	before := snapshot(t, e.st)
	_, err = e.svc.Register(ctx, dir, packsvc.RegisterOptions{})
	var pe *pack.ProblemsError
	require.ErrorAs(t, err, &pe)
	require.Contains(t, err.Error(), `rules/r.yaml: action_ref: action "demo.absent" does not exist`)
	require.Equal(t, before, snapshot(t, e.st))

	writeFile(t, filepath.Join(dir, "rules", "r.yaml"), "ref: user.r\nlabel: R\ntrigger_ref: demo.alert\naction_ref: demo.greet\naction_params: {name: x}\n")
	_, err = e.svc.Register(ctx, dir, packsvc.RegisterOptions{})
	require.NoError(t, err)
	r, err := e.st.RuleGetByRef(ctx, "user.r")
	require.NoError(t, err)
	require.NotNil(t, r.Action)
	require.NotNil(t, r.Trigger)
}
