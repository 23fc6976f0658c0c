package packsvc

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/attune-system/attune/packs"
)

// EnsureCore registers or upgrades the embedded core pack and materialises
// its files in packs_base_dir/core (workers run core scripts from there).
// Call it at start-up from every process that needs core; it is idempotent
// and concurrent callers are serialised by the pack's advisory lock. When
// the registered version and checksum match the embedded pack and the
// files on disk, it returns quickly with Result.Unchanged.
func (s *Service) EnsureCore(ctx context.Context) (Result, error) {
	sub, err := fs.Sub(packs.Core, "core")
	if err != nil {
		return Result{}, fmt.Errorf("core pack: %w", err)
	}
	start := time.Now()
	if sum, err := Checksum(sub); err == nil {
		if cur, err := s.st.PackGetByRef(ctx, "core"); err == nil && cur.Checksum != nil && *cur.Checksum == sum &&
			dirChecksum(s.PackDir("core")) == sum {
			res := Result{Pack: cur, Unchanged: true, Checksum: sum}
			res.Counts, _ = s.st.PackComponentCounts(ctx, cur.ID)
			res.Duration = time.Since(start)
			return res, nil
		}
	}
	res, err := s.registerFS(ctx, sub, RegisterOptions{Method: MethodAuto, SkipEnvs: true})
	if err != nil {
		return Result{}, fmt.Errorf("core pack: %w", err)
	}
	return res, nil
}
