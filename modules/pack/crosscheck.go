package pack

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/attune-system/attune/packs"
)

// BuiltinEntryPoints are the native entry points implemented inside the
// worker and sensor binaries rather than as files. Only a system pack
// (core) may use them, with runner_type native. Contract with the worker:
// an Action with Builtin=true is run by the Go builtin of that name, given
// the parameters as a JSON object; it must honour the action's
// output_format (json) and timeout.
var BuiltinEntryPoints = map[string]string{
	"http_request": "action", // core.http_request
	"local":        "action", // core.local
	"timer_sensor": "sensor", // core.timer_sensor (intervaltimer, crontimer, datetimetimer)
}

var (
	coreOnce sync.Once
	corePack *Pack
	coreErr  error
)

// CorePack returns the parsed embedded core pack.
func CorePack() (*Pack, error) {
	coreOnce.Do(func() {
		sub, err := fs.Sub(packs.Core, "core")
		if err != nil {
			coreErr = err
			return
		}
		p, probs := (&Checker{}).Load(sub)
		if len(probs) > 0 {
			coreErr = fmt.Errorf("embedded core pack is invalid: %w", probs.Err())
			return
		}
		corePack = p
	})
	return corePack, coreErr
}

func (l *loader) core() *Pack {
	if l.pack.Ref == "core" {
		return l.pack
	}
	if l.c.Core != nil {
		return l.c.Core
	}
	p, _ := CorePack()
	return p
}

