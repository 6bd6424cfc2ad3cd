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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	zitadelrp "github.com/zitadel/oidc/v3/pkg/client/rp"
	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/storage/sqlite"
	"github.com/otpidp/otpidp/ui"
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

// ---- the browser and its tabs ----

// browserRun is the one Chromium the test drives, shared by its tabs, and what they found.
type browserRun struct {
	t   *testing.T
	ctx context.Context // the browser
	axe string
	dir string

	mu        sync.Mutex
	shots     map[string][]*sheetTile // "en-phone" → the screenshots, in order
	tiles     sync.WaitGroup          // shrinking screenshots into tiles
	violation []string
}

// addTile shrinks a screenshot into a tile of the sheet key, meanwhile the test goes on.
func (b *browserRun) addTile(key string, png []byte, factor int) {
	tile := &sheetTile{}
	b.mu.Lock()
	b.shots[key] = append(b.shots[key], tile)
	b.mu.Unlock()
	b.tiles.Go(func() { tile.img, tile.err = shrunk(png, factor) })
}

// session is one tab, in a browser context of its own (its own cookies), in one language.
type session struct {
	t       *testing.T
	br      *browserRun
	ctx     context.Context
	lang    string
	cat     map[string]string // the language's catalog
	n       int
	spent   map[string]time.Duration // time spent checking, by kind (logged)
	posts   *atomic.Int64            // POST requests the tab sent
	dialogs *atomic.Int64            // JavaScript dialogs opened (a resubmission prompt among them)
}

// screenSize is a viewport pages are captured at, and how much its tiles shrink on the
// contact sheet.
type screenSize struct {
	name          string
	width, height int64
	scale         float64
	mobile        bool
	shrink        int
}

// sizes are the viewports every page is captured at (the phone's last: axe runs there).
var sizes = []screenSize{{"desktop", 1280, 800, 1, false, 5}, {"phone", 390, 844, 1, true, 2}}

// layoutWidths are the widths every page must fit without scrolling sideways.
var layoutWidths = []int64{320, 390, 1280}

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
		// Back and Forward must ask the server again (a page kept in the back/forward cache
		// would hide a resubmission).
		chromedp.Flag("disable-features", "BackForwardCache"),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 10*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// tab opens a tab in a new browser context whose pages ask for lang (Accept-Language).
func (b *browserRun) tab(t *testing.T, lang string) *session {
	t.Helper()
	s := &session{t: t, br: b, lang: lang, cat: ui.Catalog(lang), posts: &atomic.Int64{}, dialogs: &atomic.Int64{}, spent: map[string]time.Duration{}}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if e.Request != nil && e.Request.Method == http.MethodPost {
				s.posts.Add(1)
			}
		case *page.EventJavascriptDialogOpening:
			s.dialogs.Add(1)
		}
	}))
	t.Cleanup(cancel)
	s.ctx = ctx
	s.run(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Accept-Language": lang}})
			return err
		}))
	return s
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

// T is the catalog's message key in the tab's language (without arguments).
func (s *session) T(key string) string {
	s.t.Helper()
	msg, ok := s.cat[key]
	if !ok {
		s.t.Fatalf("no catalog key %q", key)
	}
	return msg
}

// inputValue is the value of the input with that id.
func (s *session) inputValue(id string) string {
	s.t.Helper()
	return evalAs[string](s, `(function(){ var e = document.getElementById(`+strconvQuote(id)+`); return e ? e.value : "<none>" })()`)
}

func strconvQuote(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// viewport sets the tab's viewport to a width (the phone's height, or the desktop's).
func (s *session) viewport(width, height int64, scale float64, mobile bool) {
	s.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(scale)}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	s.run(chromedp.EmulateViewport(width, height, opts...))
}

