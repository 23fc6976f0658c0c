package packsvc_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/store/storetest"
)

// BenchmarkRegisterCore measures a full (forced) registration of the
// embedded core pack: stage, load, one transaction, file swap.
func BenchmarkRegisterCore(b *testing.B) {
	st := storetest.NewStore(b)
	svc, err := packsvc.New(packsvc.Options{Store: st, PacksDir: filepath.Join(b.TempDir(), "packs")})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.EnsureCore(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Register(ctx, svc.PackDir("core"), packsvc.RegisterOptions{Force: true, SkipEnvs: true}); err != nil {
			b.Fatal(err)
		}
	}
}
