package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otpidp/otpidp/provider/sms/twiliotest"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// TestSMSBreakerThroughServer: with the fake Twilio hanging, sign-ins reach the code step
// without a text (recovery code offered) after the SMS timeout until the breaker opens (after
// 2 failures); then they reach it at once, and no request reaches Twilio (so nothing waits for
// its timeout); after the cool-down, with Twilio back, the next sign-in probes, is sent, and
// closes the breaker. Its state is a metric.
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

	// Sign-in texts are sent during the request (resets and registrations go through the
	// outbox), so a sign-in shows what the breaker does to the person waiting.
	phones := []string{"+14155552601", "+14155552602", "+14155552603", "+14155552604", "+14155552605", "+14155552606"}
	for _, p := range phones {
		addUser(t, store, p, testPassword)
	}
	signIn := func(phone string) (response, time.Duration) {
		t.Helper()
		b := newBrowser(t)
		login := b.get(rp.start().url)
		start := time.Now()
		r := b.submit(login, "/login", map[string]string{"phone": phone, "password": testPassword})
		return r, time.Since(start)
	}
	// A text that could not be sent still leads to the code step, which says so and offers the
	// recovery code (nobody is locked out by texts).
	notSent := func(r response) bool {
		return r.status == http.StatusOK && r.url.Path == "/code" && strings.Contains(r.body, "no text was sent")
	}

	fake.FailAlways(twiliotest.Hang)
	for i, phone := range phones[:2] {
		r, took := signIn(phone)
		if !notSent(r) || took < cfg.SMSTimeout {
			t.Fatalf("sign-in %d with Twilio hanging: %d %s after %v, want the code step without a text after the timeout:\n%s", i, r.status, r.url, took, r.body)
		}
	}
	if got := testutil.ToFloat64(m.breaker); got != 1 {
		t.Fatalf("otpidp_sms_breaker_state = %v after 2 failures, want 1 (open)", got)
	}
	reached := fake.Requests()
	for _, phone := range phones[2:5] {
		if r, _ := signIn(phone); !notSent(r) {
			t.Fatalf("sign-in with the breaker open: %d %s, want the code step without a text:\n%s", r.status, r.url, r.body)
		}
	}
	if got := fake.Requests(); got != reached {
		t.Fatalf("%d requests reached Twilio while the breaker was open", got-reached)
	}
	if got := testutil.ToFloat64(m.smsSends.WithLabelValues("circuit_open")); got != 3 {
		t.Errorf("otpidp_sms_sends_total{outcome=circuit_open} = %v, want 3", got)
	}

	// Twilio is back; after the cool-down the next sign-in probes and is sent.
	fake.FailAlways(0)
	ts.clock.advance(time.Minute)
	r, _ := signIn(phones[5])
	if r.status != http.StatusOK || r.url.Path != "/code" || strings.Contains(r.body, "no text was sent") {
		t.Fatalf("sign-in after the cool-down: %d %s\n%s", r.status, r.url, r.body)
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
