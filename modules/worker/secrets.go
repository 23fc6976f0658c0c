package worker

import (
	"encoding/json"
	"fmt"

	"github.com/attune-system/attune/modules/store"
)

// decodeKeys turns the stored keys delivered to an action (spec §4.2 step
// 3: system, then pack, then action keys, later ones overriding earlier ones
// of the same name) into parameter values. Encrypted values are decrypted
// here and also returned as secrets, so the runner masks them; they only
// ever travel on stdin or in the parameter file.
func (m *Module) decodeKeys(keys []store.Key) (map[string]any, []string, error) {
	vals := make(map[string]any, len(keys))
	var secrets []string
	for _, k := range keys {
		v, err := m.keyValue(k)
		if err != nil {
			return nil, nil, err
		}
		if k.Encrypted {
			secrets = append(secrets, secretStrings(v)...)
		}
		vals[k.Name] = v
	}
	return vals, secrets, nil
}

func (m *Module) keyValue(k store.Key) (any, error) {
	var v any
	if !k.Encrypted {
		if err := json.Unmarshal(k.Value, &v); err != nil {
			return nil, fmt.Errorf("key %s: stored value is not JSON: %w", k.Ref, err)
		}
		return v, nil
	}
	if m.box == nil {
		return nil, fmt.Errorf("key %s is encrypted but security.encryption_key is not configured on this worker", k.Ref)
	}
	var stored string
	if err := json.Unmarshal(k.Value, &stored); err != nil {
		return nil, fmt.Errorf("key %s: encrypted value must be a JSON string: %w", k.Ref, err)
	}
	var err error
	if k.EncryptionKeyHash != nil && *k.EncryptionKeyHash != "" {
		err = m.box.DecryptRow(stored, *k.EncryptionKeyHash, k.Ref, &v)
	} else {
		err = m.box.Decrypt(stored, k.Ref, &v)
	}
	if err != nil {
		// The error names the key, never its value.
		return nil, fmt.Errorf("key %s: %w", k.Ref, err)
	}
	return v, nil
}

// secretStrings lists the literal texts of a secret value to mask: every
// string inside it, and the JSON text of non-string scalars and containers.
func secretStrings(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, secretStrings(e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, secretStrings(e)...)
		}
		return out
	default:
		b, _ := json.Marshal(x)
		return []string{string(b)}
	}
}

// fieldValues returns the values at dotted paths of params (for secret:true
// parameters), flattened to their literal texts.
func fieldValues(params map[string]any, paths []string) []string {
	var out []string
	for _, p := range paths {
		if v, ok := lookupPath(params, p); ok {
			out = append(out, secretStrings(v)...)
		}
	}
	return out
}

func lookupPath(m map[string]any, path string) (any, bool) {
	var cur any = m
	start := 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '.' {
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[path[start:i]]; !ok {
			return nil, false
		}
		start = i + 1
	}
	return cur, true
}
