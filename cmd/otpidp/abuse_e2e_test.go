package main

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/postgres/pgtest"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// relaxedAbuse lifts the limits that the end-to-end tests, which sign one number in many times
// from one address, would trip; the abuse tests set the limits they test.
func relaxedAbuse() AbuseConfig {
	off := auth.Rate{Max: -1, Per: 1}
	return AbuseConfig{Auth: auth.Limits{
		LoginThrottleAfter: 1000, LoginPerIP: off,
		SMSPhoneHourly: off, SMSPhoneDaily: off, SMSIPHourly: off, SMSPrefixHourly: off,
		SMSSignInPhoneHourly: off, SMSSignInPhoneDaily: off,
	}, AuthorizePerIP: off, AuthorizePendingPerIP: -1} // the authorize limits: provider/authorizebounds_test.go
}

// sharedStores returns, per backend, a constructor of two stores on one database: the state of
// two otpidp instances behind a load balancer.
func sharedStores(t *testing.T) map[string]func(t *testing.T) (storage.Storage, storage.Storage) {
	m := map[string]func(t *testing.T) (storage.Storage, storage.Storage){
		"sqlite": func(t *testing.T) (storage.Storage, storage.Storage) {
			path := t.TempDir() + "/otpidp.db"
			open := func() storage.Storage {
				s, err := sqlite.Open(t.Context(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			return open(), open()
		},
	}
	base := os.Getenv("OTPIDP_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but OTPIDP_TEST_DATABASE_URL is not: the PostgreSQL end-to-end tests must run in CI")
		}
		return m
	}
	m["postgres"] = func(t *testing.T) (storage.Storage, storage.Storage) {
		ctx := t.Context()
		dbURL := pgtest.SchemaURL(t, base, "e2e_")
		open := func() storage.Storage {
			s, err := postgres.Open(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open()
	}
	return m
}

// cluster is two otpidp instances on one database.
type cluster struct {
	a, b *testServer
}

func startCluster(t *testing.T, open func(t *testing.T) (storage.Storage, storage.Storage), edit ...func(*Config)) *cluster {
	s1, s2 := open(t)
	return &cluster{a: startServer(t, s1, edit...), b: startServer(t, s2, edit...)}
}

// instance is the i-th request's instance, alternating.
func (c *cluster) instance(i int) *testServer {
	if i%2 == 0 {
		return c.a
	}
	return c.b
}

func (c *cluster) sent() int { return c.a.sms.count() + c.b.sms.count() }

// lastCode is the newest code sent to the number by either instance.
func (c *cluster) lastCode(t *testing.T, to string) string {
	t.Helper()
	for _, o := range []*outbox{c.a.sms, c.b.sms} {
		o.settle()
	}
	for _, o := range []*outbox{c.a.sms, c.b.sms} {
		o.mu.Lock()
		n := 0
		for _, m := range o.msgs {
			if m.To == to {
				n++
			}
		}
		o.mu.Unlock()
		if n > 0 {
			return o.lastCode(t, to)
		}
	}
	t.Fatalf("no message to %s", to)
	return ""
}

// at returns page as if it had been served by ts (same path and form), for submitting it there.
func at(page response, ts *testServer) response {
	u, _ := url.Parse(ts.issuer)
	moved := *page.url
	moved.Host = u.Host
	page.url = &moved
	return page
}

// addUser creates a user as an operator would, with the server's hashing parameters.
func addUser(t *testing.T, store storage.Storage, phoneNumber, password string) storage.User {
	t.Helper()
	a, err := auth.New(t.Context(), store, &outbox{}, auth.Config{OriginHost: "localhost", DefaultRegion: "US"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.CreateUser(t.Context(), phoneNumber, testName, password)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// toCodePage signs in on ts with the password, in a fresh browser, up to the code page.
func toCodePage(t *testing.T, ts *testServer, phoneNumber, password string) (*browser, response) {
	t.Helper()
	b := newBrowser(t)
	login := b.get(ts.issuer + "/login")
	page := b.submit(login, "/login", map[string]string{"phone": phoneNumber, "password": password})
	if page.url.Path != "/code" {
		t.Fatalf("password step: %d %s\n%s", page.status, page.url, page.body)
	}
	return b, page
}

// TestAbuseAcrossInstances: two instances on one database enforce one limit: parallel wrong
// codes for one sign-in count at most 5 tries and never succeed, parallel right codes succeed
// once, and a flood of sign-ins for one number sends at most the per-phone limit of SMS.
func TestAbuseAcrossInstances(t *testing.T) {
	for name, open := range sharedStores(t) {
		t.Run(name, func(t *testing.T) {
			c := startCluster(t, open, func(cfg *Config) { cfg.Abuse = AbuseConfig{} }) // the defaults
			const wrongPhone, rightPhone, floodPhone = "+12025550143", "+12065550178", "+14155550199"
			for _, p := range []string{wrongPhone, rightPhone, floodPhone} {
				addUser(t, c.a.store, p, testPassword)
			}

			t.Run("50 parallel wrong codes", func(t *testing.T) {
				b, page := toCodePage(t, c.a, wrongPhone, testPassword)
				right := c.lastCode(t, wrongPhone)
				wrong := "000000"
				if right == wrong {
					wrong = "111111"
				}
				successes := parallel(50, func(i int) bool {
					r := b.submit(at(page, c.instance(i)), "/code", map[string]string{"code": wrong})
					return r.url.Path == "/account"
				})
				if successes != 0 {
					t.Fatalf("%d wrong codes succeeded", successes)
				}
				f, err := c.a.store.GetFlow(t.Context(), formFields(t, page.body, "/code").Get("flow"))
				if err != nil {
					t.Fatal(err)
				}
				if f.CodeAttempts != 5 {
					t.Fatalf("the flow counted %d wrong tries, want 5", f.CodeAttempts)
				}
				u, _ := c.a.store.GetUserByPhone(t.Context(), wrongPhone)
				if fl, _ := c.a.store.GetFailures(t.Context(), u.ID, auth.FactorSMS); fl.Count != 5 {
					t.Fatalf("the account counted %d wrong codes, want 5", fl.Count)
				}
				if r := b.submit(at(page, c.b), "/code", map[string]string{"code": right}); r.url.Path == "/account" {
					t.Fatal("the right code worked after five wrong ones")
				}
			})

			t.Run("20 parallel right codes", func(t *testing.T) {
				b, page := toCodePage(t, c.b, rightPhone, testPassword)
				code := c.lastCode(t, rightPhone)
				if n := parallel(20, func(i int) bool {
					return b.submit(at(page, c.instance(i)), "/code", map[string]string{"code": code}).url.Path == "/account"
				}); n != 1 {
					t.Fatalf("%d of 20 submissions of the right code succeeded, want exactly 1", n)
				}
			})

			t.Run("100 parallel sign-ins for one number", func(t *testing.T) {
				before := c.sent()
				pages := make([]response, 100)
				browsers := make([]*browser, 100)
				for i := range pages {
					browsers[i] = newBrowser(t)
					pages[i] = browsers[i].get(c.instance(i).issuer + "/login")
				}
				reached := parallel(100, func(i int) bool {
					r := browsers[i].submit(pages[i], "/login", map[string]string{"phone": floodPhone, "password": testPassword})
					// Past the sign-in budget the right password reaches the code page without a
					// text (and its recovery-code path); only the pages of a texted code count.
					return r.url.Path == "/code" && !strings.Contains(r.body, noTextNotice)
				})
				sent := c.sent() - before
				if sent > 5 || sent < 1 || reached != sent {
					t.Fatalf("100 parallel sign-ins sent %d SMS (%d reached the code page with a text), want 1 to 5, one per such page", sent, reached)
				}
			})
			assertNoSecretsLogged(t, c.a, []string{testPassword})
			assertNoSecretsLogged(t, c.b, []string{testPassword})
		})
	}
}

// parallel runs fn(i) for i in [0, n) at once and counts the trues.
func parallel(n int, fn func(i int) bool) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	count := 0
	for i := range n {
		wg.Go(func() {
			<-start
			if fn(i) {
				mu.Lock()
				count++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	return count
}

var (
	csrfRE     = regexp.MustCompile(`name="csrf" value="[^"]*"`)
	nonceRE    = regexp.MustCompile(`nonce="[^"]*"`)
	flowIDRE   = regexp.MustCompile(`name="flow" value="[^"]*"`)
	flowLinkRE = regexp.MustCompile(`flow=[A-Za-z0-9_-]+`)
)

// normalized is a response with its per-request tokens (CSRF token, CSP nonce, request ID,
// flow ID) and the phone number typed replaced, for byte comparison.
func normalized(r response, typed ...string) string {
	body := r.body
	for _, s := range typed {
		body = strings.ReplaceAll(body, strings.ReplaceAll(html.EscapeString(s), "+", "&#43;"), "PHONE")
	}
	body = csrfRE.ReplaceAllString(body, "CSRF")
	body = nonceRE.ReplaceAllString(body, "NONCE")
	body = flowIDRE.ReplaceAllString(body, "FLOW")
	body = flowLinkRE.ReplaceAllString(body, "flow=FLOW")
	var h []string
	for _, k := range []string{"Content-Type", "Cache-Control", "Retry-After", "Location", "X-Frame-Options", "Referrer-Policy"} {
		h = append(h, k+": "+flowLinkRE.ReplaceAllString(r.header.Get(k), "flow=FLOW"))
	}
	return fmt.Sprintf("%d %s\n%s\n%s", r.status, r.url.Path, strings.Join(h, "\n"), body)
}

// TestNoEnumeration: sign-in answers an unknown number, a wrong password and a throttled
// account with the same bytes; registration answers a free and a taken number the same.
func TestNoEnumeration(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t), func(cfg *Config) { cfg.Abuse = AbuseConfig{} })
			const unknown = "+12025552671" // same last four digits as testPhone: same masked form
			addUser(t, ts.store, testPhone, testPassword)
			attempt := func(phoneNumber, password string) response {
				b := newBrowser(t)
				return b.submit(b.get(ts.issuer+"/login"), "/login", map[string]string{"phone": phoneNumber, "password": password})
			}
			wrong := attempt(testPhone, "not the password 1")
			none := attempt(unknown, "not the password 1")
			if wrong.status != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", wrong.status)
			}
			if a, b := normalized(wrong, testPhone), normalized(none, unknown); a != b {
				t.Fatalf("unknown number and wrong password differ:\n--- wrong password\n%s\n--- unknown number\n%s", a, b)
			}
			// Five failures: the account is throttled; even the right password gets the same answer.
			for range 4 {
				attempt(testPhone, "not the password 1")
			}
			sent := ts.sms.count()
			throttled := attempt(testPhone, testPassword)
			if a, b := normalized(wrong, testPhone), normalized(throttled, testPhone); a != b {
				t.Fatalf("a throttled account's answer differs from a wrong password's:\n%s\n---\n%s", a, b)
			}
			if ts.sms.count() != sent {
				t.Fatal("a throttled sign-in sent a code")
			}

			register := func(phoneNumber string) response {
				b := newBrowser(t)
				return b.submit(b.get(ts.issuer+"/register"), "/register", map[string]string{"name": testName, "phone": phoneNumber, "password": testPassword})
			}
			taken, free := register(testPhone), register(unknown)
			if taken.url.Path != "/code" {
				t.Fatalf("registering a taken number: %d %s", taken.status, taken.url)
			}
			if a, b := normalized(taken), normalized(free); a != b {
				t.Fatalf("registration of a taken and a free number differ:\n%s\n---\n%s", a, b)
			}
			assertNoSecretsLogged(t, ts, []string{testPassword, "not the password 1"})
		})
	}
}

// TestForwardedFor: X-Forwarded-For counts only from a trusted proxy: a client that spoofs it
// still meets the per-IP limit, and behind a trusted proxy each client has its own.
func TestForwardedFor(t *testing.T) {
	failFrom := func(ts *testServer, xff string) response {
		b := newBrowser(t)
		login := b.get(ts.issuer + "/login")
		form := formFields(t, login.body, "/login")
		form.Set("phone", "+12025550143")
		form.Set("password", "not the password 1")
		req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", xff)
		return b.do(req)
	}
	limit := func(cfg *Config) {
		cfg.Abuse = AbuseConfig{Auth: auth.Limits{LoginPerIP: auth.Rate{Max: 3, Per: 15 * time.Minute}, LoginThrottleAfter: 1000}}
	}
	t.Run("untrusted peer spoofing", func(t *testing.T) {
		ts := startServer(t, stores(t)["sqlite"](t), limit)
		for i := range 3 {
			if r := failFrom(ts, fmt.Sprintf("198.51.100.%d", i)); r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i+1, r.status)
			}
		}
		r := failFrom(ts, "198.51.100.77")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Please try again in ") {
			t.Fatalf("a spoofed X-Forwarded-For escaped the per-IP limit: %d %q\n%s", r.status, r.header.Get("Retry-After"), r.body)
		}
		events, _ := ts.store.ListAudit(t.Context(), storage.AuditQuery{})
		for _, e := range events {
			if e.IP != "127.0.0.1" {
				t.Fatalf("the audit log believed a spoofed header: %+v", e)
			}
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		ts := startServer(t, stores(t)["sqlite"](t), limit, func(cfg *Config) {
			cfg.Abuse.TrustedProxies, _ = reqinfo.ParseTrustedProxies("127.0.0.0/8")
		})
		for i := range 6 {
			if r := failFrom(ts, fmt.Sprintf("6.6.6.6, 198.51.100.%d", i)); r.status != http.StatusUnauthorized {
				t.Fatalf("client %d behind the proxy: %d", i, r.status)
			}
		}
		events, _ := ts.store.ListAudit(t.Context(), storage.AuditQuery{})
		if len(events) == 0 || events[0].IP != "198.51.100.0" || events[0].RequestID == "" {
			t.Fatalf("audit IP behind a trusted proxy: %+v", events)
		}
	})
}

// TestProtocolRateLimit: the token endpoint answers 429 with Retry-After over the per-IP limit.
func TestProtocolRateLimit(t *testing.T) {
	ts := startServer(t, stores(t)["sqlite"](t), func(cfg *Config) {
		cfg.Abuse.TokenPerIP = auth.Rate{Max: 3, Per: time.Minute}
	})
	post := func() *http.Response {
		resp, err := http.PostForm(ts.issuer+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {"nobody"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		if r := post(); r.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("request %d of 3 was limited", i+1)
		}
	}
	r := post()
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !isJSON(r.Header.Get("Content-Type")) {
		t.Fatalf("fourth token request: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	// Discovery is not limited.
	for range 5 {
		resp, err := http.Get(ts.issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("discovery: %d", resp.StatusCode)
		}
	}
}

// TestSMSPauseCommand: "otpidp sms pause" stops codes on a running server at once; resume
// restarts them; "otpidp audit" prints the events, the phone masked.
func TestSMSPauseCommand(t *testing.T) {
	path := t.TempDir() + "/otpidp.db"
	store, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ts := startServer(t, store)
	u := addUser(t, store, testPhone, testPassword)
	cli := func(args ...string) string {
		var out, errb bytes.Buffer
		if err := run(t.Context(), append([]string{"otpidp"}, args...), func(string) string { return "" }, strings.NewReader(""), &out, &errb); err != nil {
			t.Fatalf("otpidp %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	db := "--database-url=sqlite:" + path
	cli("sms", "pause", db)
	if got := cli("sms", "status", db); got != "paused\n" {
		t.Fatalf("status = %q", got)
	}
	b := newBrowser(t)
	r := b.submit(b.get(ts.issuer+"/login"), "/login", map[string]string{"phone": testPhone, "password": testPassword})
	// The right password still reaches the code step, told that no text was sent (the
	// recovery code finishes it).
	if r.status != http.StatusOK || r.url.Path != "/code" || !strings.Contains(r.body, noTextNotice) || ts.sms.count() != 0 {
		t.Fatalf("sign-in while paused: %d, %d SMS\n%s", r.status, ts.sms.count(), r.body)
	}
	cli("sms", "resume", db)
	if _, page := toCodePage(t, ts, testPhone, testPassword); ts.sms.count() != 1 || page.status != http.StatusOK {
		t.Fatal("no code after resume")
	}
	out := cli("audit", db, "--user", u.ID, "--since", "1h")
	for _, want := range []string{"password.ok", "code.sent", u.ID, "127.0.0.1", "+1•••••••71"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testPhone) || strings.Contains(out, testPassword) {
		t.Fatalf("audit output holds a secret:\n%s", out)
	}
	all := cli("audit", db)
	if !strings.Contains(all, "sms.paused") || !strings.Contains(all, "sms.resumed") {
		t.Fatalf("audit lacks the operator's switches:\n%s", all)
	}
	cli("sms", "restore", u.ID, db)
	var errb bytes.Buffer
	if err := run(t.Context(), []string{"otpidp", "sms", "nonsense"}, func(string) string { return "" }, nil, io.Discard, &errb); exitCode(err, io.Discard) != 2 {
		t.Fatalf("sms nonsense: %v", err)
	}
	if err := run(t.Context(), []string{"otpidp", "audit", db, "--since", "yesterday"}, func(string) string { return "" }, nil, io.Discard, &errb); exitCode(err, io.Discard) != 2 {
		t.Fatalf("audit --since yesterday: %v", err)
	}
}
