package executor

import (
	"context"
	"errors"
	"sync"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/store"
)

// metaCache keeps what firing a rule reads and rarely changes — the enabled
// rules of a trigger, actions, whether a policy governs an action, and the
// runtime names an action needs — for one metadata_version. Every event is
// read together with the current version (one statement), so an entry is
// used only while nothing it was loaded from has changed: a change committed
// before the event was read always wins. This takes four reads off every
// event (measured ~0.1 ms of database CPU and a round trip each).
//
// Entries are stored only under the version they were loaded after, and
// only while the cache still holds that version, so data older than the
// cache's version never lands in it. Any other version empties the cache —
// an older one too: after a restore or a failover to a standby that was
// behind, the counter goes back and would otherwise reach values the cache
// already holds with other data.
type metaCache struct {
	mu       sync.Mutex
	version  int64
	rules    map[string][]store.Rule
	actions  map[int64]store.Action
	policy   map[int64]bool
	runtimes map[int64][]string
}

func newMetaCache() *metaCache {
	c := &metaCache{version: -1}
	c.reset(-1)
	return c
}

func (c *metaCache) reset(v int64) {
	c.version = v
	c.rules = map[string][]store.Rule{}
	c.actions = map[int64]store.Action{}
	c.policy = map[int64]bool{}
	c.runtimes = map[int64][]string{}
}

// at returns the view for version v, emptying the cache when it holds
// another version.
func (c *metaCache) at(v int64) *metaView {
	c.mu.Lock()
	if v != c.version {
		c.reset(v)
	}
	c.mu.Unlock()
	return &metaView{c: c, version: v}
}

// metaView reads through the cache for one version.
type metaView struct {
	c       *metaCache
	version int64
}

// lookup returns m[k] when the cache is at this view's version.
func lookup[K comparable, V any](v *metaView, m func(*metaCache) map[K]V, k K) (V, bool) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	var zero V
	if v.c.version != v.version {
		return zero, false
	}
	val, ok := m(v.c)[k]
	return val, ok
}

// put records m[k] = val when the cache is still at this view's version.
func put[K comparable, V any](v *metaView, m func(*metaCache) map[K]V, k K, val V) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	if v.c.version == v.version {
		m(v.c)[k] = val
	}
}

// cached returns the entry for k, loading and storing it on a miss. A nil
// view always loads.
func cached[K comparable, V any](v *metaView, m func(*metaCache) map[K]V, k K, load func() (V, error)) (V, error) {
	if v != nil {
		if val, ok := lookup(v, m, k); ok {
			return val, nil
		}
	}
	val, err := load()
	if err == nil && v != nil {
		put(v, m, k, val)
	}
	return val, err
}

// enabledRules are the enabled rules on triggerRef.
func (v *metaView) enabledRules(ctx context.Context, st *store.Store, triggerRef string) ([]store.Rule, error) {
	return cached(v, func(c *metaCache) map[string][]store.Rule { return c.rules }, triggerRef,
		func() ([]store.Rule, error) { return st.RuleListEnabledByTriggerRef(ctx, triggerRef) })
}

// LoadAction is the rule's action, from the
// cache. A missing action is not cached (the caller treats it as gone and
// the next version will tell again).
func (v *metaView) LoadAction(ctx context.Context, db *store.DB, id int64) (store.Action, error) {
	return cached(v, func(c *metaCache) map[int64]store.Action { return c.actions }, id,
		func() (store.Action, error) { return db.ActionGet(ctx, id) })
}

// governed reports whether an effective policy applies to action.
func (v *metaView) governed(ctx context.Context, db *store.DB, action store.Action) (bool, error) {
	return cached(v, func(c *metaCache) map[int64]bool { return c.policy }, action.ID, func() (bool, error) {
		_, err := db.PolicyEffectiveForAction(ctx, action.ID, action.Ref, action.PackRef)
		if errors.Is(err, domain.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
}

// runtimeNames is the package runtimeNames, cached per action.
func (v *metaView) runtimeNames(ctx context.Context, db *store.DB, action store.Action) ([]string, error) {
	return cached(v, func(c *metaCache) map[int64][]string { return c.runtimes }, action.ID,
		func() ([]string, error) { return runtimeNames(ctx, db, action) })
}
