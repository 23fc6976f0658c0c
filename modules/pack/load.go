package pack

import (
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
)

var (
	packRefRe = regexp.MustCompile(`^[a-z][a-z0-9_-]+$`)
	nameRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	// semverRe is the semver 2.0.0 grammar (no leading "v").
	semverRe = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
)

// MaxPackFiles caps how many entries a pack directory may hold.
const MaxPackFiles = 20_000

// Checker loads packs. The zero value is ready to use; set fields to plug in
// checks owned by other packages.
type Checker struct {
	// ConditionCompiler, when set, compiles each rule's condition
	// expression; its error becomes a problem on `conditions.expression`.
	ConditionCompiler func(expr string) error
	// Core is the core pack used to resolve core.* refs; nil means the
	// embedded packs/core.
	Core *Pack
}

// loader holds the state of one Load call.
type loader struct {
	c     *Checker
	fsys  fs.FS
	probs Problems
	files map[string]bool // regular files, slash paths
	pack  *Pack
}

// Load parses and checks the pack rooted at fsys with a zero Checker.
func Load(fsys fs.FS) (*Pack, Problems) { return (&Checker{}).Load(fsys) }

// LoadDir is Load for a directory on disk.
func LoadDir(dir string) (*Pack, Problems) { return (&Checker{}).LoadDir(dir) }

// LoadDir is Load for a directory on disk. The root itself must be a real
// directory, not a symlink.
func (c *Checker) LoadDir(dir string) (*Pack, Problems) {
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, Problems{{File: ".", Msg: err.Error()}}
	}
	if !st.IsDir() {
		return nil, Problems{{File: ".", Msg: "pack root must be a directory (symlinks are not followed)"}}
	}
	return c.Load(os.DirFS(dir))
}

// Load parses every pack file, collecting all problems rather than stopping
// at the first. The returned Pack is non-nil whenever pack.yaml could be
// read, even when there are problems; register it only if Problems is empty.
func (c *Checker) Load(fsys fs.FS) (*Pack, Problems) {
	l := &loader{c: c, fsys: fsys, files: map[string]bool{}}
	if !l.walk() {
		l.probs.Sort()
		return nil, l.probs
	}
	d := l.read("pack.yaml")
	if d == nil {
		if !l.files["pack.yaml"] {
			l.probs = append(l.probs, Problem{File: "pack.yaml", Msg: "missing: a pack needs pack.yaml at its root"})
		}
		l.probs.Sort()
		return nil, l.probs
	}
	l.pack = l.decodePack(d)
	l.loadComponents()
	l.crossCheck()
	l.probs.Sort()
	return l.pack, l.probs
}

// walk records regular files and rejects symlinks and special files
// anywhere in the pack: a pack must not reach outside its own tree.
func (l *loader) walk() bool {
	ok := true
	count := 0
	err := fs.WalkDir(l.fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			l.probs = append(l.probs, Problem{File: p, Msg: err.Error()})
			ok = false
			return nil
		}
		count++
		if count > MaxPackFiles {
			l.probs = append(l.probs, Problem{File: p, Msg: "pack has more than " + itoaS(MaxPackFiles) + " entries"})
			ok = false
			return fs.SkipAll
		}
		switch t := de.Type(); {
		case t&fs.ModeSymlink != 0:
			l.probs = append(l.probs, Problem{File: p, Msg: "symlinks are not allowed in a pack"})
			ok = false
		case de.IsDir() && de.Name() == ".git" && p != ".":
			return fs.SkipDir // VCS metadata of a cloned pack is not pack content
		case de.IsDir():
		case t.IsRegular():
			l.files[p] = true
		default:
			l.probs = append(l.probs, Problem{File: p, Msg: "special files (" + t.String() + ") are not allowed in a pack"})
			ok = false
		}
		return nil
	})
	if err != nil {
		l.probs = append(l.probs, Problem{File: ".", Msg: err.Error()})
		ok = false
	}
	return ok
}

