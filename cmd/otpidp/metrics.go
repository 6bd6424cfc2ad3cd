package main

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

// metrics are otpidp's Prometheus metrics, all named otpidp_…, on a registry of their own
// (served on the admin listener, admin.go). They are fed from a few single points rather than
// from calls spread through the code: the HTTP middleware (requests by chi route pattern),
// the store (every audit event and every refusal of a rate limit pass through it: see
// observedStore), the SMS sender (sendMetrics, around the circuit breaker) and the token
// endpoint (grants). A nil *metrics records nothing. (SECURITY.md LOG-04)
type metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec   // route, method, status
	latency     *prometheus.HistogramVec // route, method
	events      *prometheus.CounterVec   // event
	signIn      *prometheus.CounterVec   // step, outcome
	codes       *prometheus.CounterVec   // result, country_code
	lockouts    *prometheus.CounterVec   // kind
	refusals    *prometheus.CounterVec   // limit
	tokens      *prometheus.CounterVec   // grant_type
	smsSends    *prometheus.CounterVec   // outcome
	smsLatency  *prometheus.HistogramVec // outcome
	breaker     prometheus.Gauge
	breakerMove *prometheus.CounterVec // to
	logDropped  *prometheus.CounterVec // level
}

// Label values outside a fixed set are folded into "other", so that a client cannot grow the
// number of series.
const labelOther = "other"

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_http_requests_total", Help: "HTTP requests answered, by chi route pattern, method and status code.",
	}, []string{"route", "method", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "otpidp_http_request_duration_seconds", Help: "Time to answer an HTTP request, by chi route pattern and method.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "method"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_audit_events_total", Help: "Audit events recorded, by event name (provider/audit).",
	}, []string{"event"})
	m.signIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_signin_steps_total", Help: "Sign-in steps by step (password, code, recovery_code, registration, reset) and outcome.",
	}, []string{"step", "outcome"})
	m.codes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_sms_codes_total", Help: "SMS codes sent, verified and failed (wrong code), by the country calling code of the number: verified/sent is the conversion.",
	}, []string{"result", "country_code"})
	m.lockouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_lockouts_total", Help: "Lockouts: password (sign-ins delayed), sms (SMS factor disabled), recovery (recovery codes no longer checked).",
	}, []string{"kind"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_limit_refusals_total", Help: "Requests refused by a rate limit, by limit name (README: Limits).",
	}, []string{"limit"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_tokens_issued_total", Help: "Successful token endpoint responses, by grant type.",
	}, []string{"grant_type"})
	m.smsSends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_sms_sends_total", Help: "Messages handed to the SMS provider, by outcome (ok, undeliverable, unavailable, circuit_open, already_sent, canceled, error).",
	}, []string{"outcome"})
	m.smsLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "otpidp_sms_send_duration_seconds", Help: "Time the SMS provider took to take (or refuse) a message, by outcome.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2, 3, 5, 10, 30},
	}, []string{"outcome"})
	m.breaker = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "otpidp_sms_breaker_state", Help: "The SMS provider's circuit breaker: 0 closed, 1 open (sends fail fast), 2 half-open (one probe under way).",
	})
	m.breakerMove = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_sms_breaker_transitions_total", Help: "Changes of state of the SMS circuit breaker, by the state entered.",
	}, []string{"to"})
	m.logDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "otpidp_log_suppressed_total", Help: "Log lines left out because one kind of line flooded (at most a few per second per message).",
	}, []string{"level"})
	m.reg.MustRegister(m.requests, m.latency, m.events, m.signIn, m.codes, m.lockouts, m.refusals,
		m.tokens, m.smsSends, m.smsLatency, m.breaker, m.breakerMove, m.logDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "otpidp"}))
	return m
}