// check captures the page as name at every size in the light and the dark scheme, runs
// axe-core on it (phone size, both schemes), checks that it fits 320, 390 and 1280 px and 200 %
// zoom without scrolling sideways, and that it shows no untranslated text.
func (s *session) check(name string) {
	s.t.Helper()
	s.n++
	if !evalAs[bool](s, `typeof window.axe === "object"`) {
		if _, err := chromedp.Run(s.ctx, chromedp.Evaluate[*runtime.RemoteObject](s.br.axe)); err != nil {
			s.t.Fatalf("inject axe-core: %v", err)
		}
	}
	start := time.Now()
	lap := func(kind string) { s.spent[kind] += time.Since(start); start = time.Now() }
	fits := func(sc string, w int64) {
		if sw := evalAs[int](s, `document.documentElement.scrollWidth - window.innerWidth`); sw > 0 {
			s.t.Errorf("%s (%s, %s) at %d px: %d px wider than the window", name, s.lang, sc, w, sw)
		}
		// Nor does anything spill out of its box inside the page (recovery codes did).
		spill := evalAs[[]string](s, `Array.from(document.querySelectorAll("main *")).filter(e => !/^(INPUT|SELECT|TEXTAREA)$/.test(e.tagName) &&
			e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible").map(e => e.tagName + "." + e.className)`)
		if len(spill) > 0 {
			s.t.Errorf("%s (%s, %s) at %d px: content spills out of %v", name, s.lang, sc, w, spill)
		}
	}
	for _, sc := range []string{"light", "dark"} {
		s.run(scheme(sc))
		// The widths that are no screenshot's (320 px), then each screenshot's size, ending on
		// the phone's, where axe runs.
		for _, w := range layoutWidths {
			if !slices.ContainsFunc(sizes, func(z screenSize) bool { return z.width == w }) {
				s.viewport(w, 800, 1, w < 1000)
				fits(sc, w)
			}
		}
		lap("layout")
		for i := len(sizes) - 1; i >= 0; i-- {
			size := sizes[i]
			s.viewport(size.width, size.height, size.scale, size.mobile)
			fits(sc, size.width)
			png := value(s, chromedp.CaptureScreenshot())
			file := filepath.Join(s.br.dir, fmt.Sprintf("%s-%s-%02d-%s-%s.png", s.lang, size.name, s.n, name, sc))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				s.t.Fatal(err)
			}
			s.br.addTile(s.lang+"-"+size.name, png, size.shrink)
		}
		lap("screenshots")
		res := value(s, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
			id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.map(n => n.target.join(" ")) })))`, chromedp.EvalAwaitPromise))
		for _, v := range res {
			if v.Impact == "serious" || v.Impact == "critical" {
				s.br.mu.Lock()
				s.br.violation = append(s.br.violation, fmt.Sprintf("%s %s (%s): %s [%s] %s: %s", s.lang, name, sc, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", ")))
				s.br.mu.Unlock()
			} else {
				s.t.Logf("axe %s %s (%s): %s [%s] %s", s.lang, name, sc, v.ID, v.Impact, v.Help)
			}
		}
	}
	lap("axe")
	s.run(scheme("light"))
	// 200 % zoom: the same page in half the CSS width must not scroll sideways.
	s.viewport(195, 422, 4, true)
	overflow := evalAs[bool](s, `document.documentElement.scrollWidth > window.innerWidth + 1`)
	s.viewport(390, 844, 2, true)
	if overflow {
		s.t.Errorf("%s (%s) scrolls sideways at 200 %% zoom", name, s.lang)
	}
	s.translated(name)
	lap("zoom and words")
}

var verbSplitRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*[a-z]`)

