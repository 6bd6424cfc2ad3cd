package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/provider/sms/twiliotest"
	"github.com/otpidp/otpidp/storage"
)

// These end-to-end tests run the whole server with its SMS sender built from the
// configuration by newSender, exactly as serve does: the real twilio-go client, pointed at the
// fake Twilio through TWILIO_API_URL.

const (
	e2eAccount   = "AC0123456789abcdef0123456789abcdef"
	e2eToken     = "T0kenSecretValue0123456789abcdef"
	e2eAPIKey    = "SK0123456789abcdef0123456789abcdef"
	e2eAPISecret = "KeySecretValue0123456789abcdefAB"
	e2eVerify    = "VA0123456789abcdef0123456789abcdef"
	e2eFrom      = "+15005550006"
)

// User-facing messages, as the pages show them (HTML-escaped).
const (
	pageUndeliverable = "We can&#39;t send text messages to this number. Use a mobile number that can receive SMS."
	pageUnavailable   = "We couldn&#39;t send your code right now. Please try again in a minute."
)

// twilioServer is a running otpidp that sends through the fake Twilio.
type twilioServer struct {
	*testServer
	fake *twiliotest.Server
	cfg  Config
}

// startTwilioServer runs otpidp with OTPIDP_SMS=mode (twilio or twilio-verify) against a new
// fake Twilio. twilio mode authenticates with an API key and asks for delivery reports;
// twilio-verify with the auth token. The SMS timeout is 500 ms.
func startTwilioServer(t *testing.T, store storage.Storage, mode string, edit ...func(*Config)) *twilioServer {
	t.Helper()
	fake := twiliotest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{issuer: "http://" + ln.Addr().String(), store: store, sms: &outbox{}, clock: &fakeClock{}, logs: &syncBuffer{}}
	cfg := Config{
		Issuer: ts.issuer, Addr: "127.0.0.1:0", SMS: mode, SMSExplicit: true, DefaultRegion: "US", ProductName: "otpidp",
		Dev: true, LogLevel: "debug", TwilioAccountSID: e2eAccount, TwilioAuthToken: e2eToken,
		TwilioAPIURL: fake.URL(), SMSTimeout: 500 * time.Millisecond,
	}
	switch mode {
	case smsTwilio:
		cfg.TwilioPhoneNumber, cfg.TwilioAPIKey, cfg.TwilioAPISecret, cfg.TwilioStatusCallback = e2eFrom, e2eAPIKey, e2eAPISecret, true
		fake.AddAPIKey(e2eAPIKey, e2eAccount)
	case smsTwilioVerify:
		cfg.TwilioVerifyServiceSID = e2eVerify
	}
	for _, e := range edit {
		e(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	logger.Info("starting", "config", cfg)
	sender, err := newSender(cfg, store, logger, ts.logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveOn(ctx, ln, deps{cfg: cfg, store: store, logger: logger, sender: sender, now: ts.clock.now, onDrainer: ts.sms.attach})
	}()
	srv := &twilioServer{testServer: ts, fake: fake, cfg: cfg}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		srv.assertNoSecretsLogged(t)
	})
	waitHealthy(t, ts.issuer)
	return srv
}

