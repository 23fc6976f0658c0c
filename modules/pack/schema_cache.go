package pack

import "sync"

// schemaCacheSize bounds the compiled schemas kept by CachedParamSchema: one
// per distinct schema text, so it only needs to cover the actions that run
// often.
const schemaCacheSize = 1024

type cachedSchema struct {
	s   *ParamSchema
	err error
}

var schemaCache = struct {
	sync.RWMutex
	m map[string]cachedSchema
}{m: map[string]cachedSchema{}}

// CachedParamSchema is ParseParamSchema memoised by the schema's text.
// Parsing and compiling a schema costs far more than the validation it
// serves, and the executor and worker need the same action's schema for
// every execution. Keying by content needs no invalidation: an edited
// action has new text. A *ParamSchema is immutable, so sharing one between
// goroutines is safe.
func CachedParamSchema(data []byte) (*ParamSchema, error) {
	key := string(data)
	schemaCache.RLock()
	c, ok := schemaCache.m[key]
	schemaCache.RUnlock()
	if ok {
		return c.s, c.err
	}
	s, err := ParseParamSchema(data)
	schemaCache.Lock()
	if len(schemaCache.m) >= schemaCacheSize {
		// Evict an arbitrary entry: re-parsing a schema is only slow, never
		// wrong, and a deployment rarely runs this many distinct actions.
		for k := range schemaCache.m {
			delete(schemaCache.m, k)
			break
		}
	}
	schemaCache.m[key] = cachedSchema{s: s, err: err}
	schemaCache.Unlock()
	return s, err
}
