package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"golang.org/x/oauth2"
	"google.golang.org/protobuf/proto"

	"github.com/otpidp/otpidp/provider"
)

// freeAddr returns a loopback address nobody listens on (for run, which listens itself).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// fakeOTLP is an OTLP/HTTP trace receiver on loopback: it keeps the names of the spans it is
// sent.
type fakeOTLP struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []string
}

func newFakeOTLP(t *testing.T) *fakeOTLP {
	f := &fakeOTLP{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					f.spans = append(f.spans, ss.GetScope().GetName()+" "+s.Name)
				}
			}
		}
		f.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOTLP) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.spans...)
}

// TestObservabilityThroughRun starts otpidp through run with JSON logs, the admin listener and
// OTLP export to a fake receiver, registers, signs in (one wrong password, then a refusal by
// the per-IP limit), exchanges and refreshes tokens and introspects one; then it scrapes
// /metrics from the admin listener and checks the metrics' names and labels, that the public
// listener serves neither /metrics nor /debug/pprof, that every log line is JSON and every
// line about a request carries its request_id (the trusted proxy's X-Request-Id when it sent
// one), that no secret appears in any line, and that spans (otpidp's and zitadel/oidc's)
// reached the receiver.
func TestObservabilityThroughRun(t *testing.T) {
	addr, admin := freeAddr(t), freeAddr(t)
	issuer := "http://" + addr
	db := t.TempDir() + "/obs.db"
	otlp := newFakeOTLP(t)
	env := map[string]string{
		"OTPIDP_ISSUER":               issuer,
		"OTPIDP_ADDR":                 addr,
		"OTPIDP_ADMIN_ADDR":           admin,
		"OTPIDP_DATABASE_URL":         "sqlite:" + db,
		"OTPIDP_LOG_FORMAT":           "json",
		"OTPIDP_LOG_LEVEL":            "debug",
		"OTPIDP_TRUSTED_PROXIES":      "127.0.0.1",
		"OTPIDP_LOGIN_LIMIT_IP":       "2/15m",
		"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.srv.URL,
	}
	// The relying party is registered before the server starts, in its database.
	store, err := openMigratedStore(t.Context(), "sqlite:"+db)
	if err != nil {
		t.Fatal(err)
	}
	clientID, clientSecret, err := provider.RegisterClient(t.Context(), store, provider.ClientSpec{
		Name: "Test app", RedirectURIs: []string{rpRedirect}, FirstParty: true,
	}, time.Now())
	store.Close()
	if err != nil {
		t.Fatal(err)
	}

	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"otpidp"}, func(k string) string { return env[k] }, strings.NewReader(""), stdout, stderr)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not stop after its context ended")
		}
	}
	defer stop()
	waitUp(t, issuer+"/healthz", stderr)
	waitUp(t, "http://"+admin+"/metrics", stderr)

	p, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp := &relyingParty{id: clientID, secret: clientSecret, provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", "phone", oidc.ScopeOfflineAccess}},
	}
	lastCode := func() string {
		t.Helper()
		m := regexp.MustCompile(`#(\d{6})"`).FindAllStringSubmatch(stdout.String(), -1)
		if m == nil {
			t.Fatalf("no console SMS line with a code in:\n%s", stdout.String())
		}
		return m[len(m)-1][1]
	}
	var secrets []string

	// Registration.
	b := newBrowser(t)
	a := rp.start()
	login := b.get(a.url)
	reg := b.get(login.url.ResolveReference(&url.URL{Path: "/register", RawQuery: login.url.RawQuery}).String())
	codePage := b.submit(reg, "/register", map[string]string{"name": testName, "phone": "(415) 555-2671", "password": testPassword})
	if codePage.url.Path != "/code" {
		t.Fatalf("register: %d %s\n%s", codePage.status, codePage.url, codePage.body)
	}
	code := lastCode()
	secrets = append(secrets, "#"+code, "is "+code)
	done1 := pastRecoveryCodes(t, b, b.submit(codePage, "/code", map[string]string{"code": code}))
	authCode := codeFrom(t, done1, a)
	tok, _, err := rp.exchange(t, authCode, a)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	secrets = append(secrets, authCode, tok.AccessToken, tok.RefreshToken, tok.Extra("id_token").(string))

	// A sign-in in a new browser: password, then the code.
	b2 := newBrowser(t)
	a2 := rp.start()
	login2 := b2.get(a2.url)
	codePage2 := b2.submit(login2, "/login", map[string]string{"phone": testPhone, "password": testPassword})
	if codePage2.url.Path != "/code" {
		t.Fatalf("sign-in: %d %s\n%s", codePage2.status, codePage2.url, codePage2.body)
	}
	code2 := lastCode()
	secrets = append(secrets, "#"+code2, "is "+code2)
	authCode2 := codeFrom(t, b2.submit(codePage2, "/code", map[string]string{"code": code2}), a2)
	tok2, _, err := rp.exchange(t, authCode2, a2)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	secrets = append(secrets, authCode2, tok2.AccessToken, tok2.RefreshToken)
	if got := rp.introspect(t, &testServer{issuer: issuer}, tok2.AccessToken); got["active"] != true {
		t.Fatalf("introspection: %v", got)
	}
	refreshed, err := rp.oauth.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	secrets = append(secrets, refreshed.AccessToken, refreshed.RefreshToken)

	// Two wrong passwords, then the per-IP limit (2 per 15 minutes) refuses the third attempt.
	const wrongPassword = "not the right passphrase at all"
	b3 := newBrowser(t)
	for range 3 {
		page := b3.get(rp.start().url)
		b3.submit(page, "/login", map[string]string{"phone": testPhone, "password": wrongPassword})
	}

	// A request through the trusted proxy keeps the proxy's request ID.
	req, _ := http.NewRequest(http.MethodGet, issuer+"/healthz", nil)
	req.Header.Set("X-Request-Id", "lb-7f3a9c21")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "lb-7f3a9c21" {
		t.Fatalf("X-Request-Id %q, want the trusted proxy's", got)
	}

	// The public listener serves neither metrics nor profiles; the admin listener does.
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
		resp, err := http.Get(issuer + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "otpidp_") || strings.Contains(string(body), "goroutine") {
			t.Errorf("public %s: %d, want 404 without metrics or profiles", path, resp.StatusCode)
		}
	}
	if resp, err := http.Get("http://" + admin + "/debug/pprof/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("admin /debug/pprof/: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}

	families := scrape(t, "http://"+admin+"/metrics")
	for _, want := range []struct {
		name   string
		labels map[string]string
	}{
		{"otpidp_http_requests_total", map[string]string{"route": "/login", "method": "POST", "status": "303"}},
		{"otpidp_http_requests_total", map[string]string{"route": "/oauth/token", "method": "POST", "status": "200"}},
		{"otpidp_http_requests_total", map[string]string{"route": "/healthz", "method": "GET", "status": "200"}},
		{"otpidp_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "404"}},
		{"otpidp_http_request_duration_seconds", map[string]string{"route": "/code", "method": "POST"}},
		{"otpidp_signin_steps_total", map[string]string{"step": "password", "outcome": "ok"}},
		{"otpidp_signin_steps_total", map[string]string{"step": "password", "outcome": "failed"}},
		{"otpidp_signin_steps_total", map[string]string{"step": "password", "outcome": "rate_limited"}},
		{"otpidp_signin_steps_total", map[string]string{"step": "code", "outcome": "ok"}},
		{"otpidp_signin_steps_total", map[string]string{"step": "registration", "outcome": "ok"}},
		{"otpidp_sms_codes_total", map[string]string{"result": "sent", "country_code": "1"}},
		{"otpidp_limit_refusals_total", map[string]string{"limit": "login_ip"}},
		{"otpidp_tokens_issued_total", map[string]string{"grant_type": "authorization_code"}},
		{"otpidp_tokens_issued_total", map[string]string{"grant_type": "refresh_token"}},
		{"otpidp_audit_events_total", map[string]string{"event": "token.issued"}},
		{"otpidp_sms_sends_total", map[string]string{"outcome": "ok"}},
		{"otpidp_sms_send_duration_seconds", map[string]string{"outcome": "ok"}},
		{"otpidp_db_pool_max_connections", map[string]string{"pool": "sqlite_writer"}},
		{"otpidp_db_pool_connections", map[string]string{"pool": "sqlite_reader", "state": "idle"}},
		{"otpidp_signing_key_age_seconds", map[string]string{"alg": "RS256"}},
		{"otpidp_signing_keys", map[string]string{"alg": "RS256"}},
		{"otpidp_process_resident_memory_bytes", nil},
		{"go_goroutines", nil},
	} {
		if !hasSeries(families, want.name, want.labels, true) {
			t.Errorf("no %s%v with a positive value", want.name, want.labels)
		}
	}
	for _, want := range []string{"otpidp_sms_breaker_state", "otpidp_db_pool_wait_seconds_total", "otpidp_db_pool_waits_total", "otpidp_signing_keys_read_failed"} {
		if !hasSeries(families, want, nil, false) {
			t.Errorf("no %s", want)
		}
	}
	// A code verified at registration and one at sign-in; the wrong passwords are not codes.
	if v := seriesValue(families, "otpidp_sms_codes_total", map[string]string{"result": "verified", "country_code": "1"}); v != 2 {
		t.Errorf("codes verified = %v, want 2", v)
	}
	// Routes are chi patterns: never a raw path, a query or an ID.
	for _, m := range families["otpidp_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && (strings.ContainsAny(l.GetValue(), "?=") || strings.Contains(l.GetValue(), "/debug")) {
				t.Errorf("route label %q", l.GetValue())
			}
		}
	}

	stop() // flushes the spans and ends the log
	logs := stderr.String()
	requestLines, ids := 0, map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("log line is not JSON: %s", sc.Text())
			continue
		}
		id, _ := line["request_id"].(string)
		if line["msg"] == accessLogMessage {
			requestLines++
			for _, k := range []string{"method", "route", "status", "duration_ms", "client_ip"} {
				if _, ok := line[k]; !ok {
					t.Errorf("access log line without %s: %s", k, sc.Text())
				}
			}
			if id == "" {
				t.Errorf("access log line without request_id: %s", sc.Text())
			}
			ids[id] = true
		}
		if _, ok := line["route"]; ok && id == "" {
			t.Errorf("a line about a request has no request_id: %s", sc.Text())
		}
		if line["level"] == "ERROR" {
			t.Errorf("an ERROR line in a run without faults: %s", sc.Text())
		}
	}
	if testing.Verbose() {
		t.Log(logs)
	}
	if requestLines < 20 {
		t.Errorf("%d access log lines, want one per request", requestLines)
	}
	if !ids["lb-7f3a9c21"] {
		t.Error("no log line with the trusted proxy's request ID")
	}
	// The refusals log their request too (a line that is not the access log's).
	if !regexp.MustCompile(`"msg":"[^"]*(refused|limit)[^"]*"[^\n]*"request_id":"[0-9a-f]{16}"`).MatchString(logs) {
		t.Errorf("no refusal line with a request_id:\n%s", logs)
	}
	secrets = append(secrets, testPassword, wrongPassword, testPhone, strings.TrimPrefix(testPhone, "+"), "4155552671", clientSecret)
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log contains a secret value %.12q…", s)
		}
	}

	var ours, zitadel bool
	for _, n := range otlp.names() {
		ours = ours || strings.HasPrefix(n, tracerName+" POST /oauth/token")
		zitadel = zitadel || strings.HasPrefix(n, "github.com/zitadel/oidc/pkg/op ")
	}
	if !ours || !zitadel {
		t.Errorf("spans received: %q; want otpidp's server span of the token endpoint and zitadel/oidc's spans", otlp.names())
	}
}

func waitUp(t *testing.T, u string, stderr *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v\n%s", u, err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func scrape(t *testing.T, u string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// seriesValue is the value of the series of name with exactly labels; -1 when there is none.
func seriesValue(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	for _, m := range families[name].GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			return m.GetUntyped().GetValue()
		}
	}
	return -1
}

// hasSeries reports whether the family name has the series with labels (nil: any series),
// with a positive value when positive.
func hasSeries(families map[string]*dto.MetricFamily, name string, labels map[string]string, positive bool) bool {
	if labels == nil {
		f := families[name]
		if f == nil || len(f.GetMetric()) == 0 {
			return false
		}
		if !positive {
			return true
		}
		labels = map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
	}
	v := seriesValue(families, name, labels)
	if positive {
		return v > 0
	}
	return v >= 0
}
