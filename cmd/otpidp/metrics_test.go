package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

// refusingStore refuses every Take by its first limit, and keeps audit events.
type refusingStore struct {
	storage.Storage
	events []storage.AuditEvent
}

func (*refusingStore) Take(_ context.Context, now time.Time, ls ...storage.Limit) (*storage.Refusal, error) {
	return &storage.Refusal{Limit: ls[0], ResetAt: now.Add(time.Minute)}, nil
}

func (s *refusingStore) AppendAudit(_ context.Context, e storage.AuditEvent) error {
	s.events = append(s.events, e)
	return nil
}

// TestLimitRefusalsByName: a refusal seen by the store is counted under the very name the
// Limiter reports in its Refusal, for every window limit, with configured windows (the hourly
// and daily per-phone limits share their key prefix and differ only by window).
func TestLimitRefusalsByName(t *testing.T) {
	cfg, err := loadConfig(nil, mapEnv(map[string]string{
		"OTPIDP_SMS_LIMIT_PHONE_HOURLY": "3/2h",
		"OTPIDP_SMS_LIMIT_PHONE_DAILY":  "7/48h",
		"OTPIDP_TOKEN_LIMIT_CLIENT":     "50/5m",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics()
	store := observedStore{Storage: &refusingStore{}, m: m, limit: limitNamer(cfg)}
	rates := cfg.authLimits().Rates()
	lim := limits.New(store, rates)
	n := 0
	for _, name := range limits.Names() {
		if s, _ := limits.Lookup(name); s.Factor != "" || s.Memory {
			continue
		}
		n++
		r, err := lim.Take(t.Context(), time.Now(), limits.Hit{Name: name, Subject: "+15551234567"})
		if err != nil || r == nil || r.Name != name {
			t.Fatalf("Take(%s) = %+v, %v", name, r, err)
		}
		if got := testutil.ToFloat64(m.refusals.WithLabelValues(string(name))); got != 1 {
			t.Errorf("otpidp_limit_refusals_total{limit=%q} = %v, want 1", name, got)
		}
	}
	if got := testutil.CollectAndCount(m.refusals); got != n {
		t.Errorf("%d refusal series, want %d (one per window limit)", got, n)
	}
}

// TestAuditMetrics: the audit events of a sign-in feed the sign-in steps, the codes by country
// calling code and the lockouts; an unknown event name cannot grow the series.
func TestAuditMetrics(t *testing.T) {
	m := newMetrics()
	back := &refusingStore{}
	store := observedStore{Storage: back, m: m, limit: func(storage.Limit) limits.Name { return "" }}
	log := audit.New(store, nil, nil)
	ctx := t.Context()
	log.Record(ctx, audit.Entry{Event: audit.CodeSent, Phone: "+447700900123", Detail: "login"})
	log.Record(ctx, audit.Entry{Event: audit.CodeFailed, Phone: "+447700900123"})
	log.Record(ctx, audit.Entry{Event: audit.CodeOK, Phone: "+447700900123"})
	log.Record(ctx, audit.Entry{Event: audit.CodeSent, Phone: "+14155552671"})
	log.Record(ctx, audit.Entry{Event: audit.LockoutSMS, Phone: "+14155552671"})
	log.Record(ctx, audit.Entry{Event: audit.PasswordFailed, Phone: "+14155552671"})
	log.Record(ctx, audit.Entry{Event: "made.up"})
	if len(back.events) != 7 {
		t.Fatalf("%d events reached the store, want 7", len(back.events))
	}
	for _, c := range []struct {
		got  float64
		want float64
		what string
	}{
		{testutil.ToFloat64(m.codes.WithLabelValues("sent", "44")), 1, "codes sent to +44"},
		{testutil.ToFloat64(m.codes.WithLabelValues("failed", "44")), 1, "codes failed to +44"},
		{testutil.ToFloat64(m.codes.WithLabelValues("verified", "44")), 1, "codes verified to +44"},
		{testutil.ToFloat64(m.codes.WithLabelValues("sent", "1")), 1, "codes sent to +1"},
		{testutil.ToFloat64(m.lockouts.WithLabelValues("sms")), 1, "SMS lockouts"},
		{testutil.ToFloat64(m.signIn.WithLabelValues("password", "failed")), 1, "failed passwords"},
		{testutil.ToFloat64(m.signIn.WithLabelValues("code", "sent")), 2, "codes sent"},
		{testutil.ToFloat64(m.events.WithLabelValues("other")), 1, "unknown events"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	for _, e := range back.events {
		if strings.Contains(e.PhoneMasked, "7700900") || strings.Contains(e.PhoneMasked, "4155552") {
			t.Errorf("the stored phone is not masked: %q", e.PhoneMasked)
		}
	}
}

func TestCountryCode(t *testing.T) {
	for in, want := range map[string]string{
		"+1•••••••71": "1", "+44•••••••23": "44", "+598•••••••12": "598", "": "unknown", "•••••••12": "unknown", "+•••": "unknown",
	} {
		if got := countryCode(in); got != want {
			t.Errorf("countryCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSendMetrics: each send's outcome is named, the breaker's fast failure apart from
// Twilio's own.
func TestSendMetrics(t *testing.T) {
	m := newMetrics()
	for _, err := range []error{nil, sms.ErrCircuitOpen, sms.ErrUnavailable, sms.ErrUndeliverable, sms.ErrAlreadySent, context.Canceled, errors.New("x")} {
		s := sendMetrics{next: sms.SenderFunc(func(context.Context, sms.Message) error { return err }), m: m}
		if got := s.Send(t.Context(), sms.Message{}); got != err {
			t.Fatalf("Send returned %v, want %v", got, err)
		}
	}
	for _, o := range []string{"ok", "circuit_open", "unavailable", "undeliverable", "already_sent", "canceled", "error"} {
		if got := testutil.ToFloat64(m.smsSends.WithLabelValues(o)); got != 1 {
			t.Errorf("otpidp_sms_sends_total{outcome=%q} = %v, want 1", o, got)
		}
	}
}

// TestPoolMetrics: the pool collector reports the backend's pool, PostgreSQL's too.
func TestPoolMetrics(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			m := newMetrics()
			m.observeStore(Config{}, open(t), nil)
			pool := map[string]string{"sqlite": "sqlite_writer", "postgres": "postgres"}[name]
			families, err := m.reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range families {
				if f.GetName() != "otpidp_db_pool_max_connections" {
					continue
				}
				for _, s := range f.GetMetric() {
					if s.GetLabel()[0].GetValue() == pool && s.GetGauge().GetValue() > 0 {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("no otpidp_db_pool_max_connections{pool=%q} > 0", pool)
			}
		})
	}
}

// BenchmarkObserve measures what the request middleware adds to a request: metrics by route
// pattern, with and without the access log (JSON, discarded).
func BenchmarkObserve(b *testing.B) {
	for _, mode := range []string{"none", "metrics", "metrics+access_log"} {
		b.Run(mode, func(b *testing.B) {
			d := deps{cfg: Config{Obs: ObsConfig{AccessLog: mode == "metrics+access_log", LogFormat: logFormatJSON}}, metrics: newMetrics()}
			d.logger = newLogger(Config{LogLevel: "info", Obs: ObsConfig{LogFormat: logFormatJSON}}, io.Discard, d.metrics)
			r := chi.NewRouter()
			r.Use(reqinfo.Middleware(nil))
			if mode != "none" {
				r.Use(observe(d))
			}
			r.Get("/healthz", handleHealthz)
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			b.ReportAllocs()
			for b.Loop() {
				r.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
