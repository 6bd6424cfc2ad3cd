package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// The browser test drives headless Chromium (chromedp) through the pages as a person on a phone
// would: 390×844, register → recovery codes → back to the app; sign in → code; sign in with a
// recovery code; forgot password; the account page; errors and Spanish. The app is a real
// relying party (coreos/go-oidc + x/oauth2) on its own loopback port. Every page is captured
// into the artifacts directory ($OTPIDP_ARTIFACTS, else artifacts/browser at the repository
// root), checked with axe-core in light and dark schemes (no serious or critical violation),
// and checked for horizontal scrolling at 200 % zoom.
//
// Chromium is /usr/bin/chromium (or $OTPIDP_CHROMIUM); axe-core is installed by .ci/run with
// npm into ui/testdata/axe (or $OTPIDP_AXE_JS names axe.min.js). Missing either skips the test,
// except when CI is set: then it fails.

func needed(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s: the browser test must run in CI", what)
	}
	t.Skipf("%s: skipping the browser test", what)
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OTPIDP_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	needed(t, "Chromium is not installed")
	return ""
}

func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("OTPIDP_AXE_JS")
	if p == "" {
		p = filepath.Join("..", "..", "ui", "testdata", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		needed(t, "axe-core is not installed (npm ci in ui/testdata/axe)")
	}
	return string(b)
}

func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OTPIDP_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	dir = filepath.Join(dir, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testApp is a relying party: /start sends the browser to otpidp, /callback redeems the code,
// verifies the ID token and shows its claims.
type testApp struct {
	url   string
	mu    sync.Mutex
	state map[string]authorization
	rp    *relyingParty
}

func startApp(t *testing.T, ts *testServer) *testApp {
	t.Helper()
	app := &testApp{state: map[string]authorization{}}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	app.url = srv.URL
	id, secret, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{
		Name: "Corner Shop", RedirectURIs: []string{srv.URL + "/callback"}, PostLogoutRedirectURIs: []string{srv.URL + "/"},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := oidc.NewProvider(t.Context(), ts.issuer)
	if err != nil {
		t.Fatal(err)
	}
	app.rp = &relyingParty{id: id, secret: secret, provider: p, verifier: p.Verifier(&oidc.Config{ClientID: id}),
		oauth: oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: srv.URL + "/callback",
			Scopes: []string{oidc.ScopeOpenID, "profile", "phone"}}}
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		var extra []oauth2.AuthCodeOption
		if l := r.URL.Query().Get("ui_locales"); l != "" {
			extra = append(extra, oauth2.SetAuthURLParam("ui_locales", l))
		}
		a := app.rp.start(extra...)
		app.mu.Lock()
		app.state[a.state] = a
		app.mu.Unlock()
		http.Redirect(w, r, a.url, http.StatusFound)
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		app.mu.Lock()
		a, ok := app.state[r.URL.Query().Get("state")]
		delete(app.state, r.URL.Query().Get("state"))
		app.mu.Unlock()
		if !ok {
			http.Error(w, "unknown state", http.StatusBadRequest)
			return
		}
		tok, err := app.rp.oauth.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(a.verifier))
		if err != nil {
			http.Error(w, "exchange: "+err.Error(), http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := app.rp.verifier.Verify(r.Context(), raw)
		if err != nil || idt.Nonce != a.nonce {
			http.Error(w, fmt.Sprintf("ID token: %v", err), http.StatusBadGateway)
			return
		}
		var claims map[string]any
		_ = idt.Claims(&claims)
		b, _ := json.Marshal(claims)
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Corner Shop</title><h1>Signed in to Corner Shop</h1><pre id="claims">%s</pre>`, html.EscapeString(string(b)))
	})
	return app
}

// session is one browser tab and what the test knows about it.
type session struct {
	t         *testing.T
	ctx       context.Context
	issuer    string
	axe       string
	dir       string
	n         int
	pages     map[string]bool
	violation []string
}

func newChromium(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

func (s *session) run(actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.ctx, actions...); err != nil {
		s.t.Fatalf("chromedp: %v", err)
	}
}

// value runs an action that returns a value.
func value[T any](s *session, a chromedp.Action[T]) T {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, a)
	if err != nil {
		s.t.Fatalf("chromedp: %v", err)
	}
	return v
}

func evalAs[T any](s *session, expr string) T {
	s.t.Helper()
	return value(s, chromedp.Evaluate[T](expr))
}

func (s *session) location() string { return value(s, chromedp.Location()) }

// scheme emulates prefers-color-scheme.
func scheme(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: name}}})
		return err
	})
}

// waitFor waits until the page at a URL starting with prefix has loaded its body.
func (s *session) waitFor(prefix string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		loc := s.location()
		// A page that is still the one the test left carries the mark submit and navigate set.
		ready, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`window.__left ? "old" : document.readyState`))
		if strings.HasPrefix(loc, prefix) && ready == "complete" {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			s.t.Fatalf("waiting for %s, at %s:\n%s", prefix, loc, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *session) text(sel string) string {
	s.t.Helper()
	return value(s, chromedp.Text(chromedp.CSS(sel)))
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// check captures the page as name, runs axe-core on it in the light and the dark scheme, and
// checks that it does not scroll sideways at 200 % zoom (a 195 px wide viewport).
func (s *session) check(name string) {
	s.t.Helper()
	s.n++
	s.pages[name] = true
	if !evalAs[bool](s, `typeof window.axe === "object"`) {
		if _, err := chromedp.Run(s.ctx, chromedp.Evaluate[*runtime.RemoteObject](s.axe)); err != nil {
			s.t.Fatalf("inject axe-core: %v", err)
		}
	}
	for _, sc := range []string{"light", "dark"} {
		s.run(scheme(sc))
		png := value(s, chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%02d-%s-%s.png", s.n, name, sc)), png, 0o644); err != nil {
			s.t.Fatal(err)
		}
		res := value(s, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
			id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.map(n => n.target.join(" ")) })))`, chromedp.EvalAwaitPromise))
		for _, v := range res {
			if v.Impact == "serious" || v.Impact == "critical" {
				s.violation = append(s.violation, fmt.Sprintf("%s (%s): %s [%s] %s: %s", name, sc, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", ")))
			} else {
				s.t.Logf("axe %s (%s): %s [%s] %s", name, sc, v.ID, v.Impact, v.Help)
			}
		}
	}
	s.run(scheme("light"))
	// 200 % zoom: the same page in half the CSS width must not scroll sideways.
	s.run(chromedp.EmulateViewport(195, 422, chromedp.EmulateScale(4), chromedp.EmulateMobile))
	overflow := evalAs[bool](s, `document.documentElement.scrollWidth > window.innerWidth + 1`)
	s.run(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	if overflow {
		s.t.Errorf("%s scrolls sideways at 200 %% zoom", name)
	}
}