// observeRequest counts one answered request.
func (m *metrics) observeRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	method = knownMethod(method)
	m.requests.WithLabelValues(route, method, statusLabel(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return labelOther
}

func statusLabel(status int) string {
	if status < 100 || status > 599 {
		return labelOther
	}
	return itoa3(status)
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// signInSteps maps the audit events of the sign-in to a step and an outcome.
var signInSteps = map[audit.Event][2]string{
	audit.PasswordOK:         {"password", "ok"},
	audit.PasswordFailed:     {"password", "failed"},
	audit.LoginThrottled:     {"password", "throttled"},
	audit.LoginRateLimited:   {"password", "rate_limited"},
	audit.CodeSent:           {"code", "sent"},
	audit.CodeOK:             {"code", "ok"},
	audit.CodeFailed:         {"code", "failed"},
	audit.SMSRefused:         {"code", "refused"},
	audit.RecoveryCodeOK:     {"recovery_code", "ok"},
	audit.RecoveryCodeFailed: {"recovery_code", "failed"},
	audit.UserRegistered:     {"registration", "ok"},
	audit.ResetRequested:     {"reset", "requested"},
	audit.ResetVerified:      {"reset", "verified"},
	audit.ResetFailed:        {"reset", "failed"},
	audit.PasswordReset:      {"reset", "ok"},
}

// codeResults maps the events of sign-in and registration codes to their result: a
// registration is recorded once its code was right (user.registered). Password resets are
// counted in otpidp_signin_steps_total only.
var codeResults = map[audit.Event]string{
	audit.CodeSent: "sent", audit.CodeOK: "verified", audit.UserRegistered: "verified", audit.CodeFailed: "failed",
}

var lockoutKinds = map[audit.Event]string{audit.LockoutPassword: "password", audit.LockoutSMS: "sms", audit.LockoutRecovery: "recovery"}

// observeAudit counts one audit event. Event names are the constants of provider/audit; any
// other is counted as "other".
func (m *metrics) observeAudit(e storage.AuditEvent) {
	if m == nil {
		return
	}
	ev := audit.Event(e.Event)
	if _, ok := knownEvents[ev]; ok {
		m.events.WithLabelValues(e.Event).Inc()
	} else {
		m.events.WithLabelValues(labelOther).Inc()
	}
	if s, ok := signInSteps[ev]; ok {
		m.signIn.WithLabelValues(s[0], s[1]).Inc()
	}
	if r, ok := codeResults[ev]; ok {
		m.codes.WithLabelValues(r, countryCode(e.PhoneMasked)).Inc()
	}
	if k, ok := lockoutKinds[ev]; ok {
		m.lockouts.WithLabelValues(k).Inc()
	}
}

var knownEvents = func() map[audit.Event]bool {
	out := map[audit.Event]bool{}
	for _, e := range []audit.Event{
		audit.PasswordOK, audit.PasswordFailed, audit.PasswordRehashed, audit.CodeSent, audit.CodeOK,
		audit.CodeFailed, audit.UserRegistered, audit.LoginThrottled, audit.LoginRateLimited,
		audit.LockoutPassword, audit.LockoutSMS, audit.LockoutRecovery, audit.SMSRefused,
		audit.SMSFactorRestored, audit.RecoveryCodeOK, audit.RecoveryCodeFailed,
		audit.RecoveryCodesIssued, audit.ResetRequested, audit.ResetVerified, audit.ResetFailed,
		audit.PasswordReset, audit.PasswordChanged, audit.PasswordChangeFailed, audit.NoticeSent,
		audit.NoticeNotSent, audit.SessionEnded, audit.AppRemoved, audit.TokenIssued,
		audit.TokenRefreshed, audit.TokenRevoked, audit.ProtocolRateLimited, audit.SMSPaused,
		audit.SMSResumed,
	} {
		out[e] = true
	}
	return out
}()

// countryCode is the country calling code of a masked phone number ("+44•••••••67" → "44"),
// "unknown" when there is none. The audit log only ever sees masked numbers; the calling code
// is all of the number a metric keeps.
func countryCode(masked string) string {
	rest, ok := strings.CutPrefix(masked, "+")
	if !ok {
		return "unknown"
	}
	n := 0
	for n < len(rest) && n < 3 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 {
		return "unknown"
	}
	return rest[:n]
}

// observeRefusal counts one refusal of a named limit.
func (m *metrics) observeRefusal(n limits.Name) {
	if m == nil {
		return
	}
	m.refusals.WithLabelValues(string(n)).Inc()
}

// grantTypes are the grant types counted by name; any other is "other".
var grantTypes = map[string]string{
	"authorization_code": "authorization_code",
	"refresh_token":      "refresh_token",
	"client_credentials": "client_credentials",
	"urn:ietf:params:oauth:grant-type:device_code":    "device_code",
	"urn:ietf:params:oauth:grant-type:jwt-bearer":     "jwt_bearer",
	"urn:ietf:params:oauth:grant-type:token-exchange": "token_exchange",
}

// tokenGrants wraps the token endpoint: a 200 answer counts one issuance under the request's
// grant_type (the form is parsed by protocolLimits, which next includes).
func (m *metrics) tokenGrants(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.code() != http.StatusOK {
			return
		}
		g, ok := grantTypes[r.PostForm.Get("grant_type")]
		if !ok {
			g = labelOther
		}
		m.tokens.WithLabelValues(g).Inc()
	})
}