// errAtFile reports a problem on a top-level field of a component file.
func (l *loader) errAtFile(file, field, format string, args ...any) {
	line, col := 0, 0
	if pos, ok := l.fieldPos(file, field); ok {
		line, col = pos[0], pos[1]
	}
	l.probs = append(l.probs, Problem{File: file, Line: line, Col: col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// fieldPos re-reads a file's top-level key position; used only on the
// error path so the happy path keeps no node trees alive.
func (l *loader) fieldPos(file, field string) ([2]int, bool) {
	var scratch Problems
	d := readYAML(l.fsys, file, &scratch)
	if d == nil {
		return [2]int{}, false
	}
	o := d.object(d.root, "")
	top := strings.SplitN(field, ".", 2)[0]
	if !o.has(top) {
		return [2]int{o.n.Line, o.n.Column}, true
	}
	line, col := o.pos(top)
	return [2]int{line, col}, true
}

// lookup resolves a ref of the given kind. It returns the local/core
// component (or nil), and whether the ref is acceptable at all.
func (l *loader) lookup(kind, ref, file string) (any, bool) {
	if !strings.Contains(ref, ".") {
		ref = l.pack.Ref + "." + ref
	}
	packRef := ref[:strings.IndexByte(ref, '.')]
	var in *Pack
	switch packRef {
	case l.pack.Ref:
		in = l.pack
	case "core":
		in = l.core()
	}
	if in != nil {
		if c := findComponent(in, kind, ref); c != nil {
			return c, true
		}
		return nil, false
	}
	for _, dep := range l.pack.Dependencies {
		if dep == packRef {
			l.pack.ExternalRefs = append(l.pack.ExternalRefs, ExternalRef{Kind: kind, Ref: ref, File: file})
			return nil, true
		}
	}
	return nil, false
}

func findComponent(p *Pack, kind, ref string) any {
	if p == nil {
		return nil
	}
	switch kind {
	case "action":
		for _, a := range p.Actions {
			if a.Ref == ref {
				return a
			}
		}
	case "trigger":
		for _, t := range p.Triggers {
			if t.Ref == ref {
				return t
			}
		}
	case "permission_set":
		for _, ps := range p.PermissionSets {
			if ps.Ref == ref {
				return ps
			}
		}
	}
	return nil
}

func (l *loader) unknownRef(file, field, kind, ref string) {
	l.errAtFile(file, field, "unknown %s %q (not in pack %q, core, or a declared dependency)", strings.ReplaceAll(kind, "_", " "), ref, l.pack.Ref)
}

// runtimeFor resolves a runner_type (name, alias or ref, any case) to a
// runtime ref, preferring the pack's own runtimes over core's.
func (l *loader) runtimeFor(runner string) string {
	runner = strings.ToLower(runner)
	for _, p := range []*Pack{l.pack, l.core()} {
		if p == nil {
			continue
		}
		for _, rt := range p.Runtimes {
			if rt.Ref == runner {
				return rt.Ref
			}
			for _, a := range rt.Aliases {
				if a == runner {
					return rt.Ref
				}
			}
		}
	}
	return ""
}

func (l *loader) crossCheck() {
	p := l.pack
	for _, a := range p.Actions {
		if a.WorkflowFile == "" {
			a.RuntimeRef, a.Builtin = l.checkExecutable(a.File, "actions", a.RunnerType, a.EntryPoint, "action")
		}
		l.checkPermSetRefs(a.File, "default_execution_permission_set_refs", a.DefaultExecutionPermissionSetRefs)
	}
	for _, s := range p.Sensors {
		s.RuntimeRef, s.Builtin = l.checkExecutable(s.File, "sensors", s.RunnerType, s.EntryPoint, "sensor")
		for i, t := range s.TriggerTypes {
			s.TriggerTypes[i] = qualify(p.Ref, t)
			if _, ok := l.lookup("trigger", t, s.File); !ok {
				l.unknownRef(s.File, "trigger_types", "trigger", t)
			}
		}
	}
	for _, pol := range p.Policies {
		pol.ActionRef = qualify(p.Ref, pol.ActionRef)
		if _, ok := l.lookup("action", pol.ActionRef, pol.File); !ok && pol.ActionRef != "" {
			l.unknownRef(pol.File, "action_ref", "action", pol.ActionRef)
		}
	}
	for _, r := range p.Rules {
		l.checkRule(r)
	}
	sort.Slice(p.ExternalRefs, func(i, j int) bool {
		a, b := p.ExternalRefs[i], p.ExternalRefs[j]
		return a.Kind+a.Ref+a.File < b.Kind+b.Ref+b.File
	})
}

func qualify(packRef, ref string) string {
	if ref == "" || strings.Contains(ref, ".") {
		return ref
	}
	return packRef + "." + ref
}

// checkExecutable validates runner_type and entry_point for an action or
// sensor, returning the resolved runtime ref and whether it is a builtin.
func (l *loader) checkExecutable(file, dir, runner, entry, kind string) (string, bool) {
	rt := ""
	if runner != "" {
		if rt = l.runtimeFor(runner); rt == "" {
			l.errAtFile(file, "runner_type", "unknown runner_type %q (known: shell, python, nodejs, native, or a runtime in this pack)", runner)
		}
	}
	if entry == "" {
		return rt, false
	}
	if l.pack.System && rt == "core.native" && BuiltinEntryPoints[entry] == kind {
		return rt, true
	}
	full, ok := packPath(dir, entry)
	switch {
	case !ok:
		l.errAtFile(file, "entry_point", "%q must be a relative path inside %s/", entry, dir)
	case !l.files[full]:
		l.errAtFile(file, "entry_point", "file %s does not exist", full)
	}
	return rt, false
}

func (l *loader) checkPermSetRefs(file, field string, refs []string) {
	for i, ref := range refs {
		refs[i] = qualify(l.pack.Ref, ref)
		if _, ok := l.lookup("permission_set", ref, file); !ok {
			l.unknownRef(file, field, "permission_set", ref)
		}
	}
}

func (l *loader) checkRule(r *Rule) {
	p := l.pack
	r.TriggerRef, r.ActionRef = qualify(p.Ref, r.TriggerRef), qualify(p.Ref, r.ActionRef)
	if r.TriggerRef != "" {
		t, ok := l.lookup("trigger", r.TriggerRef, r.File)
		if !ok {
			l.unknownRef(r.File, "trigger_ref", "trigger", r.TriggerRef)
		} else if tr, _ := t.(*Trigger); tr != nil && tr.Parameters != nil {
			if err := tr.Parameters.Validate(r.TriggerParams); err != nil {
				l.errAtFile(r.File, "trigger_params", "invalid for trigger %s: %v", tr.Ref, err)
			}
		}
	}
	if r.ActionRef != "" {
		a, ok := l.lookup("action", r.ActionRef, r.File)
		if !ok {
			l.unknownRef(r.File, "action_ref", "action", r.ActionRef)
		} else if act, _ := a.(*Action); act != nil && act.Parameters != nil {
			// Templates make value types unknowable here, so only missing
			// required parameters are reported: such a rule could never run.
			err := act.Parameters.Validate(act.Parameters.ApplyDefaults(r.ActionParams))
			var ve *ValidationError
			if errors.As(err, &ve) {
				for _, f := range ve.Fields {
					if strings.HasPrefix(f.Msg, "Missing required parameter") && !strings.Contains(f.Path, ".") {
						l.errAtFile(r.File, "action_params", "%s (action %s)", f.Msg, act.Ref)
					}
				}
			}
		}
	}
	l.checkPermSetRefs(r.File, "permission_set_refs", r.PermissionSetRefs)
}