// translated fails when the page shows a catalog key, or text of another language's catalog
// that its own language words differently (a message that fell back to English).
func (s *session) translated(name string) {
	s.t.Helper()
	body := evalAs[string](s, `document.body.innerText`)
	own := strings.Join(mapValues(s.cat), "\n")
	for _, lang := range ui.Languages() {
		for key, msg := range ui.Catalog(lang) {
			if strings.Contains(key, ".") && strings.Contains(body, key) {
				s.t.Errorf("%s (%s) shows the catalog key %q", name, s.lang, key)
			}
			if lang == s.lang {
				continue
			}
			for _, frag := range verbSplitRE.Split(msg, -1) {
				frag = strings.TrimSpace(frag)
				if len(frag) >= 16 && !strings.Contains(own, frag) && strings.Contains(body, frag) {
					s.t.Errorf("%s (%s) shows %s text (%s): %q", name, s.lang, lang, key, frag)
				}
			}
		}
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func (s *session) fill(sel, value string) {
	s.t.Helper()
	evalAs[bool](s, `(function(){ var e = document.querySelector(`+strconvQuote(sel)+`); e.value = ""; return true })()`)
	if value != "" {
		s.run(chromedp.SendKeys(chromedp.CSS(sel), value))
	}
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

// ---- Post/Redirect/Get ----

// ours checks that the tab shows one of the pages, at a URL starting with prefix, and no
// browser error page (ERR_CACHE_MISS, "Confirm Form Resubmission") nor dialog.
func (s *session) ours(prefix, after string) {
	s.t.Helper()
	loc := s.location()
	body, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	card, _ := chromedp.Run(s.ctx, chromedp.Evaluate[bool](`!!document.querySelector("main.card")`))
	if !strings.HasPrefix(loc, prefix) || !card || strings.Contains(body, "ERR_CACHE_MISS") || strings.Contains(body, "Resubmission") {
		s.t.Errorf("%s: at %s (want %s), not one of the pages:\n%.400s", after, loc, prefix, body)
	}
	if n := s.dialogs.Load(); n > 0 {
		s.t.Errorf("%s: %d browser dialogs opened", after, n)
	}
}

// reloads reloads the page: it must be the same GET page (prefix), showing wantText, and send
// no form again.
func (s *session) reloads(prefix, wantText string) {
	s.t.Helper()
	posts := s.posts.Load()
	s.reload()
	s.ours(prefix, "Reload of "+prefix)
	if s.posts.Load() != posts {
		s.t.Errorf("Reload of %s sent a form again", prefix)
	}
	if wantText != "" && !strings.Contains(s.text("main"), wantText) {
		s.t.Errorf("after Reload, %s does not show %q:\n%s", prefix, wantText, s.text("main"))
	}
}

// backAndReload goes Back from the current page: it must land on the GET page at prefix with
// no form sent again, and so must a Reload there; then Forward again when forward is set.
func (s *session) backAndReload(prefix string, forward bool) {
	s.t.Helper()
	posts := s.posts.Load()
	s.history(-1)
	s.ours(prefix, "Back to "+prefix)
	s.reload()
	s.ours(prefix, "Reload after Back to "+prefix)
	if s.posts.Load() != posts {
		s.t.Errorf("Back to %s, or its Reload, sent a form again", prefix)
	}
	if forward {
		s.history(1)
	}
}

// history goes Back (-1) or Forward (1) and waits for the page to load.
func (s *session) history(delta int64) {
	s.t.Helper()
	s.leave()
	s.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, page.GetNavigationHistory, cdp.Empty{})
		if err != nil {
			return err
		}
		i := res.CurrentIndex + delta
		if i < 0 || i >= int64(len(res.Entries)) {
			return fmt.Errorf("no history entry %d of %d", i, len(res.Entries))
		}
		_, err = cdp.Call(ctx, t, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: res.Entries[i].ID})
		return err
	}))
	s.settle()
}

// reload reloads the page and waits for it to load.
func (s *session) reload() {
	s.t.Helper()
	s.leave()
	s.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.Reload, page.ReloadParams{})
		return err
	}))
	s.settle()
}

// settle waits until the page the test left (marked by leave) is replaced and loaded.
func (s *session) settle() {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ready, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`window.__left ? "old" : document.readyState`))
		if ready == "complete" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the page at %s did not load (%s)", s.location(), ready)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// once checks that no error message on the page is shown twice.
