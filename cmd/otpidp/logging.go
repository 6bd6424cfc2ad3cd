package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/otpidp/otpidp/provider/reqinfo"
)

// accessLogMessage is the message of the access log's lines, one per request.
const accessLogMessage = "request"

// Log sampling: at most logBurst lines with one message (and level) per logWindow; the next
// line let through after a flood carries "suppressed", the number left out.
const (
	logBurst  = 20
	logWindow = time.Second
)

// newLogger returns the process's logger: JSON or text on w at the configured level. Every line
// logged with a request's context carries its request_id (and trace_id when tracing), and one
// kind of line that floods (a refusal repeated thousands of times a second in an outage) is
// sampled (SECURITY.md LOG-03, LOG-06). m counts the lines left out; it may be nil.
func newLogger(cfg Config, w io.Writer, m *metrics) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	var h slog.Handler
	if cfg.Obs.LogFormat == logFormatJSON {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	s := &sampler{burst: logBurst, window: logWindow, now: time.Now, seen: map[sampleKey]*sampleWindow{}}
	if m != nil {
		s.dropped = func(l slog.Level) { m.logDropped.WithLabelValues(l.String()).Inc() }
	}
	return slog.New(requestHandler{next: h, sampler: s})
}

// requestHandler adds the request's ID (reqinfo) and trace ID to every record logged with its
// context, and samples floods.
type requestHandler struct {
	next    slog.Handler
	sampler *sampler
}

func (h requestHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h requestHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message != accessLogMessage {
		keep, suppressed := h.sampler.keep(r.Level, r.Message)
		if !keep {
			return nil
		}
		if suppressed > 0 {
			r = r.Clone()
			r.AddAttrs(slog.Int("suppressed", suppressed))
		}
	}
	if ctx != nil {
		if id := reqinfo.From(ctx).RequestID; id != "" {
			r = r.Clone()
			r.AddAttrs(slog.String("request_id", id))
		}
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			r = r.Clone()
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h requestHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestHandler{next: h.next.WithAttrs(attrs), sampler: h.sampler}
}

func (h requestHandler) WithGroup(name string) slog.Handler {
	return requestHandler{next: h.next.WithGroup(name), sampler: h.sampler}
}

// sampler lets at most burst records of one kind (level and message) through per window and
// counts the others; the first record let through after a suppression reports their number.
// It is shared by every handler derived from the logger.
type sampler struct {
	burst   int
	window  time.Duration
	now     func() time.Time
	dropped func(slog.Level)

	mu   sync.Mutex
	seen map[sampleKey]*sampleWindow
}

type sampleKey struct {
	level slog.Level
	msg   string
}

type sampleWindow struct {
	start      time.Time
	n          int // records let through in this window
	suppressed int // records left out since the last one let through
}

// maxSampleKinds bounds the sampler's memory: past it, windows that ended are forgotten.
const maxSampleKinds = 4096

func (s *sampler) keep(l slog.Level, msg string) (keep bool, suppressed int) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := sampleKey{l, msg}
	w := s.seen[k]
	if w == nil {
		if len(s.seen) >= maxSampleKinds {
			for key, old := range s.seen {
				if now.Sub(old.start) >= s.window && old.suppressed == 0 {
					delete(s.seen, key)
				}
			}
		}
		w = &sampleWindow{start: now}
		s.seen[k] = w
	}
	if now.Sub(w.start) >= s.window {
		w.start, w.n = now, 0
	}
	if w.n >= s.burst {
		w.suppressed++
		if s.dropped != nil {
			s.dropped(l)
		}
		return false, 0
	}
	w.n++
	suppressed, w.suppressed = w.suppressed, 0
	return true, suppressed
}

// observe is the first middleware after reqinfo: it measures every request (metrics by chi
// route pattern, never the raw path) and writes its access log line.
func observe(d deps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w}
			done := false
			defer func() {
				status := rec.code()
				if !done && rec.status == 0 {
					status = http.StatusInternalServerError // a panic: recoverer answers 500
				}
				route := routePattern(r)
				dur := time.Since(start)
				d.metrics.observeRequest(route, r.Method, status, dur)
				if d.cfg.Obs.AccessLog {
					level := slog.LevelInfo
					if status >= 500 {
						level = slog.LevelWarn
					}
					d.logger.LogAttrs(r.Context(), level, accessLogMessage,
						slog.String("method", r.Method), slog.String("route", route),
						slog.Int("status", status), slog.Float64("duration_ms", float64(dur.Microseconds())/1000),
						slog.Int64("bytes", rec.bytes), slog.String("client_ip", reqinfo.From(r.Context()).IPString()))
				}
			}()
			next.ServeHTTP(rec, r)
			done = true
		})
	}
}

// routePattern is the chi route pattern that served r ("/login", "/static/*"), or "unmatched"
// for the not-found handler.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}