func (l *loader) read(name string) *yamlDoc {
	if !l.files[name] {
		return nil
	}
	return readYAML(l.fsys, name, &l.probs)
}

// yamlFiles lists dir/*.yaml|yml (not recursive), sorted.
func (l *loader) yamlFiles(dir string, suffix ...string) []string {
	var out []string
	for f := range l.files {
		if path.Dir(f) != dir {
			continue
		}
		if len(suffix) > 0 {
			if strings.HasSuffix(f, suffix[0]) {
				out = append(out, f)
			}
			continue
		}
		if (strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")) && !strings.HasSuffix(f, ".workflow.yaml") {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

func (l *loader) decodePack(d *yamlDoc) *Pack {
	o := d.object(d.root, "")
	p := &Pack{}
	p.Ref = o.str("ref", true)
	if p.Ref != "" && !packRefRe.MatchString(p.Ref) {
		o.errAt("ref", "invalid pack ref %q: must match %s", p.Ref, packRefRe)
	}
	p.Label = o.str("label", true)
	p.Description = o.str("description", true)
	p.Version = o.scalarText("version", true)
	if p.Version != "" && !semverRe.MatchString(p.Version) {
		o.errAt("version", "invalid version %q: must be semver (e.g. 1.0.0)", p.Version)
	}
	p.Author = o.str("author", false)
	p.Email = o.str("email", false)
	p.System = o.boolean("system", false)
	p.Enabled = o.boolean("enabled", true)
	if n := o.node("conf_schema"); n != nil {
		p.ConfSchema = d.paramSchema(n, "conf_schema")
	}
	cfg := o.mapValue("config")
	p.Config = p.ConfSchema.ApplyDefaults(cfg)
	if p.ConfSchema != nil {
		if err := p.ConfSchema.Validate(p.Config); err != nil {
			o.errAt("config", "%v", err)
		}
	}
	p.Meta = o.mapValue("meta")
	p.Tags = o.strList("tags")
	p.RuntimeDeps = o.strList("runtime_deps")
	p.Dependencies = o.strList("dependencies")
	for _, dep := range p.Dependencies {
		if !packRefRe.MatchString(dep) {
			o.errAt("dependencies", "invalid pack ref %q", dep)
		}
	}
	p.Testing = o.mapValue("testing")
	p.Placement = placement(o)
	o.finish()
	return p
}

func placement(o *obj) Placement {
	return Placement{
		WorkerSelector:    o.value("worker_selector"),
		WorkerTolerations: o.value("worker_tolerations"),
		WorkerAffinity:    o.value("worker_affinity"),
	}
}

// component reads ref/label/description (and the optional pack_ref, which
// must match) and qualifies the ref with the pack ref.
func (l *loader) component(o *obj, d *yamlDoc, dir string) Component {
	c := Component{File: d.rep.file}
	ref := o.str("ref", true)
	if pr := o.str("pack_ref", false); pr != "" && pr != l.pack.Ref {
		o.errAt("pack_ref", "is %q but this is pack %q", pr, l.pack.Ref)
	}
	name := ref
	if i := strings.IndexByte(ref, '.'); i >= 0 {
		if ref[:i] != l.pack.Ref {
			o.errAt("ref", "%q belongs to pack %q; components must be in pack %q", ref, ref[:i], l.pack.Ref)
		}
		name = ref[i+1:]
	}
	switch {
	case ref == "":
	case strings.ToLower(ref) != ref:
		o.errAt("ref", "%q must be lowercase", ref)
	case !nameRe.MatchString(name):
		o.errAt("ref", "invalid name %q: must match %s (no dots)", name, nameRe)
	}
	c.Name = name
	c.Ref = l.pack.Ref + "." + name
	c.Label = o.str("label", false)
	if c.Label == "" {
		c.Label = name
	}
	c.Description = o.str("description", false)
	return c
}
