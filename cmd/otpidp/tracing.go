package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otpidp/otpidp/provider/reqinfo"
)

// tracerName names the tracer of otpidp's own server spans.
const tracerName = "github.com/otpidp/otpidp/cmd/otpidp"

// startTracing exports traces over OTLP/HTTP to cfg.Obs.OTLPEndpoint (the standard
// OTEL_EXPORTER_OTLP_ENDPOINT; spans go to its /v1/traces) when it is set, and returns the
// function that flushes and stops the export. zitadel/oidc creates its spans through the
// global OpenTelemetry tracer provider, so the provider is installed there (as slog's default
// logger is for its logs); W3C trace context is read from incoming requests. Without an
// endpoint nothing is installed: the global provider stays OpenTelemetry's no-op one and no
// middleware is added (routes.go), so tracing costs nothing.
func startTracing(ctx context.Context, cfg Config, logger *slog.Logger) (stop func(context.Context) error, err error) {
	if cfg.Obs.OTLPEndpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.Obs.OTLPEndpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", cfg.Obs.ServiceName))),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { logger.Warn("trace export", "error", err) }))
	logger.Info("exporting traces", "endpoint", redactEndpoint(cfg.Obs.OTLPEndpoint), "service_name", cfg.Obs.ServiceName)
	return tp.Shutdown, nil
}

// redactEndpoint leaves user information and the query out of an endpoint URL in logs.
func redactEndpoint(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			s = s[:j+3] + s[i+1:]
		}
	}
	return s
}

// traceRequests starts a server span for each request, a child of the trace the request's
// traceparent header names, if any. The span is named by method and chi route pattern: the
// raw path and query (which may hold an authorization code) are never recorded.
func traceRequests(next http.Handler) http.Handler {
	tracer := otel.Tracer(tracerName)
	prop := otel.GetTextMapPropagator()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(ctx))
		route, status := routePattern(r), rec.code()
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status),
			attribute.String("otpidp.request_id", reqinfo.From(r.Context()).RequestID))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	})
}