func (s *session) fill(sel, value string) {
	s.t.Helper()
	q, _ := json.Marshal(sel)
	evalAs[bool](s, `(function(){ var e = document.querySelector(`+string(q)+`); e.value = ""; return true })()`)
	s.run(chromedp.SendKeys(chromedp.CSS(sel), value))
}

// leave marks the current page, so that waitFor knows it from the next one.
func (s *session) leave() {
	s.t.Helper()
	evalAs[bool](s, `window.__left = true`)
}

func (s *session) navigate(url string) {
	s.t.Helper()
	s.run(chromedp.Navigate(url))
}

func (s *session) click(sel string) {
	s.t.Helper()
	s.leave()
	s.run(chromedp.Click(chromedp.CSS(sel)))
}

func (s *session) submit(form string) {
	s.t.Helper()
	s.leave()
	s.run(chromedp.Click(chromedp.CSS(`form[action="` + form + `"] button[type=submit]`)))
}

func (s *session) claims() map[string]any {
	s.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s.text("#claims")), &m); err != nil {
		s.t.Fatalf("claims: %v", err)
	}
	return m
}

func amrOf(m map[string]any) string {
	var out []string
	l, _ := m["amr"].([]any)
	for _, v := range l {
		out = append(out, fmt.Sprint(v))
	}
	return strings.Join(out, ",")
}

