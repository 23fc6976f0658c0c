// Package httpserver is the hidden `http` module: the one listener every role
// has. It serves /livez, /readyz, /metrics and /version itself and routes
// everything else to handlers that other modules mount as they start. It is
// started first and stopped last, so health stays visible during a drain.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/attune-system/attune/modules/buildinfo"
	"github.com/attune-system/attune/modules/kernel"
)

// ReadinessFunc reports the process's checks and whether all pass.
type ReadinessFunc func(ctx context.Context) ([]kernel.Check, bool)

// Server is the http module.
type Server struct {
	cfg       Config
	log       *slog.Logger
	readiness ReadinessFunc
	metrics   *prometheus.Registry

	mu     sync.Mutex
	mounts atomic.Pointer[[]mount]

	ln       net.Listener
	addr     atomic.Pointer[string] // bound address, readable from any goroutine
	srv      *http.Server
	draining atomic.Bool
	served   chan error
	stopOnce sync.Once
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

type mount struct {
	prefix string
	name   string
	h      http.Handler
}

// New builds the server. readiness may be set later with SetReadiness, since
// the runner that answers it is built after the modules are defined.
func New(cfg Config, log *slog.Logger, metrics *prometheus.Registry) *Server {
	s := &Server{cfg: cfg, log: log, metrics: metrics, served: make(chan error, 1)}
	s.mounts.Store(&[]mount{})
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attune_http_requests_total", Help: "HTTP requests by handler and status class.",
	}, []string{"handler", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "attune_http_request_duration_seconds", Help: "HTTP request latency by handler.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"handler"})
	metrics.MustRegister(s.requests, s.duration)
	return s
}

// SetReadiness installs the function behind /readyz.
func (s *Server) SetReadiness(f ReadinessFunc) { s.readiness = f }

// Mount routes requests whose path starts with prefix to h. The longest
// matching prefix wins. Safe to call while serving: mounts are copy-on-write.
func (s *Server) Mount(name, prefix string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.mounts.Load()
	next := make([]mount, 0, len(cur)+1)
	for _, m := range cur {
		if m.prefix != prefix {
			next = append(next, m)
		}
	}
	next = append(next, mount{prefix: prefix, name: name, h: h})
	sort.Slice(next, func(i, j int) bool { return len(next[i].prefix) > len(next[j].prefix) })
	s.mounts.Store(&next)
}

// Unmount removes a prefix (a module stopping stops serving its routes).
func (s *Server) Unmount(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.mounts.Load()
	next := make([]mount, 0, len(cur))
	for _, m := range cur {
		if m.prefix != prefix {
			next = append(next, m)
		}
	}
	s.mounts.Store(&next)
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() string {
	if p := s.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// URL is the base URL clients use: server.public_url, or the bound address
// ("" before Start).
func (s *Server) URL() string {
	if s.Addr() == "" {
		return ""
	}
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	host, port, _ := net.SplitHostPort(s.Addr())
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Start binds the listener and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(s.cfg.Host, fmt.Sprint(s.cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	s.ln = ln
	addr := ln.Addr().String()
	s.addr.Store(&addr)
	s.srv = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	s.log.Info("listening", "addr", s.Addr(), "url", s.URL())
	return nil
}

// Failed reports a listener that died on its own.
func (s *Server) Failed() <-chan error { return s.served }

// Drain flips /readyz to 503 before any module stops.
func (s *Server) Drain() { s.draining.Store(true) }

// Stop closes the listener and waits for in-flight requests within ctx.
func (s *Server) Stop(ctx context.Context) error {
	var err error
	s.stopOnce.Do(func() {
		s.draining.Store(true)
		if s.srv == nil {
			return
		}
		err = s.srv.Shutdown(ctx)
		if err != nil {
			_ = s.srv.Close()
		}
	})
	return err
}

func (s *Server) handler() http.Handler {
	metrics := promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{Registry: s.metrics})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		begin := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if rid == "" || len(rid) > 128 {
			rid = newRequestID()
		}
		w.Header().Set("X-Request-Id", rid)
		r = r.WithContext(WithRequestID(r.Context(), rid))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		name := s.route(rec, r, metrics)
		elapsed := time.Since(begin)
		s.requests.WithLabelValues(name, fmt.Sprintf("%dxx", rec.status/100)).Inc()
		s.duration.WithLabelValues(name).Observe(elapsed.Seconds())
		if name != "health" && name != "metrics" {
			s.log.Debug("request", "request_id", rid, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "took_ms", elapsed.Milliseconds(), "remote", r.RemoteAddr)
		}
	})
}

// route serves the built-in endpoints or dispatches to a mount, returning a
// bounded-cardinality handler name for metrics.
func (s *Server) route(w http.ResponseWriter, r *http.Request, metrics http.Handler) string {
	switch r.URL.Path {
	case "/livez", "/healthz":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return "health"
	case "/readyz":
		s.serveReady(w, r)
		return "health"
	case "/metrics":
		metrics.ServeHTTP(w, r)
		return "metrics"
	case "/version":
		writeJSON(w, http.StatusOK, buildinfo.Get())
		return "version"
	}
	for _, m := range *s.mounts.Load() {
		if strings.HasPrefix(r.URL.Path, m.prefix) {
			m.h.ServeHTTP(w, r)
			return m.name
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "no route for " + r.URL.Path, "code": "NOT_FOUND"})
	return "none"
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	var checks []kernel.Check
	ok := false
	if s.readiness != nil {
		checks, ok = s.readiness(r.Context())
	}
	if s.draining.Load() {
		ok = false
		checks = append(checks, kernel.Check{Name: "process", Err: kernel.ErrDraining.Error()})
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		body := kernel.Describe(checks)
		if ok {
			body += "readyz check passed\n"
		} else {
			body += "readyz check failed\n"
		}
		_, _ = w.Write([]byte(body))
		return
	}
	if ok {
		writeJSON(w, status, map[string]string{"status": "ready"})
		return
	}
	writeJSON(w, status, map[string]any{"status": "not ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush/Hijack (SSE, WebSocket).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
