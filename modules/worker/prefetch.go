package worker

import (
	"context"
	"fmt"
	"sync"

	"github.com/attune-system/attune/modules/store"
)

// prefetched is what every launch of an action needs and the claimed row
// does not decide: the action, its keys and its runtime. They load while
// the claim commits, off the event → process path, and come from the
// launch cache while the metadata version is unchanged.
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
		if p.err = err; err != nil {
			return
		}
		p.action, p.runtime, p.rtErr = in.action, in.runtime, in.rtErr
		if in.keysErr != nil {
			p.keysErr = fmt.Errorf("load keys: %w", in.keysErr)
		} else {
			// Decrypted per launch: the cache holds only stored rows.
			p.keys, p.secrets, p.keysErr = m.decodeKeys(in.keys)
		}
	}()
	return p
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
		hit := ok && c.version == v
		c.mu.Unlock()
		if hit {
			return in, nil
		}
	}
	var in inputs
	var err error
	if in.action, err = m.d.Store.ActionGetByRef(ctx, actionRef); err != nil {
		return inputs{}, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.keys, in.keysErr = m.d.Store.KeyListForAction(ctx, in.action.PackRef, in.action.Ref)
	}()
	in.runtime, in.rtErr = m.actionRuntime(ctx, in.action)
	wg.Wait()
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
