package ui

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/signin"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// outbox records the SMS messages sent.
type outbox struct {
	mu   sync.Mutex
	msgs []sms.Message
}

func (o *outbox) Send(_ context.Context, m sms.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	return nil
}

func (o *outbox) lastCode(t *testing.T) string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) == 0 {
		t.Fatal("no SMS sent")
	}
	m := regexp.MustCompile(`#(\d{6})$`).FindStringSubmatch(o.msgs[len(o.msgs)-1].Body)
	if m == nil {
		t.Fatal("no code in the last SMS")
	}
	return m[1]
}

// cookieLog records every Set-Cookie header the server sends.
type cookieLog struct {
	mu      sync.Mutex
	next    http.RoundTripper
	cookies []*http.Cookie
}

func (c *cookieLog) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err == nil {
		c.mu.Lock()
		c.cookies = append(c.cookies, resp.Cookies()...)
		c.mu.Unlock()
	}
	return resp, err
}

// tlsPages serves the pages alone over https (a Secure configuration) and returns a client
// with a cookie jar.
func tlsPages(t *testing.T) (*httptest.Server, *http.Client, *cookieLog, *outbox) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	box := &outbox{}
	authn, err := auth.New(t.Context(), store, box, auth.Config{OriginHost: "idp.example", DefaultRegion: "US",
		Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	core := signin.New(store, authn, signin.Config{})
	u, err := New(t.Context(), Config{ProductName: "Acme ID", Secure: true, Logger: slog.New(slog.DiscardHandler)}, core,
		func(context.Context, string) string { return "/never" })
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(u.Browser, u.SecurityHeaders, http.NewCrossOriginProtection().Handler)
	mountPages(r, u)
	r.NotFound(u.NotFoundPage)
	srv := httptest.NewTLSServer(r)
	t.Cleanup(srv.Close)
	c := srv.Client()
	jar, _ := cookiejar.New(nil)
	log := &cookieLog{next: c.Transport}
	c.Jar, c.Transport = jar, log
	return srv, c, log, box
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// submit posts the form with that action found in body, with extra fields.
func submit(t *testing.T, c *http.Client, base, body, action string, fields url.Values) (*http.Response, string) {
	t.Helper()
	i := strings.Index(body, `action="`+action+`"`)
	if i < 0 {
		t.Fatalf("no form %s in:\n%s", action, body)
	}
	form := url.Values{}
	end := strings.Index(body[i:], "</form>")
	for _, m := range hiddenRE.FindAllStringSubmatch(body[i:i+end], -1) {
		form.Set(m[1], m[2])
	}
	for k, v := range fields {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, base+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return do(t, c, req)
}

// TestSecureCookies registers through the pages over https and checks every cookie set: the
// __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain (SES-04). The name typed is
// markup and must come back inert (REG-04, WEB-09).
func TestSecureCookies(t *testing.T) {
	srv, c, log, box := tlsPages(t)
	_, page := get(t, c, srv.URL+"/register")
	const name = `<img src=x onerror=alert(1)>`
	resp, page := submit(t, c, srv.URL, page, "/register", url.Values{"name": {name}, "phone": {"(415) 555-2671"}, "password": {"correct horse battery staple"}})
	if resp.Request.URL.Path != "/code" {
		t.Fatalf("register: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	resp, page = submit(t, c, srv.URL, page, "/code", url.Values{"code": {box.lastCode(t)}})
	if resp.Request.URL.Path != "/recovery-codes" {
		t.Fatalf("code: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	resp, page = submit(t, c, srv.URL, page, "/recovery-codes", nil)
	if resp.Request.URL.Path != "/account" {
		t.Fatalf("after the codes: %s", resp.Request.URL)
	}
	if strings.Contains(page, name) || !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Fatalf("the name is not escaped on the account page:\n%s", page)
	}
	names := map[string]bool{}
	for _, ck := range log.cookies {
		names[ck.Name] = true
		if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("cookie %s: Secure=%v HttpOnly=%v SameSite=%v Path=%q Domain=%q; want __Host-, Secure, HttpOnly, Lax, /, no Domain",
				ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite, ck.Path, ck.Domain)
		}
		if ck.MaxAge > 0 && strings.Contains(ck.Value, "4155552671") {
			t.Errorf("cookie %s holds the phone number", ck.Name)
		}
	}
	for _, want := range []string{"__Host-otpidp-browser", "__Host-otpidp-session", "__Host-otpidp-reveal"} {
		if !names[want] {
			t.Errorf("cookie %s was never set (got %v)", want, names)
		}
	}
	// HSTS on an https issuer (SES-11).
	resp, _ = get(t, c, srv.URL+"/login")
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=63072000") {
		t.Errorf("Strict-Transport-Security = %q", hsts)
	}
}

func TestChooseLanguage(t *testing.T) {
	for _, tt := range []struct {
		ui     []string
		accept string
		want   string
	}{
		{nil, "", "en"},
		{nil, "es-MX,es;q=0.9,en;q=0.5", "es"},
		{nil, "fr-FR, de;q=0.8", "en"},
		{nil, "fr-FR, es;q=0.8", "es"},
		{[]string{"es"}, "en-US", "es"},
		{[]string{"fr-CA en"}, "es", "en"}, // ui_locales wins over Accept-Language
		{[]string{"fr"}, "es", "es"},       // unsupported ui_locales: Accept-Language decides
		{[]string{"not a tag!"}, "garbage;;", "en"},
	} {
		if got := chooseLanguage(tt.ui, tt.accept); got != tt.want {
			t.Errorf("chooseLanguage(%q, %q) = %q, want %q", tt.ui, tt.accept, got, tt.want)
		}
	}
}

var (
	templateKeyRE = regexp.MustCompile(`\.T "([a-z_.]+)"`)
	goKeyRE       = regexp.MustCompile(`(?:\.T|u\.t\(r,|renderError\(w, r, [^,]+,|renderMessage\(w, r, [^,]+,) "([a-z_.]+)"`)
	verbRE        = regexp.MustCompile(`%[a-z]`)
)

// TestCatalogs: every language has every key of every other with the same format verbs, the
// languages Languages lists are the catalogs', and every key the templates and handlers use
// exists.
func TestCatalogs(t *testing.T) {
	if got := Languages(); len(got) != len(catalogs) || got[0] != "en" {
		t.Errorf("Languages() = %v, catalogs %d", got, len(catalogs))
	}
	for _, l := range Languages() {
		if catalogs[l] == nil {
			t.Errorf("Languages() lists %q, which has no catalog", l)
		}
	}
	for la, a := range catalogs {
		for lb, b := range catalogs {
			if la == lb {
				continue
			}
			for k, va := range a {
				vb, ok := b[k]
				if !ok {
					t.Errorf("%s lacks %q (in %s)", lb, k, la)
					continue
				}
				if !slices.Equal(verbRE.FindAllString(va, -1), verbRE.FindAllString(vb, -1)) {
					t.Errorf("%q: verbs differ: %s %q vs %s %q", k, la, va, lb, vb)
				}
			}
		}
	}
	used := map[string]bool{}
	err := fs.WalkDir(templateFiles, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFiles, path)
		for _, m := range templateKeyRE.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ui.go", "signin.go", "recovery.go", "reset.go", "account.go", "protocol.go", "device.go", "limits.go", "profile.go", "consent.go", "formstate.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKeyRE.FindAllStringSubmatch(string(b), -1) {
			key := m[1]
			if strings.HasPrefix(key, "err.") && !strings.Contains(key[4:], ".") {
				// renderError's what: its .title and .text
				used[key+".title"], used[key+".text"] = true, true
				continue
			}
			used[key] = true
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in use: the scan is broken", len(used))
	}
	delete(used, "key") // the doc comment's example
	for k := range used {
		if _, ok := english[k]; !ok && (english[k+".title"] == "" || english[k+".text"] == "") {
			t.Errorf("key %q is used but not in the catalog", k)
		}
	}
}

// TestFieldMessagesTranslated: every refusal of a field the core can give has its message in
// every language (the page never falls back to the core's English sentence).
func TestFieldMessagesTranslated(t *testing.T) {
	type fr struct {
		field  string
		reason authflow.Reason
	}
	var cases []fr
	for _, r := range []authflow.Reason{authflow.ReasonRequired, authflow.ReasonTooLong, authflow.ReasonInvalidEncoding, authflow.ReasonControlCharacters} {
		cases = append(cases, fr{authflow.FieldName, r})
	}
	for _, r := range []authflow.Reason{authflow.ReasonRequired, authflow.ReasonTooShort, authflow.ReasonTooLong, authflow.ReasonInvalidEncoding,
		authflow.ReasonIsProductName, authflow.ReasonIsName, authflow.ReasonIsPhone, authflow.ReasonContainsPhone, authflow.ReasonCommon} {
		cases = append(cases, fr{authflow.FieldPassword, r})
	}
	cases = append(cases, fr{authflow.FieldPasswordConfirm, authflow.ReasonMismatch}, fr{authflow.FieldCurrentPassword, authflow.ReasonWrongCurrent},
		fr{authflow.FieldCurrentPassword, authflow.ReasonRequired})
	for _, c := range cases {
		fe := &authflow.FieldError{Field: c.field, Reason: c.reason}
		en := fieldMessage(page{Lang: "en"}, fe)
		for _, lang := range Languages() {
			msg := fieldMessage(page{Lang: lang}, fe)
			if msg == fe.Message() && fe.Message() != en || (lang != "en" && msg == en) {
				t.Errorf("%s/%s in %s: %q is not the catalog's own message", c.field, c.reason, lang, msg)
			}
		}
	}
}

// TestPagesInSpanish renders a page by Accept-Language.
func TestPagesInSpanish(t *testing.T) {
	srv, c, _, _ := tlsPages(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/register", nil)
	req.Header.Set("Accept-Language", "es-ES,es;q=0.9")
	_, body := do(t, c, req)
	for _, want := range []string{`<html lang="es">`, "Crea tu cuenta", "Número de teléfono", "Enviarme un código"} {
		if !strings.Contains(body, want) {
			t.Errorf("the Spanish page lacks %q", want)
		}
	}
	if strings.Contains(body, "Create your account") {
		t.Error("the Spanish page has English")
	}
}

// TestNotFoundPage: an unknown path gets the plain-words page, 404.
func TestNotFoundPage(t *testing.T) {
	srv, c, _, _ := tlsPages(t)
	resp, body := get(t, c, srv.URL+"/nothing/here")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Page not found") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("404: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
}

func TestAccentColor(t *testing.T) {
	for _, tt := range []struct {
		c  string
		ok bool
	}{
		{"", true}, {"#0b57d0", true}, {"#000000", true}, {"#7a1fa2", true},
		{"#ffff00", false}, // yellow on white: 1.07:1
		{"#777777", false}, // 4.48:1, just below AA
		{"#0b57d", false}, {"0b57d0", false}, {"#0b57dg", false}, {"red", false}, {"#0b57d0;}", false},
	} {
		if err := CheckAccentColor(tt.c); (err == nil) != tt.ok {
			t.Errorf("CheckAccentColor(%q) = %v, want ok=%v", tt.c, err, tt.ok)
		}
	}
	for _, accent := range []string{"", "#7a1fa2", "#000000", "#0b57d0"} {
		css := string(brandCSS(accent))
		m := regexp.MustCompile(`--accent:(#[0-9a-f]{6});--on-accent:(#[0-9a-f]{6})\}\n@media \(prefers-color-scheme:dark\)\{:root\{--accent:(#[0-9a-f]{6});--on-accent:(#[0-9a-f]{6})`).FindStringSubmatch(css)
		if m == nil {
			t.Fatalf("brandCSS(%q) = %q", accent, css)
		}
		light, _ := parseHex(m[1])
		onLight, _ := parseHex(m[2])
		dark, _ := parseHex(m[3])
		onDark, _ := parseHex(m[4])
		for _, pair := range []struct {
			what string
			a, b [3]float64
		}{
			{"light accent on white", light, [3]float64{1, 1, 1}},
			{"button text on light accent", onLight, light},
			{"dark accent on the dark card", dark, darkCard},
			{"button text on dark accent", onDark, dark},
		} {
			if r := contrast(pair.a, pair.b); r < 4.5 {
				t.Errorf("accent %q: %s contrast %.2f:1 < 4.5:1", accent, pair.what, r)
			}
		}
	}
	if _, err := logoSource("http://logo.example/x.png"); err == nil {
		t.Error("an http logo URL was accepted")
	}
	if src, err := logoSource("https://cdn.example/logo.svg"); err != nil || src != "https://cdn.example" {
		t.Errorf("logoSource = %q, %v", src, err)
	}
}

func TestDeviceLabel(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36":                       "Chrome · Android",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari · iPhone",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                        "Firefox · Windows",
		"curl/8.0": "",
	} {
		if got := deviceLabel(ua); got != want {
			t.Errorf("deviceLabel(%q) = %q, want %q", ua, got, want)
		}
	}
}

// mountPages mounts the pages these tests visit, as cmd/otpidp/routes.go does.
func mountPages(r chi.Router, u *UI) {
	r.Handle("/static/*", u.Static())
	r.Get("/brand.css", u.BrandCSS)
	r.Get("/login", u.LoginPage)
	r.Post("/login", u.Login)
	r.Get("/register", u.RegisterPage)
	r.Post("/register", u.Register)
	r.Get("/code", u.CodePage)
	r.Post("/code", u.Code)
	r.Post("/code/resend", u.Resend)
	r.Get("/code/recovery", u.RecoveryPage)
	r.Post("/code/recovery", u.Recovery)
	r.Get("/recovery-codes", u.CodesPage)
	r.Get("/recovery-codes.txt", u.CodesText)
	r.Post("/recovery-codes", u.CodesDone)
	r.Get("/forgot", u.ForgotPage)
	r.Post("/forgot", u.Forgot)
	r.Get("/forgot/verify", u.VerifyPage)
	r.Post("/forgot/verify", u.Verify)
	r.Post("/forgot/resend", u.Resend)
	r.Get("/forgot/password", u.NewPasswordPage)
	r.Post("/forgot/password", u.NewPassword)
	r.Get("/account", u.Account)
	r.Post("/account/password", u.ChangePassword)
	r.Post("/account/name", u.ChangeName)
	r.Post("/account/recovery-codes", u.NewCodes)
	r.Post("/account/sessions/end", u.EndDevice)
	r.Post("/account/apps/remove", u.RemoveApp)
	r.Post("/logout", u.Logout)
	r.Get("/logged-out", u.LoggedOut)
	r.Get("/message", u.MessagePage)
}