func waitHealthy(t *testing.T, issuer string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(issuer + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertNoSecretsLogged scans everything the server logged for the codes the fake delivered,
// the message texts, the Twilio credentials, the full phone number and the password.
func (s *twilioServer) assertNoSecretsLogged(t *testing.T) {
	t.Helper()
	logs := s.logs.String()
	secrets := []string{e2eToken, e2eAPISecret, testPassword, testPhone, strings.TrimPrefix(testPhone, "+")}
	for _, m := range s.fake.Messages() {
		secrets = append(secrets, m.Body)
		if code, ok := lastCodeIn(m.Body); ok {
			secrets = append(secrets, code)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret %.12q…", secret)
		}
	}
}

// lastCodeIn is the six digits that end a message.
func lastCodeIn(body string) (string, bool) {
	if len(body) < 6 {
		return "", false
	}
	code := body[len(body)-6:]
	for _, c := range code {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return code, true
}

// code is the code the fake Twilio last delivered to the test phone.
func (s *twilioServer) code(t *testing.T) string {
	t.Helper()
	s.sms.settle() // resets and registrations text through the outbox
	code, ok := s.fake.LastCode(testPhone)
	if !ok {
		t.Fatal("the fake Twilio delivered no code")
	}
	return code
}

// toCodePage submits the registration (or, when register is false, the login) form of a fresh
// authorization and returns the page it answers with.
func (s *twilioServer) toCodePage(t *testing.T, b *browser, a authorization, register bool) response {
	t.Helper()
	login := b.get(a.url)
	if login.url.Path != "/login" {
		t.Fatalf("authorize landed on %s", login.url)
	}
	if !register {
		return b.submit(login, "/login", map[string]string{"phone": testPhone, "password": testPassword})
	}
	reg := b.get(login.url.ResolveReference(&url.URL{Path: "/register", RawQuery: login.url.RawQuery}).String())
	return b.submit(reg, "/register", map[string]string{"name": testName, "phone": "(415) 555-2671", "password": testPassword})
}

func TestEndToEndThroughTwilio(t *testing.T) {
	for name, open := range stores(t) {
		for _, mode := range []string{smsTwilio, smsTwilioVerify} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				s := startTwilioServer(t, open(t), mode)
				rp := registerRP(t, s.testServer, false)

				// Register, abandoned at the code page; then register again, to the end: an
				// abandoned registration blocks nothing.
				a := rp.start()
				codePage := s.toCodePage(t, newBrowser(t), a, true)
				if codePage.url.Path != "/code" {
					t.Fatalf("register: %d %s\n%s", codePage.status, codePage.url, codePage.body)
				}
				b := newBrowser(t)
				a = rp.start()
				codePage = s.toCodePage(t, b, a, true)
				_, idt, err := rp.exchange(t, codeFrom(t, pastRecoveryCodes(t, b, b.submit(codePage, "/code", map[string]string{"code": s.code(t)})), a), a)
				if err != nil {
					t.Fatalf("exchange after registration: %v", err)
				}
				var claims idClaims
				if err := idt.Claims(&claims); err != nil || strings.Join(claims.AMR, " ") != "pwd sms mfa" {
					t.Fatalf("claims %+v, %v", claims, err)
				}

				// Sign in with phone, password and the code Twilio delivered.
				b2 := newBrowser(t)
				a2 := rp.start()
				codePage = s.toCodePage(t, b2, a2, false)
				if codePage.url.Path != "/code" {
					t.Fatalf("login: %d %s\n%s", codePage.status, codePage.url, codePage.body)
				}
				_, idt2, err := rp.exchange(t, codeFrom(t, b2.submit(codePage, "/code", map[string]string{"code": s.code(t)}), a2), a2)
				if err != nil {
					t.Fatalf("exchange after sign-in: %v", err)
				}
				if idt2.Subject != idt.Subject {
					t.Fatalf("sign-in sub %q, registration sub %q", idt2.Subject, idt.Subject)
				}

				msgs := s.fake.Messages()
				if len(msgs) != 3 {
					t.Fatalf("the fake delivered %d messages, want 3", len(msgs))
				}
				for _, m := range msgs {
					if m.To != testPhone {
						t.Fatalf("message to %s", m.To)
					}
					switch mode {
					case smsTwilio:
						if m.From != e2eFrom || m.User != e2eAPIKey || m.ValidityPeriod != 300 || m.StatusCallback != s.issuer+"/twilio/status" ||
							!strings.HasSuffix(m.Body, "\n\n@127.0.0.1 #"+m.Body[len(m.Body)-6:]) {
							t.Fatalf("message %+v", m)
						}
					case smsTwilioVerify:
						if m.VerifyServiceSid != e2eVerify || m.User != e2eAccount {
							t.Fatalf("message %+v", m)
						}
					}
				}
				// Requests: three sends, plus two checks in Verify mode.
				want := 3
				if mode == smsTwilioVerify {
					want = 5
				}
				if n := s.fake.Requests(); n != want {
					t.Fatalf("the fake saw %d requests, want %d", n, want)
				}
				// Every message is in the journal, without its text or number.
				stats, err := s.store.SMSStats(t.Context(), time.Now().Add(-time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				if total := sumStats(stats); total != 3 || stats[0].Country != "US" {
					t.Fatalf("journal stats %v, want 3 messages to US", stats)
				}
			})
		}
	}
}

func sumStats(stats []storage.SMSStat) int {
	n := 0
	for _, st := range stats {
		n += st.Count
	}
	return n
}

// TestTwilioFailuresOnThePages: every failure Twilio produces grants no authentication and
// reaches Twilio exactly as often as is safe. A sign-in whose text failed reaches the code step,
// which says plainly that no text was sent (the recovery code finishes it); a registration's
// answer is decided before its text is sent (through the outbox), so it shows the code page
// whatever Twilio does.
func TestTwilioFailuresOnThePages(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		register bool
		fail     []twiliotest.Failure
		requests int
	}{
		{"invalid number", smsTwilio, false, []twiliotest.Failure{twiliotest.InvalidNumber}, 1},
		{"invalid number at registration", smsTwilio, true, []twiliotest.Failure{twiliotest.InvalidNumber}, 1},
		{"landline", smsTwilio, false, []twiliotest.Failure{twiliotest.Landline}, 1},
		{"region not enabled", smsTwilio, false, []twiliotest.Failure{twiliotest.RegionNotEnabled}, 1},
		{"Verify: invalid number", smsTwilioVerify, false, []twiliotest.Failure{twiliotest.VerifyInvalidNumber}, 1},
		{"Verify: landline at registration", smsTwilioVerify, true, []twiliotest.Failure{twiliotest.Landline}, 1},
		{"throttled twice: one retry, then the message", smsTwilio, false, []twiliotest.Failure{twiliotest.TooManyRequests, twiliotest.TooManyRequests}, 2},
		{"server error, not retried", smsTwilio, false, []twiliotest.Failure{twiliotest.ServerError}, 1},
		{"bad gateway, not retried", smsTwilio, false, []twiliotest.Failure{twiliotest.BadGateway}, 1},
		{"hang past the timeout, not retried", smsTwilio, false, []twiliotest.Failure{twiliotest.Hang}, 1},
		{"Verify: server error", smsTwilioVerify, false, []twiliotest.Failure{twiliotest.ServerError}, 1},
		{"Verify: hang past the timeout", smsTwilioVerify, true, []twiliotest.Failure{twiliotest.Hang}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startTwilioServer(t, openSQLite(t), tt.mode)
			rp := registerRP(t, s.testServer, false)
			if !tt.register {
				if _, err := newUser(t, s); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tt.fail {
				s.fake.FailNext(f)
			}
			b := newBrowser(t)
			page := s.toCodePage(t, b, rp.start(), tt.register)
			if page.status != http.StatusOK || page.url.Path != "/code" || page.location != "" {
				t.Fatalf("page: %d at %s %q, want the code page:\n%s", page.status, page.url, page.location, page.body)
			}
			if told := strings.Contains(page.body, noTextNotice); told == tt.register {
				t.Fatalf("the page says no text was sent: %v; want %v:\n%s", told, !tt.register, page.body)
			}
			s.sms.settle() // a registration's text is sent after the answer
			if strings.Contains(page.body, "20500") || strings.Contains(page.body, "21211") || strings.Contains(page.body, "twilio") {
				t.Fatalf("the page shows Twilio's error:\n%s", page.body)
			}
			if n := s.fake.Requests(); n != tt.requests {
				t.Fatalf("the fake saw %d requests, want %d", n, tt.requests)
			}
			if n := len(s.fake.Messages()); n != 0 {
				t.Fatalf("the fake delivered %d messages", n)
			}
			// No authentication was granted: the browser still has to sign in.
			if again := b.get(rp.start().url); again.url.Path != "/login" || again.location != "" {
				t.Fatalf("after the failure the browser is signed in: %s %q", again.url, again.location)
			}
			// And nothing was left half-done: once Twilio recovers, the same user goes through.
			a := rp.start()
			next := s.toCodePage(t, b, a, tt.register)
			if next.url.Path != "/code" {
				t.Fatalf("after recovery: %d %s\n%s", next.status, next.url, next.body)
			}
			if _, _, err := rp.exchange(t, codeFrom(t, pastRecoveryCodes(t, b, b.submit(next, "/code", map[string]string{"code": s.code(t)})), a), a); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}

	t.Run("throttled once: retried after its delay, sent once", func(t *testing.T) {
		s := startTwilioServer(t, openSQLite(t), smsTwilio)
		rp := registerRP(t, s.testServer, false)
		if _, err := newUser(t, s); err != nil {
			t.Fatal(err)
		}
		s.fake.FailNext(twiliotest.TooManyRequests)
		b := newBrowser(t)
		a := rp.start()
		page := s.toCodePage(t, b, a, false)
		if page.url.Path != "/code" {
			t.Fatalf("page: %d %s", page.status, page.url)
		}
		if s.fake.Requests() != 2 || len(s.fake.Messages()) != 1 {
			t.Fatalf("requests %d, messages %d; want 2 and 1", s.fake.Requests(), len(s.fake.Messages()))
		}
		if _, _, err := rp.exchange(t, codeFrom(t, b.submit(page, "/code", map[string]string{"code": s.code(t)}), a), a); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a failed resend, then one that works", func(t *testing.T) {
		s := startTwilioServer(t, openSQLite(t), smsTwilio)
		rp := registerRP(t, s.testServer, false)
		if _, err := newUser(t, s); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		a := rp.start()
		page := s.toCodePage(t, b, a, false)
		s.clock.advance(31 * time.Second)
		s.fake.FailNext(twiliotest.ServerError)
		failed := b.submit(page, "/code/resend", nil)
		if failed.status != http.StatusServiceUnavailable || !strings.Contains(failed.body, pageUnavailable) {
			t.Fatalf("failed resend: %d\n%s", failed.status, failed.body)
		}
		s.clock.advance(2 * time.Minute) // past the resend interval, even one that grows with each send
		resent := b.submit(failed, "/code/resend", nil)
		if resent.url.Path != "/code" || resent.status != http.StatusOK {
			t.Fatalf("resend: %d %s", resent.status, resent.url)
		}
		if _, _, err := rp.exchange(t, codeFrom(t, b.submit(resent, "/code", map[string]string{"code": s.code(t)}), a), a); err != nil {
			t.Fatal(err)
		}
		if s.fake.Requests() != 3 || len(s.fake.Messages()) != 2 {
			t.Fatalf("requests %d, messages %d; want 3 and 2", s.fake.Requests(), len(s.fake.Messages()))
		}
	})

	t.Run("Verify: checking the code fails", func(t *testing.T) {
		s := startTwilioServer(t, openSQLite(t), smsTwilioVerify)
		rp := registerRP(t, s.testServer, false)
		if _, err := newUser(t, s); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		a := rp.start()
		page := s.toCodePage(t, b, a, false)
		s.fake.FailNext(twiliotest.ServerError)
		failed := b.submit(page, "/code", map[string]string{"code": s.code(t)})
		if failed.status != http.StatusServiceUnavailable || !strings.Contains(failed.body, pageUnavailable) || failed.location != "" {
			t.Fatalf("check during an outage: %d %q\n%s", failed.status, failed.location, failed.body)
		}
		// The outage cost the user nothing: the same code works now.
		if _, _, err := rp.exchange(t, codeFrom(t, b.submit(page, "/code", map[string]string{"code": s.code(t)}), a), a); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Verify: its attempt limit is otpidp's", func(t *testing.T) {
		s := startTwilioServer(t, openSQLite(t), smsTwilioVerify)
		rp := registerRP(t, s.testServer, false)
		if _, err := newUser(t, s); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t)
		page := s.toCodePage(t, b, rp.start(), false)
		code := s.code(t)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range 5 {
			if r := b.submit(page, "/code", map[string]string{"code": wrong}); r.status != http.StatusBadRequest {
				t.Fatalf("wrong code: %d", r.status)
			}
		}
		before := s.fake.Requests()
		r := b.submit(page, "/code", map[string]string{"code": code})
		if r.location != "" || !strings.Contains(r.body, "Too many wrong codes") {
			t.Fatalf("sixth try: %d %q\n%s", r.status, r.location, r.body)
		}
		if s.fake.Requests() != before {
			t.Fatal("the sixth try reached Twilio")
		}
	})
}

func TestTwilioStatusCallbackEndToEnd(t *testing.T) {
	s := startTwilioServer(t, openSQLite(t), smsTwilio)
	rp := registerRP(t, s.testServer, false)
	if _, err := newUser(t, s); err != nil {
		t.Fatal(err)
	}
	page := s.toCodePage(t, newBrowser(t), rp.start(), false)
	if page.url.Path != "/code" {
		t.Fatalf("login: %d %s", page.status, page.url)
	}
	sid := s.fake.Messages()[0].SID

	// Forged and unsigned reports are refused and recorded nowhere.
	if code, err := s.fake.ReportStatus(t.Context(), sid, "failed", 30008, "NotTheAuthToken0123456789abcdef0"); err != nil || code != http.StatusForbidden {
		t.Fatalf("forged report: %d %v", code, err)
	}
	form := url.Values{"AccountSid": {e2eAccount}, "MessageSid": {sid}, "MessageStatus": {"failed"}}
	resp, err := http.PostForm(s.issuer+"/twilio/status", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned report: %d", resp.StatusCode)
	}
	stats, _ := s.store.SMSStats(t.Context(), time.Now().Add(-time.Hour))
	if len(stats) != 1 || stats[0].Status != "accepted" && stats[0].Status != "queued" {
		t.Fatalf("after refused reports: %v", stats)
	}

	// Twilio's own reports are recorded.
	for _, status := range []string{"sent", "delivered"} {
		if code, err := s.fake.ReportStatus(t.Context(), sid, status, 0, e2eToken); err != nil || code != http.StatusNoContent {
			t.Fatalf("report %s: %d %v", status, code, err)
		}
	}
	stats, _ = s.store.SMSStats(t.Context(), time.Now().Add(-time.Hour))
	if len(stats) != 1 || stats[0] != (storage.SMSStat{Country: "US", Status: "delivered", Count: 1}) {
		t.Fatalf("stats = %v", stats)
	}
}

// TestTwilioStatusCallbackOff: without OTPIDP_TWILIO_STATUS_CALLBACK the route does not exist,
// and messages carry no StatusCallback.
func TestTwilioStatusCallbackOff(t *testing.T) {
	s := startTwilioServer(t, openSQLite(t), smsTwilioVerify)
	form := url.Values{"AccountSid": {e2eAccount}, "MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	req, _ := http.NewRequest(http.MethodPost, s.issuer+"/twilio/status", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(e2eToken, s.issuer+"/twilio/status", form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode < 400 {
		t.Fatalf("POST /twilio/status with callbacks off: %d", resp.StatusCode)
	}
}

// openSQLite is a fresh SQLite store.
func openSQLite(t *testing.T) storage.Storage {
	t.Helper()
	return stores(t)["sqlite"](t)
}

// newUser creates the test user as an operator would.
func newUser(t *testing.T, s *twilioServer) (storage.User, error) {
	t.Helper()
	noSMS := sms.SenderFunc(func(context.Context, sms.Message) error { return errors.New("no SMS here") })
	a, err := auth.New(t.Context(), s.store, noSMS, auth.Config{ProductName: "otpidp", OriginHost: "127.0.0.1", DefaultRegion: "US"})
	if err != nil {
		return storage.User{}, err
	}
	return a.CreateUser(t.Context(), testPhone, testName, testPassword)
}