// observedStore is the store as the server uses it: every audit event and every limit refusal
// passes through here on its way to the database, so they are counted here once (the audit log
// and the limiter of every package write through the store they were given).
type observedStore struct {
	storage.Storage
	m     *metrics
	limit func(storage.Limit) limits.Name
}

// AppendAudit counts the event, then stores it.
func (s observedStore) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	s.m.observeAudit(e)
	return s.Storage.AppendAudit(ctx, e)
}

// Take counts a refusal under the name of the limit that refused.
func (s observedStore) Take(ctx context.Context, now time.Time, ls ...storage.Limit) (*storage.Refusal, error) {
	r, err := s.Storage.Take(ctx, now, ls...)
	if r != nil {
		s.m.observeRefusal(s.limit(r.Limit))
	}
	return r, err
}

// observeStore returns store wrapped so that the metrics see its audit events and refusals,
// and registers the pool's and the signing keys' collectors. With nil metrics it returns store.
func (m *metrics) observeStore(cfg Config, store storage.Storage, logger *slog.Logger) storage.Storage {
	if m == nil {
		return store
	}
	m.reg.MustRegister(&poolCollector{store: store}, newKeyCollector(store, logger))
	return observedStore{Storage: store, m: m, limit: limitNamer(cfg)}
}

// limitNamer returns the function that names the limit of a store key: the window limit whose
// key prefix starts it (the longest, as "sms:phone:" and "sms:prefix:" differ) and, where two
// share a prefix (sms_phone_1h and sms_phone_24h), whose configured window is the key's.
func limitNamer(cfg Config) func(storage.Limit) limits.Name {
	rates := cfg.authLimits().Rates()
	effective := limits.New(nil, rates)
	type cand struct {
		name   limits.Name
		prefix string
	}
	var cands []cand
	for _, n := range limits.Names() {
		if s, ok := limits.Lookup(n); ok && s.Factor == "" && !s.Memory {
			cands = append(cands, cand{n, s.Prefix})
		}
	}
	return func(l storage.Limit) limits.Name {
		best, bestLen := limits.Name(labelOther), -1
		for _, c := range cands {
			if !strings.HasPrefix(l.Key, c.prefix) || len(c.prefix) < bestLen {
				continue
			}
			if len(c.prefix) == bestLen && effective.Rate(c.name).Per != l.Window {
				continue
			}
			best, bestLen = c.name, len(c.prefix)
		}
		return best
	}
}

// sendMetrics wraps an SMS sender: each send's outcome and duration.
type sendMetrics struct {
	next sms.Sender
	m    *metrics
}

func (s sendMetrics) Send(ctx context.Context, msg sms.Message) error {
	start := time.Now()
	err := s.next.Send(ctx, msg)
	o := sendOutcome(err)
	s.m.smsSends.WithLabelValues(o).Inc()
	s.m.smsLatency.WithLabelValues(o).Observe(time.Since(start).Seconds())
	return err
}

func sendOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, sms.ErrCircuitOpen):
		return "circuit_open"
	case errors.Is(err, sms.ErrUndeliverable):
		return "undeliverable"
	case errors.Is(err, sms.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return "unavailable"
	case errors.Is(err, sms.ErrAlreadySent):
		return "already_sent"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

// smsSender is the sender the authenticator uses: the configured one behind a circuit breaker
// (Twilio only: the console cannot fail) and, with metrics, measured.
func smsSender(d deps) sms.Sender {
	s := d.sender
	if d.cfg.SMS != smsConsole {
		s = sms.NewBreaker(s, sms.BreakerConfig{
			Failures: d.cfg.Obs.BreakerFailures, CoolDown: d.cfg.Obs.BreakerCoolDown, Now: d.now,
			OnStateChange: func(from, to sms.BreakerState) {
				level := slog.LevelWarn
				if to == sms.BreakerClosed {
					level = slog.LevelInfo
				}
				d.logger.Log(context.Background(), level, "SMS circuit breaker", "from", from.String(), "to", to.String())
				if d.metrics != nil {
					d.metrics.breaker.Set(float64(to))
					d.metrics.breakerMove.WithLabelValues(to.String()).Inc()
				}
			},
		})
	}
	if d.metrics == nil {
		return s
	}
	return sendMetrics{next: s, m: d.metrics}
}

// poolCollector reports the database pool: PostgreSQL's pgxpool, or SQLite's writer and
// reader pools.
type poolCollector struct{ store storage.Storage }

var (
	poolMaxDesc    = prometheus.NewDesc("otpidp_db_pool_max_connections", "The most connections the pool opens.", []string{"pool"}, nil)
	poolConnsDesc  = prometheus.NewDesc("otpidp_db_pool_connections", "Open connections by state (in_use, idle).", []string{"pool", "state"}, nil)
	poolWaitsDesc  = prometheus.NewDesc("otpidp_db_pool_waits_total", "Connection requests that had to wait for a connection.", []string{"pool"}, nil)
	poolWaitDesc   = prometheus.NewDesc("otpidp_db_pool_wait_seconds_total", "Time spent waiting for a connection.", []string{"pool"}, nil)
	poolCancelDesc = prometheus.NewDesc("otpidp_db_pool_canceled_acquires_total", "Connection requests given up (deadline or cancellation) before a connection was free (PostgreSQL).", []string{"pool"}, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxDesc, poolConnsDesc, poolWaitsDesc, poolWaitDesc, poolCancelDesc} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	switch s := c.store.(type) {
	case interface{ Stat() *pgxpool.Stat }:
		st := s.Stat()
		ch <- prometheus.MustNewConstMetric(poolMaxDesc, gauge, float64(st.MaxConns()), "postgres")
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, gauge, float64(st.AcquiredConns()), "postgres", "in_use")
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, gauge, float64(st.IdleConns()), "postgres", "idle")
		ch <- prometheus.MustNewConstMetric(poolWaitsDesc, counter, float64(st.EmptyAcquireCount()), "postgres")
		ch <- prometheus.MustNewConstMetric(poolWaitDesc, counter, st.EmptyAcquireWaitTime().Seconds(), "postgres")
		ch <- prometheus.MustNewConstMetric(poolCancelDesc, counter, float64(st.CanceledAcquireCount()), "postgres")
	case interface{ Stats() (w, r sql.DBStats) }:
		w, r := s.Stats()
		for _, p := range []struct {
			name string
			st   sql.DBStats
		}{{"sqlite_writer", w}, {"sqlite_reader", r}} {
			ch <- prometheus.MustNewConstMetric(poolMaxDesc, gauge, float64(p.st.MaxOpenConnections), p.name)
			ch <- prometheus.MustNewConstMetric(poolConnsDesc, gauge, float64(p.st.InUse), p.name, "in_use")
			ch <- prometheus.MustNewConstMetric(poolConnsDesc, gauge, float64(p.st.Idle), p.name, "idle")
			ch <- prometheus.MustNewConstMetric(poolWaitsDesc, counter, float64(p.st.WaitCount), p.name)
			ch <- prometheus.MustNewConstMetric(poolWaitDesc, counter, p.st.WaitDuration.Seconds(), p.name)
		}
	}
}