func TestBrowser(t *testing.T) {
	exe := chromiumPath(t)
	axe := axeSource(t)
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ts := startServer(t, store)
	app := startApp(t, ts)
	s := &session{t: t, ctx: newChromium(t, exe), issuer: ts.issuer, axe: axe, dir: artifactsDir(t), pages: map[string]bool{}}
	const password, newPassword = "correct horse battery staple", "a brand new passphrase"

	// Register from the app.
	s.navigate(app.url + "/start")
	s.waitFor(ts.issuer + "/login")
	if !strings.Contains(s.text(".for"), "Corner Shop") {
		t.Error("the login page does not name the app")
	}
	s.check("login")
	s.click(`a[href^="/register"]`)
	s.waitFor(ts.issuer + "/register")
	s.check("register")
	// A too-short password: the error sits next to the field and has the focus.
	s.fill("#name", "Ada Lovelace")
	s.fill("#phone", "(415) 555-2671")
	s.fill("#password", "short")
	s.submit("/register")
	s.waitFor(ts.issuer + "/register")
	focus := evalAs[string](s, `document.activeElement.id`)
	described := evalAs[string](s, `document.getElementById("password").getAttribute("aria-describedby")`)
	if focus != "password" || !strings.Contains(described, "password-error") || !strings.Contains(s.text("#password-error"), "at least 8") {
		t.Errorf("register error: focus %q, aria-describedby %q", focus, described)
	}
	kept := evalAs[string](s, `document.getElementById("name").value + "|" + document.getElementById("password").value`)
	if kept != "Ada Lovelace|" {
		t.Errorf("after an error the form keeps %q, want the name and never the password", kept)
	}
	s.check("register-error")
	s.fill("#password", password)
	// The show-password button reveals the password and hides it again.
	s.run(chromedp.Click(chromedp.CSS(`#password + .reveal`)))
	typ := evalAs[string](s, `document.getElementById("password").type`)
	if typ != "text" {
		t.Errorf("show password: type = %q", typ)
	}
	s.run(chromedp.Click(chromedp.CSS(`#password + .reveal`)))
	s.submit("/register")
	s.waitFor(ts.issuer + "/code")
	if !strings.Contains(s.text("main"), "+1 ••• ••• 2671") {
		t.Errorf("the code page does not show the masked number: %q", s.text("main"))
	}
	s.check("code")
	code := ts.sms.lastCode(t, testPhone)
	s.fill("#code", code[:3]+" "+code[3:]) // as pasted from a message, with a space
	s.submit("/code")
	s.waitFor(ts.issuer + "/recovery-codes")
	s.check("recovery-codes")
	codes := regexp.MustCompile(`[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}`).FindAllString(s.text("#codes"), -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	s.submit("/recovery-codes")
	// The first time, the app (not first-party) needs the user's consent.
	s.waitFor(ts.issuer + "/consent")
	if main := s.text("main"); !strings.Contains(main, "Corner Shop") || !strings.Contains(main, "Your phone number") {
		t.Errorf("the consent page does not say who asks for what:\n%s", main)
	}
	s.check("consent")
	s.click(`button[value="allow"]`)
	s.waitFor(app.url + "/callback")
	claims := s.claims()
	if claims["sub"] == nil || amrOf(claims) != "pwd,sms,mfa" {
		t.Errorf("claims after registration: %v", claims)
	}
	// The codes are not shown again.
	s.navigate(ts.issuer + "/recovery-codes")
	s.waitFor(ts.issuer + "/recovery-codes")
	if strings.Contains(s.text("main"), codes[0]) {
		t.Error("the recovery codes were shown a second time")
	}
	s.check("recovery-codes-gone")

	// The account page, then sign out.
	s.navigate(ts.issuer + "/account")
	s.waitFor(ts.issuer + "/account")
	if main := s.text("main"); !strings.Contains(main, "Corner Shop") || !strings.Contains(main, "10 of 10") {
		t.Errorf("the account page lacks the app or the codes count:\n%s", main)
	}
	s.check("account")
	s.submit("/logout")
	s.waitFor(ts.issuer + "/logged-out")
	s.check("logged-out")

	// Sign in with a recovery code instead of the SMS.
	s.navigate(app.url + "/start")
	s.waitFor(ts.issuer + "/login")
	s.fill("#phone", "415 555 2671")
	s.fill("#password", password)
	s.submit("/login")
	s.waitFor(ts.issuer + "/code")
	s.click(`a[href^="/code/recovery"]`)
	s.waitFor(ts.issuer + "/code/recovery")
	s.check("recovery-sign-in")
	s.fill("#recovery_code", strings.ToLower(codes[0]))
	s.submit("/code/recovery")
	s.waitFor(app.url + "/callback")
	if amr := amrOf(s.claims()); amr != "pwd,otp,mfa" {
		t.Errorf("amr after a recovery-code sign-in = %s", amr)
	}
	s.navigate(ts.issuer + "/account")
	s.waitFor(ts.issuer + "/account")
	s.submit("/logout")
	s.waitFor(ts.issuer + "/logged-out")

	// Forgot password, from the app's sign-in.
	s.navigate(app.url + "/start")
	s.waitFor(ts.issuer + "/login")
	s.click(`a[href^="/forgot"]`)
	s.waitFor(ts.issuer + "/forgot")
	s.check("forgot")
	s.fill("#phone", "+1 415 555 2671")
	s.submit("/forgot")
	s.waitFor(ts.issuer + "/forgot/verify")
	s.check("forgot-verify")
	s.fill("#code", ts.sms.lastCode(t, testPhone))
	s.fill("#recovery_code", codes[1])
	s.submit("/forgot/verify")
	s.waitFor(ts.issuer + "/forgot/password")
	s.check("new-password")
	s.fill("#password", newPassword)
	s.fill("#password_confirm", newPassword+"!")
	s.submit("/forgot/password")
	s.waitFor(ts.issuer + "/forgot/password")
	focus = evalAs[string](s, `document.activeElement.id`)
	if focus != "password_confirm" {
		t.Errorf("a mismatched confirmation: focus on %q", focus)
	}
	s.check("new-password-error")
	s.fill("#password", newPassword)
	s.fill("#password_confirm", newPassword)
	s.submit("/forgot/password")
	s.waitFor(ts.issuer + "/login")
	if !strings.Contains(s.text(".notice"), "password has been changed") {
		t.Error("no notice after the reset")
	}
	s.check("login-after-reset")
	s.fill("#phone", testPhone)
	s.fill("#password", newPassword)
	s.submit("/login")
	s.waitFor(ts.issuer + "/code")
	s.fill("#code", ts.sms.lastCode(t, testPhone))
	s.submit("/code")
	s.waitFor(app.url + "/callback")
	if amr := amrOf(s.claims()); amr != "pwd,sms,mfa" {
		t.Errorf("amr after the reset = %s", amr)
	}

	// The device page (RFC 8628): a mistyped code, then the right one, then the approval.
	_, tv := deviceClient(t, ts)
	dev := startDevice(t, ts, tv)
	s.navigate(ts.issuer + "/device")
	s.waitFor(ts.issuer + "/device")
	s.check("device")
	s.fill("#user_code", "BBBB-BBBB")
	s.submit("/device")
	s.waitFor(ts.issuer + "/device")
	if focus := evalAs[string](s, `document.activeElement.id`); focus != "user_code" || s.text("#user_code-error") == "" {
		t.Errorf("a wrong device code: focus on %q, error %q", focus, s.text("#user_code-error"))
	}
	s.check("device-error")
	s.fill("#user_code", strings.ToLower(dev.UserCode))
	s.submit("/device")
	s.waitFor(ts.issuer + "/device")
	if main := s.text("main"); !strings.Contains(main, "TV app") || !strings.Contains(main, dev.UserCode) {
		t.Errorf("the device approval page does not name the app and the code:\n%s", main)
	}
	s.check("device-approve")
	s.click(`button[value="allow"]`)
	s.waitFor(ts.issuer + "/device")
	if !strings.Contains(s.text("main"), "Device connected") {
		t.Errorf("after approving the device: %q", s.text("main"))
	}
	s.check("device-done")

	// Errors and Spanish.
	s.navigate(ts.issuer + "/no/such/page")
	s.waitFor(ts.issuer + "/no/such/page")
	s.check("not-found")
	s.navigate(ts.issuer + "/authorize?client_id=nope&response_type=code&scope=openid&redirect_uri=https://evil.example/")
	s.waitFor(ts.issuer + "/authorize")
	if !strings.Contains(s.text("main"), "Reference") {
		t.Error("the request error page has no reference")
	}
	s.check("request-error")
	s.navigate(ts.issuer + "/account")
	s.waitFor(ts.issuer + "/account")
	s.submit("/logout")
	s.waitFor(ts.issuer + "/logged-out")
	s.navigate(app.url + "/start?ui_locales=es")
	s.waitFor(ts.issuer + "/login")
	lang := evalAs[string](s, `document.documentElement.lang`)
	if lang != "es" || !strings.Contains(s.text("h1"), "Iniciar sesión") {
		t.Errorf("ui_locales=es: lang %q, h1 %q", lang, s.text("h1"))
	}
	s.check("login-es")

	if len(s.violation) > 0 {
		t.Errorf("axe-core found serious or critical violations:\n%s", strings.Join(s.violation, "\n"))
	}
	t.Logf("%d pages captured in %s", s.n, s.dir)
}
