package worker

import (
	"sync"

	"github.com/attune-system/attune/modules/store"
)

// prefetched is what every launch of an action needs and the claimed row
// does not decide: the action, its keys and its runtime. Each is a round
// trip of its own; loading them while the claim commits, and side by side,
// takes them off the event → process path.
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
		if p.action, p.err = m.d.Store.ActionGetByRef(m.life, actionRef); p.err != nil {
			return
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.keys, p.secrets, p.keysErr = m.loadKeys(m.life, p.action.PackRef, p.action.Ref)
		}()
		p.runtime, p.rtErr = m.actionRuntime(m.life, p.action)
		wg.Wait()
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