// keyCollector reports the signing keys' ages. It reads the keys from the store at most once
// per keyScrapeEvery, each time with a short deadline, so a scrape never waits long on the
// database.
type keyCollector struct {
	store  storage.Storage
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	readAt  time.Time
	keys    []storage.SigningKey
	lastErr bool
}

const (
	keyScrapeEvery   = 30 * time.Second
	keyScrapeTimeout = 2 * time.Second
)

var (
	keyAgeDesc    = prometheus.NewDesc("otpidp_signing_key_age_seconds", "Age of the newest signing key that is active (signs tokens), by algorithm: alert when it exceeds OTPIDP_KEY_ROTATION by much.", []string{"alg"}, nil)
	keyCountDesc  = prometheus.NewDesc("otpidp_signing_keys", "Signing keys published in JWKS, by algorithm.", []string{"alg"}, nil)
	keyErrorsDesc = prometheus.NewDesc("otpidp_signing_keys_read_failed", "1 when the last reading of the signing keys from the database failed.", nil, nil)
)

func newKeyCollector(store storage.Storage, logger *slog.Logger) *keyCollector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &keyCollector{store: store, logger: logger, now: time.Now}
}

func (c *keyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- keyAgeDesc
	ch <- keyCountDesc
	ch <- keyErrorsDesc
}

func (c *keyCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.readAt.IsZero() || now.Sub(c.readAt) >= keyScrapeEvery {
		ctx, cancel := context.WithTimeout(context.Background(), keyScrapeTimeout)
		keys, err := c.store.ListSigningKeys(ctx)
		cancel()
		c.readAt, c.lastErr = now, err != nil
		if err != nil {
			c.logger.Warn("metrics: read signing keys", "error", err)
		} else {
			c.keys = keys
		}
	}
	failed := 0.0
	if c.lastErr {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(keyErrorsDesc, prometheus.GaugeValue, failed)
	count, active := map[string]int{}, map[string]time.Time{}
	for _, k := range c.keys {
		if !k.ExpiresAt.IsZero() && !k.ExpiresAt.After(now) {
			continue
		}
		count[k.Algorithm]++
		if !k.ActiveAt.After(now) && k.ActiveAt.After(active[k.Algorithm]) {
			active[k.Algorithm] = k.ActiveAt
		}
	}
	for alg, n := range count {
		ch <- prometheus.MustNewConstMetric(keyCountDesc, prometheus.GaugeValue, float64(n), alg)
	}
	for alg, at := range active {
		ch <- prometheus.MustNewConstMetric(keyAgeDesc, prometheus.GaugeValue, now.Sub(at).Seconds(), alg)
	}
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// code is the status written; 200 when the handler wrote nothing.
func (r *statusRecorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// newMetricsFor returns the metrics of a server with the admin listener on; nil when it is off
// (nothing would serve them).
func newMetricsFor(cfg Config) *metrics {
	if cfg.Obs.AdminAddr == "" {
		return nil
	}
	return newMetrics()
}

// startObservability starts the admin listener and the trace export, and returns the function
// that stops both (flushing the spans not exported yet).
func startObservability(ctx context.Context, cfg Config, m *metrics, logger *slog.Logger) (stop func(), err error) {
	stopAdmin, err := startAdmin(ctx, cfg, m, logger)
	if err != nil {
		return nil, err
	}
	stopTracing, err := startTracing(ctx, cfg, logger)
	if err != nil {
		stopAdmin()
		return nil, err
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), adminShutdown)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			logger.Warn("trace export: flush at exit", "error", err)
		}
		stopAdmin()
	}, nil
}

// IsUnavailable passes the wrapped store's own classification of an outage through (SQLite's
// lock waits: storage/deadline asks the store it wraps).
func (s observedStore) IsUnavailable(err error) bool {
	if c, ok := s.Storage.(interface{ IsUnavailable(error) bool }); ok {
		return c.IsUnavailable(err)
	}
	return false
}
