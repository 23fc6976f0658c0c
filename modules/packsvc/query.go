package packsvc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// Summary is one installed pack with its component counts.
type Summary struct {
	Pack   store.Pack       `json:"pack"`
	Counts store.PackCounts `json:"counts"`
}

// Detail is one pack with its components.
type Detail struct {
	Summary
	Actions  []store.Action          `json:"actions"`
	Triggers []store.Trigger         `json:"triggers"`
	Rules    []store.Rule            `json:"rules"`
	Sensors  []store.Sensor          `json:"sensors"`
	Runtimes []store.Runtime         `json:"runtimes"`
	Envs     []store.PackEnvironment `json:"environments"`
}

// List returns every installed pack, by ref.
func (s *Service) List(ctx context.Context) ([]Summary, error) {
	packs, err := s.st.PackList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, len(packs))
	for i, p := range packs {
		c, err := s.st.PackComponentCounts(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		out[i] = Summary{Pack: p, Counts: c}
	}
	return out, nil
}

// Get returns one pack and its components; domain.ErrNotFound if missing.
func (s *Service) Get(ctx context.Context, ref string) (Detail, error) {
	p, err := s.st.PackGetByRef(ctx, ref)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Summary: Summary{Pack: p}}
	if d.Counts, err = s.st.PackComponentCounts(ctx, p.ID); err != nil {
		return Detail{}, err
	}
	if d.Actions, err = s.st.ActionList(ctx, ref); err != nil {
		return Detail{}, err
	}
	all, err := s.st.TriggerList(ctx)
	if err != nil {
		return Detail{}, err
	}
	for _, t := range all {
		if t.Pack != nil && *t.Pack == p.ID {
			d.Triggers = append(d.Triggers, t)
		}
	}
	if d.Rules, err = s.st.RuleListByPack(ctx, p.ID); err != nil {
		return Detail{}, err
	}
	if d.Sensors, err = s.st.SensorList(ctx, ref); err != nil {
		return Detail{}, err
	}
	if d.Runtimes, err = s.st.RuntimeListByPack(ctx, p.ID); err != nil {
		return Detail{}, err
	}
	if d.Envs, err = s.st.PackEnvironmentListByPack(ctx, ref); err != nil {
		return Detail{}, err
	}
	return d, nil
}

// Remove deletes a pack and, by cascade, everything it defines, announcing
// rule.deleted for each of its rules and pack.deleted, and removes its files
// and runtime environments. The core pack cannot be removed.
func (s *Service) Remove(ctx context.Context, ref string) error {
	if ref == "core" {
		return domain.NewValidationError("ref", "the core pack cannot be removed")
	}
	final := s.PackDir(ref)
	trash := ""
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.PackLock(ctx, ref); err != nil {
			return err
		}
		p, err := tx.PackGetByRef(ctx, ref)
		if err != nil {
			return err
		}
		rs, err := tx.RuleListByPack(ctx, p.ID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if err := enqueueRule(ctx, tx, bus.KeyRuleDeleted, r); err != nil {
				return err
			}
		}
		if err := tx.PackDelete(ctx, p.ID); err != nil {
			return err
		}
		if err := pipeline.Enqueue(ctx, tx, bus.ExchangeEvents, bus.KeyPackDeleted, pipeline.TypePackDeleted,
			pipeline.PackChanged{PackID: p.ID, PackRef: p.Ref, Version: p.Version}); err != nil {
			return err
		}
		// Move the files aside before commit so a failed commit can put
		// them back; they are deleted only once the rows are gone.
		if _, err := os.Lstat(final); err == nil {
			trash = filepath.Join(s.packsDir, ".trash-"+ref+"-"+randHex())
			if err := os.Rename(final, trash); err != nil {
				trash = ""
				return fmt.Errorf("move pack files aside: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		if trash != "" {
			_ = os.Rename(trash, final)
		}
		return err
	}
	if trash != "" {
		_ = os.RemoveAll(trash)
	}
	if s.envs != nil {
		if err := s.envs.RemovePack(ref); err != nil {
			s.log.Warn("removing runtime environments", "pack", ref, "err", err)
		}
	}
	s.log.Info("pack removed", "pack", ref)
	return nil
}
