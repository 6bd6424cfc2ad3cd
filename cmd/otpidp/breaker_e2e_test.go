package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otpidp/otpidp/provider/sms/twiliotest"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// TestSMSBreakerThroughServer: with the fake Twilio hanging, registrations fail after the SMS
// timeout until the breaker opens (after 2 failures); then they fail at once with the same
// "couldn't send" page, no request reaches Twilio (so nothing waits for its timeout); after the cool-down, with Twilio back,
// the next registration probes, is sent, and closes the breaker. Its state is a metric.
func TestSMSBreakerThroughServer(t *testing.T) {
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/breaker.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	fake := twiliotest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{issuer: "http://" + ln.Addr().String(), store: store, sms: &outbox{}, clock: &fakeClock{}, logs: &syncBuffer{}}
	cfg := Config{
		Issuer: ts.issuer, SMS: smsTwilio, SMSExplicit: true, DefaultRegion: "US", ProductName: "otpidp", Dev: true,
		TwilioAccountSID: e2eAccount, TwilioAuthToken: e2eToken, TwilioPhoneNumber: e2eFrom,
		TwilioAPIURL: fake.URL(), SMSTimeout: 300 * time.Millisecond, Abuse: relaxedAbuse(),
		Obs: ObsConfig{BreakerFailures: 2, BreakerCoolDown: time.Minute},
	}
	logger := slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sender, err := newSender(cfg, store, logger, ts.logs)
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveOn(ctx, ln, deps{cfg: cfg, store: m.observeStore(cfg, store, logger), logger: logger, sender: sender, now: ts.clock.now, metrics: m})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	waitHealthy(t, ts.issuer)
	rp := registerRP(t, ts, false)

	registerAs := func(phone string) (response, time.Duration) {
		t.Helper()
		b := newBrowser(t)
		login := b.get(rp.start().url)
		reg := b.get(login.url.ResolveReference(&url.URL{Path: "/register", RawQuery: login.url.RawQuery}).String())
		start := time.Now()
		r := b.submit(reg, "/register", map[string]string{"name": testName, "phone": phone, "password": testPassword})
		return r, time.Since(start)
	}
	unavailable := func(r response) bool {
		return r.status == http.StatusServiceUnavailable && strings.Contains(r.body, "couldn&#39;t send your code right now")
	}

	fake.FailAlways(twiliotest.Hang)
	for i, phone := range []string{"+14155552601", "+14155552602"} {
		r, took := registerAs(phone)
		if !unavailable(r) || took < cfg.SMSTimeout {
			t.Fatalf("registration %d with Twilio hanging: %d after %v, want the couldn't-send page after the timeout:\n%s", i, r.status, took, r.body)
		}
	}
	if got := testutil.ToFloat64(m.breaker); got != 1 {
		t.Fatalf("otpidp_sms_breaker_state = %v after 2 failures, want 1 (open)", got)
	}
	reached := fake.Requests()
	for _, phone := range []string{"+14155552603", "+14155552604", "+14155552605"} {
		if r, _ := registerAs(phone); !unavailable(r) {
			t.Fatalf("registration with the breaker open: %d, want the couldn't-send page:\n%s", r.status, r.body)
		}
	}
	if got := fake.Requests(); got != reached {
		t.Fatalf("%d requests reached Twilio while the breaker was open", got-reached)
	}
	if got := testutil.ToFloat64(m.smsSends.WithLabelValues("circuit_open")); got != 3 {
		t.Errorf("otpidp_sms_sends_total{outcome=circuit_open} = %v, want 3", got)
	}

	// Twilio is back; after the cool-down the next registration probes and is sent.
	fake.FailAlways(0)
	ts.clock.advance(time.Minute)
	r, _ := registerAs("+14155552606")
	if r.status != http.StatusOK || r.url.Path != "/code" {
		t.Fatalf("registration after the cool-down: %d %s\n%s", r.status, r.url, r.body)
	}
	if got := fake.Requests(); got != reached+1 {
		t.Errorf("the probe made %d requests to Twilio, want 1", got-reached)
	}
	if got := testutil.ToFloat64(m.breaker); got != 0 {
		t.Errorf("otpidp_sms_breaker_state = %v after a good probe, want 0 (closed)", got)
	}
	if !strings.Contains(ts.logs.String(), "SMS circuit breaker") {
		t.Error("the breaker's changes of state are not logged")
	}
}