func (s *session) once(page string) {
	s.t.Helper()
	msgs := evalAs[[]string](s, `Array.from(document.querySelectorAll(".field-error, .error")).map(e => e.innerText.trim())`)
	main := s.text("main")
	for _, m := range msgs {
		if n := strings.Count(main, m); n != 1 {
			s.t.Errorf("%s (%s): %q is shown %d times", page, s.lang, m, n)
		}
	}
}

// fieldErrors checks that each field has its error beside it, described and marked invalid,
// and that the summary at the top links to each.
func (s *session) fieldErrors(page string, fields ...string) {
	s.t.Helper()
	for _, f := range fields {
		got := evalAs[string](s, `(function(f){ var i = document.getElementById(f), e = document.getElementById(f + "-error");
			return (e && e.innerText.trim() ? "error " : "") + (i && i.getAttribute("aria-invalid") === "true" ? "invalid " : "") +
				(i && (i.getAttribute("aria-describedby") || "").split(" ").indexOf(f + "-error") >= 0 ? "described " : "") +
				(document.querySelector('.error-summary a[href="#' + f + '"]') ? "summary" : "") })(`+strconvQuote(f)+`)`)
		if got != "error invalid described summary" {
			s.t.Errorf("%s (%s): field %s: %q, want its error, aria-invalid, aria-describedby and a summary link", page, s.lang, f, got)
		}
	}
	s.once(page)
}

// ---- the test ----

func TestBrowser(t *testing.T) {
	exe := chromiumPath(t)
	axe := axeSource(t)
	b := &browserRun{t: t, ctx: newChromium(t, exe), axe: axe, dir: artifactsDir(t), shots: map[string][]*sheetTile{}}
	// One tab per language, side by side in the one browser, each with a server of its own (the
	// flows move their server's clock): the English run registers with the documentation's
	// number, the Spanish one with the example number its registration page suggests.
	t.Run("lang", func(t *testing.T) {
		for _, lang := range []string{"en", "es"} {
			t.Run(lang, func(t *testing.T) {
				t.Parallel()
				store, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { store.Close() })
				ts := startServer(t, store)
				app := startApp(t, ts)
				_, tv := deviceClient(t, ts)
				browserFlow(b.tab(t, lang), ts, app, tv)
			})
		}
	})
	if len(b.violation) > 0 {
		t.Errorf("axe-core found serious or critical violations:\n%s", strings.Join(b.violation, "\n"))
	}
	start := time.Now()
	b.tiles.Wait()
	sheets, err := writeContactSheets(b.dir, b.shots)
	t.Logf("contact sheets in %v", time.Since(start))
	if err != nil {
		t.Fatalf("contact sheets: %v", err)
	}
	t.Logf("screenshots and contact sheets %v in %s", sheets, b.dir)
}

var exampleRE = regexp.MustCompile(`\+[0-9][0-9 ()-]{6,}[0-9]`)

