package packsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/rules"
	"github.com/attune-system/attune/modules/store"
)

// errUnchanged aborts the transaction when another process registered the
// same content while we waited for the pack lock.
var errUnchanged = errors.New("pack unchanged")

// Checker returns the pack loader with Attune's rule compiler plugged in,
// so bad condition expressions fail at load time with their position.
func Checker() *pack.Checker {
	return &pack.Checker{ConditionCompiler: func(expr string) error {
		b, err := json.Marshal(map[string]string{"expression": expr})
		if err != nil {
			return err
		}
		_, err = rules.Compile(b)
		return err
	}}
}

// Register validates the pack in dir and makes it the installed version of
// its ref, in the database and in packs_base_dir/<ref>.
//
// Order, and why no half state survives:
//  1. dir is copied into a staging directory next to packs_base_dir/<ref>
//     (same filesystem), rejecting symlinks and special files while copying;
//  2. the staged copy is loaded and checked — it, not dir, is what gets
//     installed, so dir changing meanwhile cannot slip anything past checks;
//  3. one transaction takes the pack's advisory lock, verifies dependencies
//     and external refs, refuses components owned by another pack, upserts
//     every component in dependency order, prunes the ones that left the
//     files (ad-hoc ones stay) and enqueues the outbox messages;
//  4. as the last step inside that transaction the staged tree is swapped
//     into place (atomic rename exchange); if the commit then fails the swap
//     is undone, so files and rows change together. The only window is a
//     crash between the swap and the commit: the files are new while the
//     rows are old; the next Register/EnsureCore of that pack repairs it
//     (the checksum no longer matches, so it is not skipped).
//
// Any error leaves the database exactly as it was. Pack problems come back
// as *pack.ProblemsError listing file:line: field: message.
func (s *Service) Register(ctx context.Context, dir string, opts RegisterOptions) (Result, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Result{}, err
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return Result{}, fmt.Errorf("pack directory: %w", err)
	}
	if !fi.IsDir() {
		return Result{}, fmt.Errorf("pack directory %s: not a directory", dir)
	}
	return s.registerFS(ctx, os.DirFS(abs), opts)
}

func (s *Service) registerFS(ctx context.Context, src fs.FS, opts RegisterOptions) (Result, error) {
	start := time.Now()
	staged, sum, err := stage(src, s.packsDir)
	if err != nil {
		return Result{}, fmt.Errorf("pack: %w", err)
	}
	defer os.RemoveAll(staged) // a no-op once staged was swapped in (renamed)
	p, probs := Checker().LoadDir(staged)
	if p != nil {
		probs = append(probs, templateProblems(p)...)
	}
	if len(probs) > 0 {
		probs.Sort()
		return Result{}, &pack.ProblemsError{Problems: probs}
	}
	res := Result{Checksum: sum}
	final := s.PackDir(p.Ref)

	if !opts.Force {
		if cur, err := s.st.PackGetByRef(ctx, p.Ref); err == nil && s.unchanged(cur, p, sum) {
			res.Pack, res.Unchanged = cur, true
			res.Counts, _ = s.st.PackComponentCounts(ctx, cur.ID)
			res.Duration = time.Since(start)
			return res, nil
		}
	}

	var undo, done func() error
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.PackLock(ctx, p.Ref); err != nil {
			return err
		}
		if !opts.Force {
			if cur, err := tx.PackGetByRef(ctx, p.Ref); err == nil && s.unchanged(cur, p, sum) {
				res.Pack = cur
				return errUnchanged
			}
		}
		w := &writer{tx: tx, p: p, opts: opts, sum: sum, storage: final}
		if err := w.write(ctx); err != nil {
			return err
		}
		res.Pack, res.Removed = w.packRow, w.removed
		// Last step before commit: put the files in place (see above).
		undo, done, err = swapIn(staged, final)
		return err
	})
	if errors.Is(err, errUnchanged) {
		res.Unchanged = true
		res.Counts, _ = s.st.PackComponentCounts(ctx, res.Pack.ID)
		res.Duration = time.Since(start)
		return res, nil
	}
	if err != nil {
		if undo != nil {
			if uerr := undo(); uerr != nil {
				s.log.Error("restoring pack files after a failed registration", "pack", p.Ref, "err", uerr)
			}
		}
		return Result{}, err
	}
	if err := done(); err != nil {
		s.log.Warn("removing the previous pack files", "pack", p.Ref, "err", err)
	}
	res.Counts, _ = s.st.PackComponentCounts(ctx, res.Pack.ID)
	if !opts.SkipEnvs {
		res.Envs = s.ensureEnvs(ctx, p)
	}
	res.Duration = time.Since(start)
	s.log.Info("pack registered", "pack", p.Ref, "version", p.Version, "duration", res.Duration)
	return res, nil
}

// unchanged reports whether cur already is p with checksum sum and the
// installed files still match.
func (s *Service) unchanged(cur store.Pack, p *pack.Pack, sum string) bool {
	return cur.Version == p.Version && cur.Checksum != nil && *cur.Checksum == sum &&
		dirChecksum(s.PackDir(p.Ref)) == sum
}

// templateProblems validates every rule's action_params templates, which the
// offline loader leaves to the rules package.
func templateProblems(p *pack.Pack) pack.Problems {
	var probs pack.Problems
	for _, r := range p.Rules {
		if len(r.ActionParams) == 0 {
			continue
		}
		b, err := json.Marshal(r.ActionParams)
		if err != nil {
			probs = append(probs, pack.Problem{File: r.File, Field: "action_params", Msg: err.Error()})
			continue
		}
		if err := rules.ValidateTemplates(b); err != nil {
			probs = append(probs, pack.Problem{File: r.File, Field: "action_params", Msg: err.Error()})
		}
	}
	return probs
}

// ensureEnvs builds the environments of the runtimes the pack's actions and
// sensors use. Failures are reported, not returned: the worker retries.
func (s *Service) ensureEnvs(ctx context.Context, p *pack.Pack) []EnvResult {
	if s.envs == nil {
		return nil
	}
	seen := map[string]bool{}
	var refs []string
	add := func(ref string) {
		if ref != "" && !seen[ref] {
			seen[ref] = true
			refs = append(refs, ref)
		}
	}
	for _, a := range p.Actions {
		if !a.Builtin {
			add(a.RuntimeRef)
		}
	}
	for _, se := range p.Sensors {
		if !se.Builtin {
			add(se.RuntimeRef)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.envTimeout)
	defer cancel()
	var out []EnvResult
	for _, ref := range refs {
		rt, err := s.st.RuntimeGetByRef(ctx, ref)
		if err != nil {
			out = append(out, EnvResult{Runtime: ref, Error: err.Error()})
			continue
		}
		env, err := s.envs.Ensure(ctx, p.Ref, rt)
		r := EnvResult{Runtime: ref, Dir: env.Dir}
		if err != nil {
			r.Error = err.Error()
			s.log.Warn("runtime environment not built at registration; the worker will retry",
				"pack", p.Ref, "runtime", ref, "err", err)
		}
		out = append(out, r)
	}
	return out
}

// problemsErr turns problems into the error Register returns.
func problemsErr(probs pack.Problems) error {
	if len(probs) == 0 {
		return nil
	}
	probs.Sort()
	return &pack.ProblemsError{Problems: probs}
}

// isNotFound reports a missing row.
func isNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }
