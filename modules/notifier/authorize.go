package notifier

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Entity types that carry their own delivery rules.
const (
	entityExecution     = "execution"
	entityEvent         = "event"
	entityEnforcement   = "enforcement"
	entityInquiry       = "inquiry"
	entityArtifact      = "artifact"
	entityRuleLifecycle = "rule_lifecycle"
)

// maxAncestors bounds the parent walk for execution_scope "descendants".
const maxAncestors = 16

// facts are what delivery checks need about a notification's entity,
// resolved once per notification (lookups are shared by every subscriber).
type facts struct {
	once   sync.Once
	ok     bool // false: the entity could not be resolved; deliver to nobody but admins
	target rbac.Target
	// executor is the identity that started the execution (executions and
	// inquiries), 0 when unknown.
	executor int64
}

// authorizer decides per subscriber whether a notification may be delivered
// (threat #11: NOTIFY payloads are visible to every DB user, so each message
// is checked against the subscriber's RBAC before it leaves the process).
type authorizer struct {
	st    *store.Store
	log   *slog.Logger
	cache *lookupCache
}

// allowed reports whether p may receive n.
func (a *authorizer) allowed(p *access.Principal, n *notification) bool {
	if isAdmin(p) {
		return true
	}
	f := a.facts(n)
	if !f.ok {
		return false
	}
	switch n.EntityType {
	case entityRuleLifecycle:
		if p.Can(f.target) {
			return true
		}
		// Sensors follow rule lifecycle of the trigger types they serve
		// (spec §5); their grants cover those triggers, not rules.
		tr := n.str("trigger_ref")
		return p.TokenType() == security.TokenSensor &&
			p.Can(rbac.Target{Resource: rbac.ResTriggers, Action: rbac.ActRead, PackRef: packOf(tr), Ref: tr})
	case entityExecution, entityInquiry:
		if p.Can(f.target) {
			return true
		}
		// A signed-in user always sees what they started. Execution tokens
		// stay capped to their own execution by the rbac ceiling.
		userToken := p.TokenType() == security.TokenAccess || p.TokenType() == security.TokenIntegration
		return userToken && f.executor > 0 && f.executor == p.IdentityID
	}
	return p.Can(f.target)
}

// isAdmin: holders of unconstrained permissions:manage see everything.
func isAdmin(p *access.Principal) bool {
	return rbac.Unconstrained(p.Subject, rbac.ResPermissions, rbac.ActManage)
}

func (a *authorizer) facts(n *notification) *facts {
	n.facts.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.resolve(ctx, n, n.facts); err != nil {
			n.facts.ok = false
			if !errors.Is(err, domain.ErrNotFound) {
				a.log.Warn("resolve notification entity; delivering to administrators only",
					"channel", n.Channel, "entity_type", n.EntityType, "entity_id", n.EntityID, "err", err)
			}
		}
	})
	return n.facts
}