// browserFlow is everything a person does, in the tab's language: mistakes on every form, Back
// and Reload after them and after the step that follows.
func browserFlow(s *session, ts *testServer, app *testApp, tv zitadelrp.RelyingParty) {
	t := s.t
	const password, newPassword, changedPassword = "correct horse battery staple", "a brand new passphrase", "yet another long passphrase"
	is := ts.issuer

	// Register from the app.
	s.navigate(app.url + "/start?ui_locales=" + s.lang)
	s.waitFor(is + "/login")
	if !strings.Contains(s.text(".for"), "Corner Shop") {
		t.Error("the login page does not name the app")
	}
	if lang := evalAs[string](s, `document.documentElement.lang`); lang != s.lang {
		t.Errorf("the login page's language is %q, want %q", lang, s.lang)
	}
	s.check("login")
	s.click(`a[href^="/register"]`)
	s.waitFor(is + "/register")
	// The example number the page suggests is one of a served country: it registers.
	example := exampleRE.FindString(s.text("#phone-hint"))
	if example == "" {
		t.Fatalf("no example number in the hint %q", s.text("#phone-hint"))
	}
	phone, err := phoneE164(example)
	if err != nil {
		t.Fatalf("the example number %q: %v", example, err)
	}
	typed := example
	if s.lang == "en" {
		phone, typed = testPhone, "(415) 555-2671"
	}
	s.check("register")
	// Three mistakes: all three errors at once, each beside its field, none twice.
	s.fill("#name", "")
	s.fill("#phone", "12")
	s.fill("#password", "short")
	s.submit("/register")
	s.waitFor(is + "/register")
	s.fieldErrors("register", "name", "phone", "password")
	if focus := evalAs[string](s, `document.activeElement.id`); focus != "name" {
		t.Errorf("register errors: focus on %q, want the first field with an error", focus)
	}
	if kept := s.inputValue("phone") + "|" + s.inputValue("password"); kept != "12|" {
		t.Errorf("after an error the form keeps %q, want the phone and never the password", kept)
	}
	s.check("register-errors")
	s.reloads(is+"/register", s.T("err.summary"))
	// A number of a country not served: said once, beside the field, with the countries served.
	s.fill("#name", "Ada Lovelace")
	s.fill("#phone", "+44 7400 123456")
	s.fill("#password", password)
	s.submit("/register")
	s.waitFor(is + "/register")
	s.fieldErrors("register country", "phone")
	if served := map[string]string{"en": "United States", "es": "Estados Unidos"}[s.lang]; !strings.Contains(s.text("#phone-error"), served) {
		t.Errorf("a refused country does not say which are served: %q", s.text("#phone-error"))
	}
	s.check("register-country")
	s.fill("#phone", typed)
	s.fill("#password", password)
	// The show-password button reveals the password and hides it again.
	s.run(chromedp.Click(chromedp.CSS(`#password + .reveal`)))
	if typ := evalAs[string](s, `document.getElementById("password").type`); typ != "text" {
		t.Errorf("show password: type = %q", typ)
	}
	s.run(chromedp.Click(chromedp.CSS(`#password + .reveal`)))
	s.submit("/register")
	s.waitFor(is + "/code")
	s.check("code")
	// Back to the form: a GET page with what was typed, no resubmission.
	s.backAndReload(is+"/register", false)
	if kept := s.inputValue("name") + "|" + s.inputValue("phone") + "|" + s.inputValue("password"); kept != "Ada Lovelace|"+typed+"|" {
		t.Errorf("Back to the registration keeps %q", kept)
	}
	s.history(1)
	s.ours(is+"/code", "Forward to the code")
	// "Wrong number? Go back" keeps the name and number too.
	s.click(`a[href^="/register"]`)
	s.waitFor(is + "/register")
	if kept := s.inputValue("name") + "|" + s.inputValue("phone"); kept != "Ada Lovelace|"+typed {
		t.Errorf(`"Wrong number? Go back" keeps %q`, kept)
	}
	s.history(-1)
	s.ours(is+"/code", "Back to the code")
	s.fill("#code", "000000")
	s.submit("/code")
	s.waitFor(is + "/code")
	s.fieldErrors("code", "code")
	if v := s.inputValue("code"); v != "" {
		t.Errorf("the code page shows the wrong code %q again", v)
	}
	s.check("code-error")
	s.reloads(is+"/code", s.T("err.bad_code"))
	code := ts.sms.lastCode(t, phone)
	s.fill("#code", code[:3]+" "+code[3:]) // as pasted from a message, with a space
	s.submit("/code")
	s.waitFor(is + "/recovery-codes")
	codes := evalAs[[]string](s, `Array.from(document.querySelectorAll("#codes code")).map(c => c.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	s.check("recovery-codes")
	s.backAndReload(is+"/code", true) // the code step is done: a page that says so
	s.ours(is+"/recovery-codes", "Forward to the recovery codes")
	s.submit("/recovery-codes")
	// The first time, the app (not first-party) needs the user's consent.
	s.waitFor(is + "/consent")
	if main := s.text("main"); !strings.Contains(main, "Corner Shop") || !strings.Contains(main, s.T("scope.phone")) {
		t.Errorf("the consent page does not say who asks for what:\n%s", main)
	}
	s.check("consent")
	s.click(`button[value="allow"]`)
	s.waitFor(app.url + "/callback")
	if claims := s.claims(); claims["sub"] == nil || amrOf(claims) != "pwd,sms,mfa" {
		t.Errorf("claims after registration: %v", claims)
	}
	// The codes are not shown again.
	s.navigate(is + "/recovery-codes")
	s.waitFor(is + "/recovery-codes")
	if strings.Contains(s.text("main"), codes[0]) {
		t.Error("the recovery codes were shown a second time")
	}
	s.check("recovery-codes-gone")

	// The account page: one Sign out, a name error, a password error, then a change.
	s.navigate(is + "/account")
	s.waitFor(is + "/account")
	if n := evalAs[int](s, `document.querySelectorAll('form[action="/logout"], form[action="/account/sessions/end"]').length`); n != 1 {
		t.Errorf("the account page of a one-device user has %d sign-out controls, want 1", n)
	}
	s.check("account")
	s.fill("#name", "")
	s.submit("/account/name")
	s.waitFor(is + "/account")
	s.fieldErrors("account name", "name")
	s.reloads(is+"/account", s.T("err.name.required"))
	s.check("account-name-error")
	// Every mistake of the password change at once (issue 13): the current password, the new
	// one's policy and the confirmation.
	s.fill("#current_password", "not my password")
	s.fill("#password", "short")
	s.fill("#password_confirm", changedPassword)
	s.submit("/account/password")
	s.waitFor(is + "/account")
	s.fieldErrors("account password", "current_password", "password", "password_confirm")
	s.check("account-password-error")
	s.fill("#current_password", password)
	s.fill("#password", changedPassword)
	s.fill("#password_confirm", changedPassword)
	s.submit("/account/password")
	s.waitFor(is + "/account?done=password")
	if !strings.Contains(s.text(".notice"), s.T("notice.password")) {
		t.Errorf("the password banner: %q", s.text(".notice"))
	}
	s.backAndReload(is+"/account", true)
	// A sensitive action after 10 minutes: sign in again, as the signed-in person.
	ts.clock.advance(11 * time.Minute)
	s.navigate(is + "/account")
	s.waitFor(is + "/account")
	s.submit("/account/recovery-codes")
	s.waitFor(is + "/login?reauth=1")
	if main := s.text("main"); strings.Contains(main, s.T("login.create")) || !strings.Contains(main, "2671") && s.lang == "en" {
		t.Errorf("the sign-in again page is not the signed-in person's:\n%s", main)
	}
	s.check("reauth")
	s.fill("#password", "wrong password")
	s.submit("/login")
	s.waitFor(is + "/login?reauth=1")
	if s.text("#form-error") == "" {
		t.Error("a wrong password on the sign-in again page shows no error")
	}
	s.reloads(is+"/login?reauth=1", s.T("err.bad_credentials"))
	s.fill("#password", changedPassword)
	s.submit("/login")
	s.waitFor(is + "/code")
	s.fill("#code", ts.sms.lastCode(t, phone))
	s.submit("/code")
	s.waitFor(is + "/account")
	s.submit("/logout")
	s.waitFor(is + "/logged-out")
	s.check("logged-out")

	// Sign in: a wrong password, then a recovery code instead of the SMS.
	s.navigate(app.url + "/start?ui_locales=" + s.lang)
	s.waitFor(is + "/login")
	s.fill("#phone", typed)
	s.fill("#password", password) // the old one
	s.submit("/login")
	s.waitFor(is + "/login")
	if kept := s.inputValue("phone") + "|" + s.inputValue("password"); kept != typed+"|" || s.text("#form-error") == "" {
		t.Errorf("a wrong password: the form keeps %q, error %q", kept, s.text("#form-error"))
	}
	s.once("login")
	s.check("login-error")
	s.reloads(is+"/login", s.T("err.bad_credentials"))
	s.fill("#password", changedPassword)
	s.submit("/login")
	s.waitFor(is + "/code")
	s.backAndReload(is+"/login", true)
	s.ours(is+"/code", "Forward to the code")
	s.click(`a[href^="/login"]`) // "Wrong number? Go back"
	s.waitFor(is + "/login")
	if kept := s.inputValue("phone"); kept != typed {
		t.Errorf(`"Wrong number? Go back" keeps %q`, kept)
	}
	s.history(-1)
	s.ours(is+"/code", "Back to the code")
	s.click(`a[href^="/code/recovery"]`)
	s.waitFor(is + "/code/recovery")
	s.check("recovery-sign-in")
	s.fill("#recovery_code", "0000-0000-0000-0000")
	s.submit("/code/recovery")
	s.waitFor(is + "/code/recovery")
	s.fieldErrors("recovery", "recovery_code")
	s.check("recovery-error")
	s.reloads(is+"/code/recovery", s.T("err.bad_recovery"))
	s.fill("#recovery_code", strings.ToLower(codes[0]))
	s.submit("/code/recovery")
	s.waitFor(app.url + "/callback")
	if amr := amrOf(s.claims()); amr != "pwd,otp,mfa" {
		t.Errorf("amr after a recovery-code sign-in = %s", amr)
	}
	s.navigate(is + "/account")
	s.waitFor(is + "/account")
	s.submit("/logout")
	s.waitFor(is + "/logged-out")

	// Forgot password, from the app's sign-in.
	s.navigate(app.url + "/start?ui_locales=" + s.lang)
	s.waitFor(is + "/login")
	s.click(`a[href^="/forgot"]`)
	s.waitFor(is + "/forgot")
	s.check("forgot")
	s.fill("#phone", "call me")
	s.submit("/forgot")
	s.waitFor(is + "/forgot")
	s.fieldErrors("forgot", "phone")
	s.check("forgot-error")
	s.reloads(is+"/forgot", "")
	s.fill("#phone", typed)
	s.submit("/forgot")
	s.waitFor(is + "/forgot/verify")
	s.check("forgot-verify")
	s.backAndReload(is+"/forgot", false)
	if kept := s.inputValue("phone"); kept != typed {
		t.Errorf("Back to the reset keeps %q", kept)
	}
	s.history(1)
	s.ours(is+"/forgot/verify", "Forward to the reset code")
	resetCode := ts.sms.lastCode(t, phone)
	s.fill("#code", resetCode)
	s.fill("#recovery_code", "0000-0000-0000-0000")
	s.submit("/forgot/verify")
	s.waitFor(is + "/forgot/verify")
	// The texted code was right: it is kept (never shown) and only the recovery code is asked.
	if n := evalAs[int](s, `document.querySelectorAll("#code").length`); n != 0 || strings.Contains(evalAs[string](s, `document.documentElement.outerHTML`), resetCode) {
		t.Error("a wrong recovery code cleared the right texted code, or the page shows it")
	}
	s.fieldErrors("reset verify", "recovery_code")
	s.check("forgot-verify-error")
	s.reloads(is+"/forgot/verify", s.T("verify.code_kept"))
	s.fill("#recovery_code", codes[1])
	s.submit("/forgot/verify")
	s.waitFor(is + "/forgot/password")
	s.check("new-password")
	s.fill("#password", newPassword)
	s.fill("#password_confirm", newPassword+"!")
	s.submit("/forgot/password")
	s.waitFor(is + "/forgot/password")
	s.fieldErrors("new password", "password_confirm")
	if focus := evalAs[string](s, `document.activeElement.id`); focus != "password_confirm" {
		t.Errorf("a mismatched confirmation: focus on %q", focus)
	}
	s.check("new-password-error")
	s.reloads(is+"/forgot/password", s.T("err.password.mismatch"))
	s.fill("#password", newPassword)
	s.fill("#password_confirm", newPassword)
	s.submit("/forgot/password")
	s.waitFor(is + "/login")
	if !strings.Contains(s.text(".notice"), s.T("notice.reset")) || s.inputValue("phone") != typed {
		t.Errorf("after the reset: notice %q, phone %q", s.text(".notice"), s.inputValue("phone"))
	}
	s.check("login-after-reset")
	s.backAndReload(is+"/forgot/password", true) // the reset is over: a page that says so
	s.ours(is+"/login", "Forward to the sign-in")
	s.fill("#password", newPassword)
	s.submit("/login")
	s.waitFor(is + "/code")
	s.fill("#code", ts.sms.lastCode(t, phone))
	s.submit("/code")
	s.waitFor(app.url + "/callback")
	if amr := amrOf(s.claims()); amr != "pwd,sms,mfa" {
		t.Errorf("amr after the reset = %s", amr)
	}

	// The device page (RFC 8628): signed out, a mistyped code, the right one, a sign-in, and
	// straight on to the approval.
	s.navigate(is + "/account")
	s.waitFor(is + "/account")
	s.submit("/logout")
	s.waitFor(is + "/logged-out")
	dev := startDevice(t, ts, tv)
	s.navigate(is + "/device")
	s.waitFor(is + "/device")
	s.check("device")
	s.fill("#user_code", "BBBB-BBBB")
	s.submit("/device")
	s.waitFor(is + "/device")
	s.fieldErrors("device", "user_code")
	if focus := evalAs[string](s, `document.activeElement.id`); focus != "user_code" {
		t.Errorf("a wrong device code: focus on %q", focus)
	}
	s.check("device-error")
	s.reloads(is+"/device", s.T("device.bad_code"))
	s.fill("#user_code", strings.ToLower(dev.UserCode))
	s.submit("/device")
	s.waitFor(is + "/login")
	s.fill("#phone", typed)
	s.fill("#password", newPassword)
	s.submit("/login")
	s.waitFor(is + "/code")
	s.fill("#code", ts.sms.lastCode(t, phone))
	s.submit("/code")
	s.waitFor(is + "/device")
	if main := s.text("main"); !strings.Contains(main, "TV app") || !strings.Contains(main, dev.UserCode) ||
		evalAs[int](s, `document.querySelectorAll("#user_code").length`) != 0 {
		t.Errorf("after signing in, not the device's approval:\n%s", main)
	}
	s.check("device-approve")
	s.click(`button[value="allow"]`)
	s.waitFor(is + "/message")
	if !strings.Contains(s.text("main"), s.T("device.approved.title")) {
		t.Errorf("after approving the device: %q", s.text("main"))
	}
	s.check("device-done")
	s.reloads(is+"/message", s.T("device.approved.title"))
	s.backAndReload(is+"/device", false)

	// Error pages.
	s.navigate(is + "/no/such/page")
	s.waitFor(is + "/no/such/page")
	s.check("not-found")
	s.navigate(is + "/code?flow=nope")
	s.waitFor(is + "/code")
	s.check("step-done")
	s.navigate(is + "/authorize?client_id=nope&response_type=code&scope=openid&redirect_uri=https://evil.example/")
	s.waitFor(is + "/authorize")
	if !strings.Contains(s.text("main"), s.T("reference")) {
		t.Error("the request error page has no reference")
	}
	s.check("request-error")
	if n := s.dialogs.Load(); n != 0 {
		t.Errorf("%d browser dialogs opened", n)
	}
	// The forms were sent as POSTs, and seen: the no-resubmission checks above count them.
	if n := s.posts.Load(); n < 30 {
		t.Errorf("only %d POST requests seen: the resubmission checks cannot see forms sent", n)
	}
	t.Logf("%s: %d pages checked, %d forms sent; time spent checking: %v", s.lang, s.n, s.posts.Load(), s.spent)
}

// phoneE164 is a typed number in E.164 (the example numbers are international).
func phoneE164(typed string) (string, error) {
	return phone.Normalize(typed, "")
}
