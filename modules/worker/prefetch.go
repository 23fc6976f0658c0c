package worker

import (
	"context"
	"fmt"
	"sync"

	"github.com/attune-system/attune/modules/store"
)

// prefetched is what every launch of an action needs and the claimed row
// does not decide: the action, its keys (decrypted) and its runtime. They
// load while the claim commits, off the event → process path, and come from
// the launch cache while the metadata version is unchanged.
type prefetched struct {
	done    chan struct{}
	version int64 // the metadata version the inputs are current for; -1: unknown
	action  store.Action
	err     error // loading the action; keys and runtime are then unset
	keys    map[string]any
	secrets []string
	keysErr error
	runtime store.Runtime
	rtErr   error
}

// prefetch starts loading actionRef's launch inputs in the background.
func (m *Module) prefetch(actionRef string) *prefetched {
	p := &prefetched{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		in, version, err := m.launchInputs(m.life, actionRef)
		p.version = version
		if p.err = err; err == nil {
			m.decode(p, in)
		}
	}()
	return p
}

// loadFor loads ex's launch inputs now, reading the action by id (the
// prefetch goes by the dispatch's ref): the path when no prefetch matches.
func (m *Module) loadFor(ctx context.Context, ex store.Execution) (*prefetched, error) {
	var act store.Action
	var err error
	if ex.Action != nil {
		act, err = m.d.Store.ActionGet(ctx, *ex.Action)
	} else {
		act, err = m.d.Store.ActionGetByRef(ctx, ex.ActionRef)
	}
	if err != nil {
		return nil, err
	}
	p := &prefetched{}
	m.decode(p, m.storedInputs(ctx, act))
	return p, nil
}

// decode fills p from stored inputs; keys are decrypted per launch, so the
// cache holds only stored rows.
func (m *Module) decode(p *prefetched, in inputs) {
	p.action, p.runtime, p.rtErr = in.action, in.runtime, in.rtErr
	if in.keysErr != nil {
		p.keysErr = fmt.Errorf("load keys: %w", in.keysErr)
		return
	}
	p.keys, p.secrets, p.keysErr = m.decodeKeys(in.keys)
}

// forExecution waits for the prefetch and returns it when it loaded the
// action ex runs and is current for version, the metadata version the
// claim read; nil means load everything afresh (no prefetch, a failed one,
// metadata changed, or an action replaced between dispatch and claim).
func (p *prefetched) forExecution(ex store.Execution, version int64) *prefetched {
	if p == nil {
		return nil
	}
	<-p.done
	if p.err != nil || p.version != version || ex.Action == nil || p.action.ID != *ex.Action {
		return nil
	}
	return p
}

// inputs are an action's launch inputs as stored.
type inputs struct {
	action  store.Action
	keys    []store.Key
	keysErr error
	runtime store.Runtime
	rtErr   error
}

// storedInputs reads act's keys and runtime, side by side.
func (m *Module) storedInputs(ctx context.Context, act store.Action) inputs {
	in := inputs{action: act}
	var wg sync.WaitGroup
	wg.Go(func() { in.keys, in.keysErr = m.d.Store.KeyListForAction(ctx, act.PackRef, act.Ref) })
	in.runtime, in.rtErr = m.actionRuntime(ctx, act)
	wg.Wait()
	return in
}

// launchCache keeps inputs by action ref for one metadata_version (bumped
// by every committed change to actions, runtimes and keys), so a run of the
// same action costs no query at all: the claim reads the version in its own
// statement and tells whether the cached inputs are still current. Entries
// are stored only under the version read before loading them, and only
// while the cache is still at it, so nothing older than the cache's version
// lands in it; any other version (an older one too, after a restore or
// failover) empties it.
type launchCache struct {
	mu      sync.Mutex
	version int64
	entries map[string]inputs
}

// observe moves the cache to version v, emptying it when v differs.
func (c *launchCache) observe(v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.version || c.entries == nil {
		c.version, c.entries = v, map[string]inputs{}
	}
}

// lookup returns actionRef's cached inputs and the version they are for.
func (c *launchCache) lookup(actionRef string) (inputs, int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.entries[actionRef]
	return in, c.version, ok
}

// launchInputs returns actionRef's stored launch inputs and the metadata
// version they are current for (-1: unknown): from the cache when it holds
// them, else loaded after reading the version.
func (m *Module) launchInputs(ctx context.Context, actionRef string) (inputs, int64, error) {
	c := &m.launch
	if in, v, ok := c.lookup(actionRef); ok {
		return in, v, nil
	}
	v, verr := m.d.Store.MetadataVersion(ctx)
	if verr == nil {
		c.observe(v)
	} else {
		v = -1
	}
	act, err := m.d.Store.ActionGetByRef(ctx, actionRef)
	if err != nil {
		return inputs{}, v, err
	}
	in := m.storedInputs(ctx, act)
	// Only complete loads are kept: an error is retried on the next launch.
	if verr == nil && in.keysErr == nil && in.rtErr == nil {
		c.mu.Lock()
		if c.version == v {
			c.entries[actionRef] = in
		}
		c.mu.Unlock()
	}
	return in, v, nil
}
