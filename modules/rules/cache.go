package rules

import (
	"encoding/json"
	"sync"
	"time"
)

// Cache holds compiled conditions keyed by rule id and the rule's updated_at,
// so each rule version compiles once no matter how many events it sees.
// Compile errors are cached too: a broken rule is not recompiled per event.
// It is safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	max     int
	entries map[int64]cacheEntry
}

type cacheEntry struct {
	updated time.Time
	cond    *Condition
	err     error
}

// NewCache returns a cache holding at most max rules (default 10000 when
// max <= 0). When full, an arbitrary entry is evicted; it is recompiled on
// next use.
func NewCache(max int) *Cache {
	if max <= 0 {
		max = 10000
	}
	return &Cache{max: max, entries: make(map[int64]cacheEntry)}
}

// Get returns the compiled condition for the rule version (ruleID, updated),
// compiling conditions on a miss. An entry for an older version is replaced.
func (c *Cache) Get(ruleID int64, updated time.Time, conditions json.RawMessage) (*Condition, error) {
	c.mu.Lock()
	e, ok := c.entries[ruleID]
	c.mu.Unlock()
	if ok && e.updated.Equal(updated) {
		return e.cond, e.err
	}
	// Compile outside the lock: it is pure, and a concurrent duplicate
	// compile of the same version is harmless.
	cond, err := Compile(conditions)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.entries[ruleID]; ok && cur.updated.After(updated) {
		return cond, err // a newer version is already cached; keep it
	}
	if _, ok := c.entries[ruleID]; !ok && len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[ruleID] = cacheEntry{updated: updated, cond: cond, err: err}
	return cond, err
}

// Forget drops a rule, e.g. when it is deleted.
func (c *Cache) Forget(ruleID int64) {
	c.mu.Lock()
	delete(c.entries, ruleID)
	c.mu.Unlock()
}

// Len reports the number of cached rules.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
