package kernel

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector registers c with reg and returns it, or returns the identical
// collector already registered there (a second instance of a module in one
// process, as in tests) instead of failing. A nil reg registers nothing.
func Collector[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
