//go:build pprof

// A profiling build (`go build -tags pprof`) serves net/http/pprof on
// ATTUNE_PPROF_ADDR (e.g. 127.0.0.1:6060) in every attune process. It is a
// separate build so a production binary never carries the handlers.
package main

import (
	"net/http"
	_ "net/http/pprof" // registers the /debug/pprof handlers
	"os"
)

func init() {
	if addr := os.Getenv("ATTUNE_PPROF_ADDR"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
