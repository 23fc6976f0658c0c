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
		in, err := m.launchInputs(m.life, actionRef)
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
// action ex runs; nil means load everything afresh (no prefetch, a failed
// one, or an action replaced between dispatch and claim).
func (p *prefetched) forExecution(ex store.Execution) *prefetched {
	if p == nil {
		return nil
	}
	<-p.done
	if p.err != nil || ex.Action == nil || p.action.ID != *ex.Action {
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
// same action reads one counter instead of three tables. Entries are stored
// only under the version read before loading them, and only while the cache
// is still at it, so nothing older than the cache's version lands in it; any
// other version (an older one too, after a restore or failover) empties it.
type launchCache struct {
	mu      sync.Mutex
	version int64
	entries map[string]inputs
}

// launchInputs returns actionRef's stored launch inputs, from the cache
// when the metadata version has not moved.
func (m *Module) launchInputs(ctx context.Context, actionRef string) (inputs, error) {
	c := &m.launch
	v, verr := m.d.Store.MetadataVersion(ctx)
	if verr == nil {
		c.mu.Lock()
		if v != c.version || c.entries == nil {
			c.version, c.entries = v, map[string]inputs{}
		}
		in, ok := c.entries[actionRef]
		c.mu.Unlock()
		if ok {
			return in, nil
		}
	}
	act, err := m.d.Store.ActionGetByRef(ctx, actionRef)
	if err != nil {
		return inputs{}, err
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
	return in, nil
}