func (a *authorizer) resolve(ctx context.Context, n *notification, f *facts) error {
	read := func(res, ref string) rbac.Target {
		return rbac.Target{Resource: res, Action: rbac.ActRead, PackRef: packOf(ref), Ref: ref, ID: n.EntityID}
	}
	switch n.EntityType {
	case entityExecution:
		t, executor, err := a.executionTarget(ctx, n.EntityID, rbac.ResExecutions)
		if err != nil {
			return err
		}
		t.ID = n.EntityID
		f.target, f.executor = t, executor
	case entityInquiry:
		execID, ok := n.int("execution")
		if !ok {
			return errors.New("inquiry notification without execution")
		}
		t, executor, err := a.executionTarget(ctx, execID, rbac.ResInquiries)
		if err != nil {
			return err
		}
		t.ID = n.EntityID
		f.target, f.executor = t, executor
	case entityEvent:
		ref := n.str("trigger_ref")
		if ref == "" {
			ev, err := cached(a.cache, ctx, "event", n.EntityID, a.st.EventGet)
			if err != nil {
				return err
			}
			ref = ev.TriggerRef
		}
		f.target = read(rbac.ResEvents, ref)
	case entityEnforcement:
		ref := n.str("rule_ref")
		if ref == "" {
			enf, err := cached(a.cache, ctx, "enforcement", n.EntityID, a.st.EnforcementGet)
			if err != nil {
				return err
			}
			ref = enf.RuleRef
		}
		f.target = read(rbac.ResEnforcements, ref)
	case entityRuleLifecycle:
		ref := n.str("rule_ref")
		if ref == "" {
			r, err := cached(a.cache, ctx, "rule", n.EntityID, a.st.RuleGet)
			if err != nil {
				return err
			}
			ref = r.Ref
		}
		f.target = read(rbac.ResRules, ref)
	case entityArtifact:
		if n.deferred() {
			return errors.New("compact artifact payload") // no store lookup for artifacts yet: admins only
		}
		t := rbac.Target{Resource: rbac.ResArtifacts, Action: rbac.ActRead, ID: n.EntityID,
			OwnerType: n.str("scope"), OwnerRef: n.str("owner"), Visibility: n.str("visibility")}
		switch {
		case t.OwnerType == "pack":
			t.PackRef = t.OwnerRef
		case t.OwnerType == "action" || t.OwnerType == "sensor":
			t.PackRef = packOf(t.OwnerRef)
		}
		if execID, ok := n.int("execution"); ok && t.PackRef == "" {
			ex, err := cached(a.cache, ctx, "execution", execID, a.st.ExecutionGet)
			if err == nil {
				t.PackRef = packOf(ex.ActionRef)
			}
		}
		f.target = t
	default:
		return errors.New("entity type without delivery rule")
	}
	f.ok = true
	return nil
}

// executionTarget describes execution id as a read target of res, with its
// executor and the executors of its ancestors.
func (a *authorizer) executionTarget(ctx context.Context, id int64, res string) (rbac.Target, int64, error) {
	ex, err := cached(a.cache, ctx, "execution", id, a.st.ExecutionGet)
	if err != nil {
		return rbac.Target{}, 0, err
	}
	t := rbac.Target{Resource: res, Action: rbac.ActRead, PackRef: packOf(ex.ActionRef), Ref: ex.ActionRef}
	if ex.Executor != nil {
		t.ExecutorID = *ex.Executor
	}
	parent := ex.Parent
	for i := 0; parent != nil && i < maxAncestors; i++ {
		anc, err := cached(a.cache, ctx, "execution", *parent, a.st.ExecutionGet)
		if err != nil {
			break // a deleted ancestor only narrows visibility
		}
		if anc.Executor != nil {
			t.AncestorExecutorIDs = append(t.AncestorExecutorIDs, *anc.Executor)
		}
		parent = anc.Parent
	}
	return t, t.ExecutorID, nil
}

// packOf is the pack part of a "pack.name" ref.
func packOf(ref string) string {
	p, _, ok := strings.Cut(ref, ".")
	if !ok {
		return ""
	}
	return p
}

// lookupCacheTTL keeps entity lookups briefly: the fields used (refs,
// executor, parent) never change for a row, so the TTL only bounds memory
// and the window in which a deleted row still resolves.
const lookupCacheTTL = 30 * time.Second

type cacheEntry struct {
	val     any
	err     error
	expires time.Time
}

// lookupCache caches entity lookups by kind and id, including "not found".
type lookupCache struct {
	mu sync.Mutex
	m  map[string]cacheEntry
}

func newLookupCache() *lookupCache { return &lookupCache{m: map[string]cacheEntry{}} }

func cached[T any](c *lookupCache, ctx context.Context, kind string, id int64,
	get func(context.Context, int64) (T, error)) (T, error) {
	key := kind + ":" + strconv.FormatInt(id, 10)
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		v, _ := e.val.(T)
		return v, e.err
	}
	v, err := get(ctx, id)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return v, err // transient errors are not cached
	}
	c.mu.Lock()
	if len(c.m) > 50_000 { // bound memory; entries are cheap to rebuild
		clear(c.m)
	}
	c.m[key] = cacheEntry{val: v, err: err, expires: now.Add(lookupCacheTTL)}
	c.mu.Unlock()
	return v, err
}
