package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider"
	sendq "github.com/otpidp/otpidp/provider/outbox"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/postgres/pgtest"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// The end-to-end tests run the whole server (provider, pages, store) on a loopback port and
// drive it the way a browser and a relying party would: the relying party is coreos/go-oidc
// with golang.org/x/oauth2, libraries nobody here wrote; the "browser" is an http.Client with a
// cookie jar that submits the pages' forms.

// rpRedirect is the relying party's redirect URI. Nothing listens there: the browser stops at
// the redirect and the test reads the code from it.
const rpRedirect = "http://127.0.0.1:1/callback"
const rpLoggedOut = "http://127.0.0.1:1/logged-out"

// outbox records the SMS messages the server sends.
type outbox struct {
	mu   sync.Mutex
	msgs []sms.Message
	// drainers are the servers' outbox drainers: reading the messages first sends what the
	// requests before queued (resets and registrations text through the outbox).
	drainers []*sendq.Drainer
}

// settle sends every queued message that is due.
func (o *outbox) settle() {
	o.mu.Lock()
	ds := slices.Clone(o.drainers)
	o.mu.Unlock()
	for _, d := range ds {
		_ = d.Settle(context.Background())
	}
}

// attach is a deps.onDrainer that lets o settle the server's drainer.
func (o *outbox) attach(d *sendq.Drainer) {
	o.mu.Lock()
	o.drainers = append(o.drainers, d)
	o.mu.Unlock()
}

func (o *outbox) Send(_ context.Context, m sms.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	return nil
}

func (o *outbox) count() int {
	o.settle()
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.msgs)
}

var codeRE = regexp.MustCompile(`#(\d{6})\s*$`)

// lastCode is the code of the newest message to a number (from the origin-bound last line).
func (o *outbox) lastCode(t testing.TB, to string) string {
	t.Helper()
	o.settle()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.msgs) - 1; i >= 0; i-- {
		if o.msgs[i].To == to {
			m := codeRE.FindStringSubmatch(o.msgs[i].Body)
			if m == nil {
				t.Fatalf("message to %s has no origin-bound code line: %q", to, o.msgs[i].Body)
			}
			return m[1]
		}
	}
	t.Fatalf("no message to %s", to)
	return ""
}

// fakeClock is the server's clock; zitadel/oidc itself keeps the real one for token expiry.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// testServer is a running otpidp.
type testServer struct {
	issuer string
	store  storage.Storage
	sms    *outbox
	clock  *fakeClock
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stores returns the backends the end-to-end tests run on: SQLite always, PostgreSQL when
// OTPIDP_TEST_DATABASE_URL is set (and it must be set when CI is).
func stores(t testing.TB) map[string]func(t testing.TB) storage.Storage {
	m := map[string]func(t testing.TB) storage.Storage{
		"sqlite": func(t testing.TB) storage.Storage {
			s, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	url := os.Getenv("OTPIDP_TEST_DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but OTPIDP_TEST_DATABASE_URL is not: the PostgreSQL end-to-end tests must run in CI")
		}
		return m
	}
	m["postgres"] = func(t testing.TB) storage.Storage { return freshPostgres(t, url) }
	return m
}

// freshPostgres opens a store on a new, empty schema of the test database.
func freshPostgres(t testing.TB, base string) storage.Storage {
	t.Helper()
	s, err := postgres.Open(t.Context(), pgtest.SchemaURL(t, base, "e2e_"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// startServer runs otpidp on a loopback port with store, until the test ends. The abuse limits
// that many sign-ins from one address to one number would trip are relaxed (relaxedAbuse);
// edit may change the configuration further.
func startServer(t testing.TB, store storage.Storage, edit ...func(*Config)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{
		issuer: "http://" + ln.Addr().String(),
		store:  store,
		sms:    &outbox{},
		clock:  &fakeClock{},
		logs:   &syncBuffer{},
	}
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Issuer: ts.issuer, SMS: "console", DefaultRegion: "US", ProductName: "otpidp", Dev: true, Abuse: relaxedAbuse()}
	for _, e := range edit {
		e(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() {
		done <- serveOn(ctx, ln, deps{cfg: cfg, store: store, logger: logger, sender: ts.sms, now: ts.clock.now, onDrainer: ts.sms.attach})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(ts.issuer + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ts
}

// browser is a cookie-keeping HTTP client that does not follow redirects to the relying party.
type browser struct {
	t      testing.TB
	client *http.Client
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), "http://127.0.0.1:1/") {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// response is a fetched page.
type response struct {
	status   int
	url      *url.URL // final URL after redirects within otpidp
	location string   // set when stopped at a redirect to the relying party
	header   http.Header
	body     string
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, url: resp.Request.URL, location: resp.Header.Get("Location"), header: resp.Header, body: string(body)}
}

func (b *browser) get(u string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

// submit posts the page's form whose action is action, with its hidden fields plus fields.
func (b *browser) submit(page response, action string, fields map[string]string) response {
	b.t.Helper()
	form := formFields(b.t, page.body, action)
	for k, v := range fields {
		form.Set(k, v)
	}
	target := page.url.ResolveReference(&url.URL{Path: action})
	req, _ := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", target.Scheme+"://"+target.Host)
	return b.do(req)
}

var (
	formRE   = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)"[^>]*>(.*?)</form>`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

func formFields(t testing.TB, body, action string) url.Values {
	t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(body, -1) {
		if m[1] != action {
			continue
		}
		v := url.Values{}
		for _, h := range hiddenRE.FindAllStringSubmatch(m[2], -1) {
			v.Set(h[1], html.UnescapeString(h[2]))
		}
		return v
	}
	t.Fatalf("no form with action %q in page:\n%s", action, body)
	return nil
}

// relyingParty is a confidential web app registered with the server, using go-oidc + oauth2.
type relyingParty struct {
	id, secret string
	oauth      oauth2.Config
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
}

func registerRP(t testing.TB, ts *testServer, public bool) *relyingParty {
	t.Helper()
	id, secret, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{
		Name: "Test app", RedirectURIs: []string{rpRedirect}, PostLogoutRedirectURIs: []string{rpLoggedOut}, Public: public, FirstParty: true,
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := oidc.NewProvider(t.Context(), ts.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &relyingParty{
		id: id, secret: secret, provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: id}),
		oauth: oauth2.Config{
			ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", "phone", oidc.ScopeOfflineAccess},
		},
	}
}

// authorization is one authorization request the relying party starts.
type authorization struct {
	url, state, nonce, verifier string
}

func (rp *relyingParty) start(extra ...oauth2.AuthCodeOption) authorization {
	a := authorization{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier)}, extra...)
	a.url = rp.oauth.AuthCodeURL(a.state, opts...)
	return a
}

// codeFrom checks the redirect to the relying party and returns its code.
func codeFrom(t testing.TB, r response, a authorization) string {
	t.Helper()
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("expected a redirect to the relying party, got %d at %s:\n%s", r.status, r.url, r.body)
	}
	u, err := url.Parse(r.location)
	if err != nil || !strings.HasPrefix(r.location, rpRedirect) {
		t.Fatalf("redirect to %q, want %s", r.location, rpRedirect)
	}
	if got := u.Query().Get("state"); got != a.state {
		t.Fatalf("state = %q, want %q", got, a.state)
	}
	code := u.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", r.location)
	}
	return code
}

const (
	testPhone    = "+14155552671"
	testPassword = "correct horse battery staple"
	testName     = "Ada Lovelace"
)

// register goes from the relying party's authorization URL through registration and the code.
func register(t testing.TB, ts *testServer, b *browser, a authorization) response {
	t.Helper()
	login := b.get(a.url)
	if login.status != http.StatusOK || login.url.Path != "/login" {
		t.Fatalf("authorize did not land on the login page: %d %s", login.status, login.url)
	}
	reg := b.get(login.url.ResolveReference(&url.URL{Path: "/register", RawQuery: login.url.RawQuery}).String())
	codePage := b.submit(reg, "/register", map[string]string{"name": testName, "phone": "(415) 555-2671", "password": testPassword})
	if codePage.status != http.StatusOK || codePage.url.Path != "/code" {
		t.Fatalf("register: %d %s\n%s", codePage.status, codePage.url, codePage.body)
	}
	if !strings.Contains(codePage.body, "2671") || strings.Contains(codePage.body, "4155552671") {
		t.Fatalf("the code page must show the masked number only:\n%s", codePage.body)
	}
	codes := b.submit(codePage, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
	// A new account is shown its recovery codes once, then goes on to the app.
	if codes.status != http.StatusOK || codes.url.Path != "/recovery-codes" || len(recoveryCodeRE.FindAllString(codes.body, -1)) != 10 {
		t.Fatalf("after registration: %d %s, want the 10 recovery codes:\n%s", codes.status, codes.url, codes.body)
	}
	return b.submit(codes, "/recovery-codes", nil)
}

// pastRecoveryCodes goes on from the recovery-codes page a registration ends on; any other
// answer is returned as it is.
func pastRecoveryCodes(t testing.TB, b *browser, r response) response {
	t.Helper()
	if r.status != http.StatusOK || r.url.Path != "/recovery-codes" {
		return r
	}
	if n := len(recoveryCodeRE.FindAllString(r.body, -1)); n != 10 {
		t.Fatalf("the recovery-codes page shows %d codes, want 10", n)
	}
	return b.submit(r, "/recovery-codes", nil)
}

var recoveryCodeRE = regexp.MustCompile(`<code>[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}</code>`)

// signIn goes from the authorization URL through the password and the code.
func signIn(t testing.TB, ts *testServer, b *browser, a authorization, password string) response {
	t.Helper()
	login := b.get(a.url)
	if login.url.Path != "/login" {
		return login // already signed in: the provider answered at once
	}
	codePage := b.submit(login, "/login", map[string]string{"phone": testPhone, "password": password})
	if codePage.url.Path != "/code" {
		return codePage
	}
	return b.submit(codePage, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
}

func (rp *relyingParty) exchange(t testing.TB, code string, a authorization) (*oauth2.Token, *oidc.IDToken, error) {
	t.Helper()
	tok, err := rp.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		return nil, nil, err
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		t.Fatal("no id_token in the token response")
	}
	idt, err := rp.verifier.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("ID token does not verify against JWKS: %v", err)
	}
	if idt.Nonce != a.nonce {
		t.Fatalf("nonce = %q, want %q", idt.Nonce, a.nonce)
	}
	return tok, idt, nil
}

// introspect asks the introspection endpoint about token as the relying party.
func (rp *relyingParty) introspect(t testing.TB, ts *testServer, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(rp.id, rp.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("introspection: %d %s", resp.StatusCode, b)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (rp *relyingParty) revoke(t testing.TB, ts *testServer, token, hint string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/revoke", strings.NewReader(url.Values{"token": {token}, "token_type_hint": {hint}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(rp.id, rp.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %d", resp.StatusCode)
	}
}

type idClaims struct {
	Sub      string   `json:"sub"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
}

func TestEndToEnd(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			rp := registerRP(t, ts, false)
			b := newBrowser(t)

			// Register through the relying party: name, phone (national format), password, code.
			a := rp.start()
			tok, idt, err := rp.exchange(t, codeFrom(t, register(t, ts, b, a), a), a)
			if err != nil {
				t.Fatalf("code exchange: %v", err)
			}
			var claims idClaims
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if claims.Sub == "" || strings.Contains(claims.Sub, "2671") {
				t.Fatalf("sub %q must be opaque and not the phone number", claims.Sub)
			}
			if !slices.Equal(claims.AMR, []string{"pwd", "sms", "mfa"}) {
				t.Fatalf("amr = %v, want [pwd sms mfa]", claims.AMR)
			}
			if claims.AuthTime == 0 || time.Since(time.Unix(claims.AuthTime, 0)) > time.Minute {
				t.Fatalf("auth_time = %d, want about now", claims.AuthTime)
			}

			// UserInfo: name, phone, verified.
			info, err := rp.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var ui struct {
				Sub, Name, PhoneNumber string
				PhoneNumberVerified    bool `json:"phone_number_verified"`
			}
			if err := info.Claims(&ui); err != nil {
				t.Fatal(err)
			}
			var rawInfo map[string]any
			_ = info.Claims(&rawInfo)
			if info.Subject != claims.Sub || rawInfo["name"] != testName || rawInfo["phone_number"] != testPhone || rawInfo["phone_number_verified"] != true {
				t.Fatalf("userinfo = %v, want sub %s, name, phone and verified", rawInfo, claims.Sub)
			}

			// Introspection: active, with the standard members.
			in := rp.introspect(t, ts, tok.AccessToken)
			if in["active"] != true || in["sub"] != claims.Sub || in["client_id"] != rp.id || in["iss"] != ts.issuer || in["token_type"] != "Bearer" {
				t.Fatalf("introspection of a fresh access token = %v", in)
			}
			if _, ok := in["exp"]; !ok {
				t.Fatalf("introspection lacks exp: %v", in)
			}
			// An ID token is not an access token.
			if got := rp.introspect(t, ts, tok.Extra("id_token").(string)); len(got) != 1 || got["active"] != false {
				t.Fatalf("introspecting an ID token = %v, want exactly {active:false}", got)
			}

			// Refresh: new tokens, same sub; the old refresh token is spent, and replaying it
			// ends the whole family.
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token for offline_access")
			}
			old := tok.RefreshToken
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Hour)
			tok2, err := rp.oauth.TokenSource(t.Context(), &expired).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if tok2.RefreshToken == "" || tok2.RefreshToken == old || tok2.AccessToken == tok.AccessToken {
				t.Fatal("refresh did not rotate the tokens")
			}
			idt2, err := rp.verifier.Verify(t.Context(), tok2.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("refreshed ID token: %v", err)
			}
			if idt2.Subject != claims.Sub {
				t.Fatalf("refreshed sub = %q, want %q", idt2.Subject, claims.Sub)
			}
			// Past the refresh grace period (OTPIDP_REFRESH_GRACE), a second use is a replay.
			ts.clock.advance(provider.DefaultRefreshGrace)
			replay := expired
			replay.RefreshToken = old
			if _, err := rp.oauth.TokenSource(t.Context(), &replay).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("replayed refresh token: err = %v, want invalid_grant", err)
			}
			if got := rp.introspect(t, ts, tok2.AccessToken); got["active"] != false {
				t.Fatalf("after a refresh replay the family's access token must be inactive: %v", got)
			}
			after := *tok2
			after.Expiry = time.Now().Add(-time.Hour)
			if _, err := rp.oauth.TokenSource(t.Context(), &after).Token(); err == nil {
				t.Fatal("after a refresh replay the newest refresh token must be revoked too")
			}

			// A second sign-in in the same browser reuses the session (no password, no code).
			sent := ts.sms.count()
			a2 := rp.start()
			tok3, _, err := rp.exchange(t, codeFrom(t, b.get(a2.url), a2), a2)
			if err != nil {
				t.Fatalf("single sign-on exchange: %v", err)
			}
			if ts.sms.count() != sent {
				t.Fatal("single sign-on sent an SMS")
			}

			// Revocation of the access token shows at once in introspection.
			if got := rp.introspect(t, ts, tok3.AccessToken); got["active"] != true {
				t.Fatalf("before revocation: %v", got)
			}
			rp.revoke(t, ts, tok3.AccessToken, "access_token")
			if got := rp.introspect(t, ts, tok3.AccessToken); len(got) != 1 || got["active"] != false {
				t.Fatalf("after revocation introspection = %v, want exactly {active:false}", got)
			}
			// Revoking a refresh token ends its family.
			rp.revoke(t, ts, tok3.RefreshToken, "refresh_token")
			rt := *tok3
			rt.Expiry = time.Now().Add(-time.Hour)
			if _, err := rp.oauth.TokenSource(t.Context(), &rt).Token(); err == nil {
				t.Fatal("a revoked refresh token still works")
			}

			// RP-initiated logout with id_token_hint: back to the registered URI with state,
			// and the browser session is over.
			q := url.Values{
				"id_token_hint": {tok3.Extra("id_token").(string)}, "client_id": {rp.id},
				"post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye"},
			}
			out := b.get(ts.issuer + "/end_session?" + q.Encode())
			if !strings.HasPrefix(out.location, rpLoggedOut) || !strings.Contains(out.location, "state=bye") {
				t.Fatalf("logout redirect = %d %q", out.status, out.location)
			}
			if again := b.get(rp.start().url); again.url.Path != "/login" || again.status != http.StatusOK {
				t.Fatalf("after logout the browser must sign in again, got %d %s %q", again.status, again.url, again.location)
			}

			// Sign in with phone + password + code (the login path, not registration).
			a4 := rp.start()
			_, idt4, err := rp.exchange(t, codeFrom(t, signIn(t, ts, newBrowser(t), a4, testPassword), a4), a4)
			if err != nil {
				t.Fatalf("sign-in exchange: %v", err)
			}
			if idt4.Subject != claims.Sub {
				t.Fatalf("sign-in sub = %q, want %q", idt4.Subject, claims.Sub)
			}

			assertNoSecretsLogged(t, ts, []string{testPassword, testPhone, tok.AccessToken, tok.RefreshToken, tok2.RefreshToken})
		})
	}
}

// assertNoSecretsLogged scans the server's log for values that must never appear in it.
func assertNoSecretsLogged(t testing.TB, ts *testServer, secrets []string) {
	t.Helper()
	logs := ts.logs.String()
	ts.sms.settle()
	ts.sms.mu.Lock()
	for _, m := range ts.sms.msgs {
		if c := codeRE.FindStringSubmatch(m.Body); c != nil {
			secrets = append(secrets, "#"+c[1], "is "+c[1])
		}
		// Every number a text went to, with and without its +.
		secrets = append(secrets, m.To, strings.TrimPrefix(m.To, "+"))
	}
	ts.sms.mu.Unlock()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log contains a secret value %.12q…", s)
		}
	}
}

// refusals runs test once per store (subtests sqlite and, with OTPIDP_TEST_DATABASE_URL,
// postgres), each time on a fresh server with a first-party confidential relying party rp and
// an account of the test user to sign in to.
func refusals(t *testing.T, test func(t *testing.T, ts *testServer, rp *relyingParty)) {
	t.Helper()
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			rp := registerRP(t, ts, false)
			first := rp.start()
			if _, _, err := rp.exchange(t, codeFrom(t, register(t, ts, newBrowser(t), first), first), first); err != nil {
				t.Fatal(err)
			}
			test(t, ts, rp)
		})
	}
}

// codeStep signs in to rp up to the code page in a fresh browser.
func codeStep(t *testing.T, rp *relyingParty) (*browser, response, authorization) {
	t.Helper()
	b := newBrowser(t)
	a := rp.start()
	login := b.get(a.url)
	page := b.submit(login, "/login", map[string]string{"phone": testPhone, "password": testPassword})
	if page.url.Path != "/code" {
		t.Fatalf("password step: %d %s", page.status, page.url)
	}
	return b, page, a
}

// wrongCode returns a code that is not right.
func wrongCode(right string) string {
	if right == "000000" {
		return "111111"
	}
	return "000000"
}

// TestRefusalsSignIn refuses a wrong password, wrong, expired, reused and
// sixth codes, and a code page replayed from another browser.
func TestRefusalsSignIn(t *testing.T) {
	refusals(t, func(t *testing.T, ts *testServer, rp *relyingParty) {
		t.Run("wrong-password", func(t *testing.T) {
			b := newBrowser(t)
			sent := ts.sms.count()
			login := b.get(rp.start().url)
			r := b.submit(login, "/login", map[string]string{"phone": testPhone, "password": "wrong password here"})
			if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "don&#39;t match an account") {
				t.Fatalf("wrong password: %d\n%s", r.status, r.body)
			}
			if !strings.Contains(html.UnescapeString(r.body), `value="`+testPhone+`"`) {
				t.Fatal("the phone typed must be kept")
			}
			if strings.Contains(r.body, "wrong password here") {
				t.Fatal("the password must never be echoed")
			}
			if ts.sms.count() != sent {
				t.Fatal("an SMS was sent before the password was verified")
			}
		})

		t.Run("wrong-code", func(t *testing.T) {
			b, page, _ := codeStep(t, rp)
			r := b.submit(page, "/code", map[string]string{"code": wrongCode(ts.sms.lastCode(t, testPhone))})
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "isn&#39;t right or has expired") || r.location != "" {
				t.Fatalf("wrong code: %d %q\n%s", r.status, r.location, r.body)
			}
		})

		t.Run("expired-code", func(t *testing.T) {
			b, page, _ := codeStep(t, rp)
			code := ts.sms.lastCode(t, testPhone)
			ts.clock.advance(5*time.Minute + time.Second)
			defer ts.clock.advance(-(5*time.Minute + time.Second))
			r := b.submit(page, "/code", map[string]string{"code": code})
			if r.location != "" || r.status == http.StatusOK {
				t.Fatalf("an expired code was accepted: %d %q", r.status, r.location)
			}
		})

		t.Run("code-used-twice", func(t *testing.T) {
			b, page, a := codeStep(t, rp)
			code := ts.sms.lastCode(t, testPhone)
			codeFrom(t, b.submit(page, "/code", map[string]string{"code": code}), a)
			again := b.submit(page, "/code", map[string]string{"code": code})
			if again.location != "" || again.status == http.StatusOK {
				t.Fatalf("a used code was accepted again: %d %q", again.status, again.location)
			}
		})

		t.Run("sixth-try", func(t *testing.T) {
			b, page, _ := codeStep(t, rp)
			code := ts.sms.lastCode(t, testPhone)
			for i := range 5 {
				r := b.submit(page, "/code", map[string]string{"code": wrongCode(code)})
				if r.status != http.StatusBadRequest {
					t.Fatalf("wrong try %d: %d", i+1, r.status)
				}
			}
			r := b.submit(page, "/code", map[string]string{"code": code})
			if r.location != "" || !strings.Contains(r.body, "Too many wrong codes") {
				t.Fatalf("the right code after five wrong ones was accepted or unexplained: %d %q\n%s", r.status, r.location, r.body)
			}
		})

		t.Run("other-browser", func(t *testing.T) {
			_, page, _ := codeStep(t, rp)
			thief := newBrowser(t)
			r := thief.submit(page, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
			if r.location != "" || r.status == http.StatusOK || r.status >= 500 {
				t.Fatalf("a code page replayed from another browser: %d %q", r.status, r.location)
			}
		})
	})
}

// TestRefusalsAuthorize refuses unregistered redirect URIs (on an error page, never
// redirected) and a public client's request without S256 PKCE.
func TestRefusalsAuthorize(t *testing.T) {
	refusals(t, func(t *testing.T, ts *testServer, rp *relyingParty) {
		t.Run("unregistered-redirect-uri", func(t *testing.T) {
			for _, evil := range []string{"https://evil.example/callback", rpRedirect + "/", rpRedirect + "?x=1", "http://127.0.0.1:1/CALLBACK"} {
				cfg := rp.oauth
				cfg.RedirectURL = evil
				a := authorization{state: "s", verifier: oauth2.GenerateVerifier()}
				r := newBrowser(t).get(cfg.AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verifier)))
				if r.location != "" || r.status != http.StatusBadRequest || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
					t.Fatalf("redirect_uri %q: %d location %q type %q", evil, r.status, r.location, r.header.Get("Content-Type"))
				}
				if !strings.Contains(r.body, "Reference:") {
					t.Fatalf("the error page must carry a reference:\n%s", r.body)
				}
			}
		})

		t.Run("public-client-without-pkce", func(t *testing.T) {
			pub := registerRP(t, ts, true)
			r := newBrowser(t).get(pub.oauth.AuthCodeURL("st"))
			u, _ := url.Parse(r.location)
			if u == nil || !strings.HasPrefix(r.location, rpRedirect) || u.Query().Get("error") != "invalid_request" || u.Query().Get("state") != "st" {
				t.Fatalf("public client without PKCE: %d %q", r.status, r.location)
			}
			// plain is refused too.
			r = newBrowser(t).get(pub.oauth.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghijabc"), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
			if u, _ := url.Parse(r.location); u == nil || u.Query().Get("error") != "invalid_request" {
				t.Fatalf("plain PKCE: %d %q", r.status, r.location)
			}
		})
	})
}

// TestRefusalsCodeExchange refuses a replayed code (revoking its tokens) and a wrong
// PKCE verifier.
func TestRefusalsCodeExchange(t *testing.T) {
	refusals(t, func(t *testing.T, ts *testServer, rp *relyingParty) {
		t.Run("code-replay", func(t *testing.T) {
			b, page, a := codeStep(t, rp)
			code := codeFrom(t, b.submit(page, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)}), a)
			tok, _, err := rp.exchange(t, code, a)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := rp.exchange(t, code, a); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("second redemption: %v, want invalid_grant", err)
			}
			if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != false {
				t.Fatalf("tokens of a replayed code must be revoked: %v", got)
			}
		})

		t.Run("wrong-pkce-verifier", func(t *testing.T) {
			b, page, a := codeStep(t, rp)
			code := codeFrom(t, b.submit(page, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)}), a)
			a.verifier = oauth2.GenerateVerifier()
			if _, _, err := rp.exchange(t, code, a); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("wrong verifier: %v, want invalid_grant", err)
			}
		})
	})
}

// TestRefusalsEndpoints checks that the token endpoint refuses GET and is not
// cached, and that introspection needs client authentication.
func TestRefusalsEndpoints(t *testing.T) {
	refusals(t, func(t *testing.T, ts *testServer, rp *relyingParty) {
		t.Run("token-get", func(t *testing.T) {
			resp, err := http.Get(ts.issuer + "/oauth/token?grant_type=authorization_code&code=x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("GET /oauth/token: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
			}
		})

		t.Run("introspection-unauthenticated", func(t *testing.T) {
			resp, err := http.PostForm(ts.issuer+"/oauth/introspect", url.Values{"token": {"x"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("unauthenticated introspection: %d", resp.StatusCode)
			}
		})
	})
}

// TestRefusalsCrossSite refuses cross-site form posts and forged CSRF tokens.
func TestRefusalsCrossSite(t *testing.T) {
	refusals(t, func(t *testing.T, ts *testServer, rp *relyingParty) {
		b := newBrowser(t)
		login := b.get(rp.start().url)
		form := formFields(t, login.body, "/login")
		form.Set("phone", testPhone)
		form.Set("password", testPassword)
		req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if r := b.do(req); r.status != http.StatusForbidden {
			t.Fatalf("cross-site POST: %d", r.status)
		}
		form.Set("csrf", "forged")
		req, _ = http.NewRequest(http.MethodPost, ts.issuer+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if r := b.do(req); r.status != http.StatusForbidden {
			t.Fatalf("forged CSRF token: %d", r.status)
		}
	})
}

// TestSMSInPageLanguage: the code is texted in the language the pages are shown in (here chosen
// by ui_locales).
func TestSMSInPageLanguage(t *testing.T) {
	ts := startServer(t, stores(t)["sqlite"](t))
	rp := registerRP(t, ts, false)
	a := rp.start(oauth2.SetAuthURLParam("ui_locales", "es"))
	codeFrom(t, register(t, ts, newBrowser(t), a), a)
	ts.sms.settle()
	ts.sms.mu.Lock()
	defer ts.sms.mu.Unlock()
	if len(ts.sms.msgs) == 0 || !strings.HasPrefix(ts.sms.msgs[0].Body, "Tu código de otpidp es ") {
		t.Fatalf("the registration text is not in Spanish: %q", ts.sms.msgs)
	}
}
