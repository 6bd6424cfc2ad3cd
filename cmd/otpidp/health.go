package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// readyTimeout bounds /readyz's own check of the database, whatever OTPIDP_DB_TIMEOUT is: a
// load balancer's probe must get an answer before its own timeout.
const readyTimeout = time.Second

// readiness is what /readyz reports: not ready once the shutdown has begun (so that a load
// balancer stops sending requests while the listener still serves them), nor while the
// database does not answer.
type readiness struct {
	draining atomic.Bool
}

// readyChecker is storage/deadline's Ready: a recent successful call makes the store ready
// without queueing behind a busy pool.
type readyChecker interface {
	Ready(ctx context.Context) error
}

// handleReadyz is readiness: 503 with Retry-After at once while draining; otherwise the
// database answers within readyTimeout (SECURITY.md REL-17).
func handleReadyz(store storage.Storage, state *readiness, logger *slog.Logger) http.HandlerFunc {
	check := store.Ping
	if rc, ok := store.(readyChecker); ok {
		check = rc.Ready
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if state != nil && state.draining.Load() {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := check(ctx); err != nil {
			logger.WarnContext(r.Context(), "not ready", "error", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	}
}
