package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminShutdown bounds how long the admin listener waits for a scrape or a profile in progress
// when the process stops.
const adminShutdown = 2 * time.Second

// adminHandler serves the operator's endpoints: /metrics (Prometheus) and /debug/pprof/. They
// are never mounted on the public listener (routes.go).
func adminHandler(m *metrics, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // otpidp's own promhttp_metric_handler_* metrics
	}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startAdmin listens on cfg.Obs.AdminAddr and serves adminHandler until ctx ends or the
// returned function is called, which stops it and waits. With the admin listener off (m nil)
// it does nothing.
func startAdmin(ctx context.Context, cfg Config, m *metrics, logger *slog.Logger) (stop func(), err error) {
	if m == nil || cfg.Obs.AdminAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.Obs.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("admin listener (%s): listen on %s: %w", envAdminAddr, cfg.Obs.AdminAddr, err)
	}
	if !cfg.Obs.adminIsLoopback() {
		logger.Warn("the admin listener (/metrics, /debug/pprof) takes connections from other hosts: keep it behind a firewall", "addr", ln.Addr().String())
	}
	srv := &http.Server{
		Handler:           adminHandler(m, logger),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("admin listener", "error", err)
		}
	}()
	stopping, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
		case <-stopping:
		case <-done:
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), adminShutdown)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
	}()
	logger.Info("admin listener: /metrics and /debug/pprof/", "addr", ln.Addr().String())
	var once sync.Once
	return func() {
		once.Do(func() { close(stopping) })
		<-stopped
		<-done
	}, nil
}
