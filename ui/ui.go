// Package ui serves the pages people see: sign in, registration, the SMS code, the account page,
// sign out and errors. Pages are html/template files embedded in the binary; they work without
// JavaScript. The package does not import the provider: it gets the authenticator, the store and
// a callback URL builder as values.
package ui

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/storage"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Config configures the pages.
type Config struct {
	ProductName    string
	Issuer         string        // for the iss parameter of error redirects (RFC 9207)
	Secure         bool          // the issuer is https: cookies get Secure and the __Host- prefix
	SessionTTL     time.Duration // [24h] absolute
	SessionIdleTTL time.Duration // [1h]
	LogoURL        string        // an https:// or data:image/ URL of the product's logo; empty: an inline mark
	AccentColor    string        // "#rrggbb" (checked by CheckAccentColor); empty: the default blue
	RecentAuth     time.Duration // [10m] how fresh a sign-in must be to get new recovery codes
	Now            func() time.Time
	Logger         *slog.Logger
}

// UI holds the page handlers.
type UI struct {
	cfg       Config
	store     storage.Storage
	auth      *auth.Authenticator
	callback  func(ctx context.Context, authRequestID string) string
	pages     map[string]*template.Template
	csrfKey   []byte
	revealKey []byte // seals recovery codes in the reveal cookie (recovery.go)
	browser   string // cookie names
	session   string
	reveal    string
	brandCSS  []byte
	imgSrc    string // the logo's origin for the CSP, when it is not ours
}

// pageNames are the templates, each parsed with layout.html.
var pageNames = []string{"login", "register", "code", "message", "account", "recovery", "codes", "forgot", "verify", "newpw", "consent", "logout", "device"}

// New parses the templates and gets the CSRF key from the store (shared by every instance).
func New(ctx context.Context, cfg Config, store storage.Storage, authn *auth.Authenticator, callback func(context.Context, string) string) (*UI, error) {
	if cfg.ProductName == "" {
		cfg.ProductName = "otpidp"
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 24 * time.Hour
	}
	if cfg.SessionIdleTTL <= 0 {
		cfg.SessionIdleTTL = time.Hour
	}
	if cfg.RecentAuth <= 0 {
		cfg.RecentAuth = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := CheckAccentColor(cfg.AccentColor); err != nil {
		return nil, err
	}
	imgSrc, err := logoSource(cfg.LogoURL)
	if err != nil {
		return nil, err
	}
	key, err := sharedSecret(ctx, store, "ui-csrf-hmac")
	if err != nil {
		return nil, fmt.Errorf("csrf key: %w", err)
	}
	revealKey, err := sharedSecret(ctx, store, "ui-reveal-aead")
	if err != nil {
		return nil, fmt.Errorf("reveal key: %w", err)
	}
	u := &UI{cfg: cfg, store: store, auth: authn, callback: callback, csrfKey: key, revealKey: revealKey,
		pages: map[string]*template.Template{}, brandCSS: brandCSS(cfg.AccentColor), imgSrc: imgSrc}
	u.browser, u.session, u.reveal = "otpidp-browser", "otpidp-session", "otpidp-reveal"
	if cfg.Secure {
		u.browser, u.session, u.reveal = "__Host-otpidp-browser", "__Host-otpidp-session", "__Host-otpidp-reveal"
	}
	for _, name := range pageNames {
		t, err := template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse %s template: %w", name, err)
		}
		u.pages[name] = t
	}
	return u, nil
}

// sharedSecret returns the store's 32-byte secret of that name, creating it on first use.
func sharedSecret(ctx context.Context, store storage.Storage, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key, err := store.Secret(ctx, name, fresh)
	if err != nil {
		return nil, err
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("secret %q is too short", name)
	}
	return key[:32], nil
}

// Routes mounts the pages on r. Wrap r in Browser, SecurityHeaders and, for the sign-in pages,
// the provider's issuer interceptor.
func (u *UI) Routes(r chi.Router) {
	static, _ := fs.Sub(staticFiles, "static")
	r.Handle("/static/*", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	r.Get("/brand.css", u.handleBrandCSS)
	r.Get("/login", u.handleLoginPage)
	r.Post("/login", u.handleLogin)
	r.Get("/register", u.handleRegisterPage)
	r.Post("/register", u.handleRegister)
	r.Get("/code", u.handleCodePage)
	r.Post("/code", u.handleCode)
	r.Post("/code/resend", u.handleResend)
	r.Get("/code/recovery", u.handleRecoveryPage)
	r.Post("/code/recovery", u.handleRecovery)
	r.Get("/recovery-codes", u.handleCodesPage)
	r.Get("/recovery-codes.txt", u.handleCodesText)
	r.Post("/recovery-codes", u.handleCodesDone)
	r.Get("/forgot", u.handleForgotPage)
	r.Post("/forgot", u.handleForgot)
	r.Get("/forgot/verify", u.handleVerifyPage)
	r.Post("/forgot/verify", u.handleVerify)
	r.Post("/forgot/resend", u.handleResend)
	r.Get("/forgot/password", u.handleNewPasswordPage)
	r.Post("/forgot/password", u.handleNewPassword)
	r.Get("/account", u.handleAccount)
	r.Post("/account/password", u.handleChangePassword)
	r.Post("/account/name", u.handleChangeName)
	r.Post("/account/recovery-codes", u.handleNewCodes)
	r.Post("/account/sessions/end", u.handleEndDevice)
	r.Post("/account/apps/remove", u.handleRemoveApp)
	r.Post("/logout", u.handleLogout)
	r.Get("/logged-out", u.handleLoggedOut)
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// ---- browser binding and sessions ----

type ctxKey int

const (
	browserKey ctxKey = iota
	sessionKey
	nonceKey
)

// Browser makes sure the browser has a binding cookie (a random value; flows and authorization
// requests are bound to its hash) and puts the hashes of it and of the session cookie in the
// request context.
func (u *UI) Browser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		value := ""
		if c, err := r.Cookie(u.browser); err == nil && validToken(c.Value) {
			value = c.Value
		} else {
			value = newToken()
			http.SetCookie(w, u.cookie(u.browser, value, browserCookieTTL))
		}
		ctx := context.WithValue(r.Context(), browserKey, value)
		if c, err := r.Cookie(u.session); err == nil && validToken(c.Value) {
			ctx = context.WithValue(ctx, sessionKey, c.Value)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// BrowserHash is the SHA-256 of the request's browser-binding cookie, or nil outside Browser.
func BrowserHash(ctx context.Context) []byte {
	v, _ := ctx.Value(browserKey).(string)
	if v == "" {
		return nil
	}
	return hashToken(v)
}

func (u *UI) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: u.cfg.Secure, SameSite: http.SameSiteLaxMode,
	}
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

func validToken(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}

func hashToken(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

// currentSession returns the request's valid session and records activity.
func (u *UI) currentSession(r *http.Request) (storage.Session, bool) {
	v, _ := r.Context().Value(sessionKey).(string)
	if v == "" {
		return storage.Session{}, false
	}
	now := u.cfg.Now().UTC()
	s, err := u.store.GetSessionByHash(r.Context(), hashToken(v), now)
	if err != nil {
		return storage.Session{}, false
	}
	idle := now.Add(u.cfg.SessionIdleTTL)
	if idle.After(s.ExpiresAt) {
		idle = s.ExpiresAt
	}
	if err := u.store.TouchSession(r.Context(), s.ID, now, idle); err != nil {
		u.cfg.Logger.WarnContext(r.Context(), "touch session", "error", err)
	}
	return s, true
}

// startSession replaces any session of this browser with a new one (a new value after every
// sign-in) and sets its cookie.
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, res auth.Result) (storage.Session, error) {
	if old, ok := u.currentSession(r); ok {
		_ = u.store.DeleteSession(r.Context(), old.ID)
	}
	value := newToken()
	id := hex.EncodeToString(hashToken(value)[:16])
	now := u.cfg.Now().UTC()
	s := storage.Session{
		ID: id, TokenHash: hashToken(value), UserID: res.UserID, AuthTime: res.AuthTime.UTC(), AMR: res.AMR,
		UserAgent: truncate(r.UserAgent(), 200), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(u.cfg.SessionTTL), IdleExpiresAt: now.Add(u.cfg.SessionIdleTTL),
	}
	if err := u.store.CreateSession(r.Context(), s); err != nil {
		return s, fmt.Errorf("create session: %w", err)
	}
	http.SetCookie(w, u.cookie(u.session, value, u.cfg.SessionTTL))
	return s, nil
}

// EndSession deletes the session of the request whose context this is (used by RP-initiated
// logout, which zitadel/oidc serves; the cookie then points at nothing).
func (u *UI) EndSession(ctx context.Context, _ string) error {
	v, _ := ctx.Value(sessionKey).(string)
	if v == "" {
		return nil
	}
	s, err := u.store.GetSessionByHash(ctx, hashToken(v), u.cfg.Now().UTC())
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return u.store.DeleteSession(ctx, s.ID)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ---- CSRF ----

// csrfToken ties a form to this browser and to the form's purpose.
func (u *UI) csrfToken(r *http.Request, purpose string) string {
	v, _ := r.Context().Value(browserKey).(string)
	m := hmac.New(sha256.New, u.csrfKey)
	m.Write([]byte(v + "|" + purpose))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (u *UI) checkCSRF(r *http.Request, purpose string) bool {
	got := r.PostFormValue("csrf")
	want := u.csrfToken(r, purpose)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// ---- rendering ----

// page is the data every template gets. Templates call {{.T "key" args…}} for every string
// (i18n.go) and {{.A "field"}} in an input's tag for its error and focus attributes.
type page struct {
	Product    string
	ClientName string
	CSRF       string
	Nonce      string
	Lang       string
	LogoURL    string
	Notice     string            // a confirmation shown at the top (role=status)
	FormError  string            // an error that belongs to no one field (role=alert)
	Errors     map[string]string // field name → message, shown next to the field
	Focus      string            // the field that gets autofocus: the first with an error
}

// T returns the catalog's message key in the page's language.
func (p page) T(key string, args ...any) string { return translate(p.Lang, key, args...) }

// A returns the attributes of the input for field: aria-describedby (its error, then hints),
// aria-invalid when it has an error, and autofocus when it is the field to focus.
func (p page) A(field string, hints ...string) template.HTMLAttr {
	var b strings.Builder
	ids := hints
	if p.Errors[field] != "" {
		ids = append([]string{field + "-error"}, hints...)
		b.WriteString(` aria-invalid="true"`)
	}
	if len(ids) > 0 {
		b.WriteString(` aria-describedby="` + template.HTMLEscapeString(strings.Join(ids, " ")) + `"`)
	}
	if p.Focus == field {
		b.WriteString(" autofocus")
	}
	return template.HTMLAttr(b.String())
}

// fail records a message for field; the first field that fails gets the focus.
func (p *page) fail(field, msg string) {
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	if _, ok := p.Errors[field]; !ok && (p.Focus == "" || p.Errors[p.Focus] == "") {
		p.Focus = field
	}
	p.Errors[field] = msg
}

// cspFor is the Content-Security-Policy of a page with that script nonce.
func (u *UI) cspFor(nonce string) string {
	img := "'self' data:"
	if u.imgSrc != "" {
		img += " " + u.imgSrc
	}
	// No form-action: Chromium applies it to the redirects that follow a form POST, and the
	// sign-in's last POST redirects to the app (any registered origin). TestBrowser shows it.
	return "default-src 'none'; script-src 'nonce-" + nonce + "' 'strict-dynamic'; style-src 'self'; img-src " + img +
		"; connect-src 'none'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
}

// SecurityHeaders sets the headers every page gets: a strict CSP with a fresh nonce, no
// framing, no sniffing, no referrer, no caching.
func (u *UI) SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		nonce := base64.RawURLEncoding.EncodeToString(b) // no + or / to escape in the attribute
		h := w.Header()
		h.Set("Content-Security-Policy", u.cspFor(nonce))
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if u.cfg.Secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if h.Get("Cache-Control") == "" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nonceKey, nonce)))
	})
}

// lang is the language of the request's pages: the authorization request's ui_locales, then
// Accept-Language.
func (u *UI) lang(r *http.Request, a *storage.AuthRequest) string {
	var locales []string
	if a != nil {
		locales = a.UILocales
	}
	return chooseLanguage(locales, r.Header.Get("Accept-Language"))
}

// t translates key for the request (outside a page).
func (u *UI) t(r *http.Request, key string, args ...any) string {
	return translate(u.lang(r, nil), key, args...)
}

// base is the common data of a page whose forms post with purpose, serving the authorization
// request a (nil when none).
func (u *UI) base(r *http.Request, purpose string, a *storage.AuthRequest) page {
	nonce, _ := r.Context().Value(nonceKey).(string)
	p := page{Product: u.cfg.ProductName, Nonce: nonce, Lang: u.lang(r, a), LogoURL: u.cfg.LogoURL}
	if purpose != "" {
		p.CSRF = u.csrfToken(r, purpose)
	}
	if a != nil && a.ClientID != "" {
		if c, err := u.store.GetClient(r.Context(), a.ClientID); err == nil {
			p.ClientName = c.Name
		}
	}
	return p
}

// render executes a page into a buffer first, so a template error is a clean 500.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		u.cfg.Logger.ErrorContext(r.Context(), "render page", "page", name, "error", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, u.t(r, "err.generic.text")+"\n")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

type messagePage struct {
	page
	Title, Message, Reference, LinkURL, LinkText string
}

// renderError shows a plain-words error page (catalog keys what+".title" and what+".text")
// with a reference the logs share when err is not nil.
func (u *UI) renderError(w http.ResponseWriter, r *http.Request, status int, what string, err error) {
	u.renderMessage(w, r, status, what+".title", what+".text", err)
}

func (u *UI) renderMessage(w http.ResponseWriter, r *http.Request, status int, titleKey, textKey string, err error) {
	ref := ""
	if err != nil {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		ref = hex.EncodeToString(b)
		u.cfg.Logger.ErrorContext(r.Context(), "page error", "reference", ref, "path", r.URL.Path, "error", err)
	}
	p := u.base(r, "", nil)
	u.render(w, r, status, "message", messagePage{
		page: p, Title: p.T(titleKey), Message: p.T(textKey), Reference: ref,
		LinkURL: "/account", LinkText: p.T("link.account"),
	})
}

func (u *UI) internalError(w http.ResponseWriter, r *http.Request, err error) {
	u.renderError(w, r, http.StatusInternalServerError, "err.generic", err)
}

func (u *UI) forbidden(w http.ResponseWriter, r *http.Request) {
	u.renderError(w, r, http.StatusForbidden, "err.forbidden", nil)
}

func (u *UI) handleNotFound(w http.ResponseWriter, r *http.Request) {
	u.renderError(w, r, http.StatusNotFound, "err.not_found", nil)
}

// NotFound serves the page-not-found page, with the pages' security headers, for whatever next
// answers 404 (the provider's router, for paths nobody serves).
func (u *UI) NotFound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nw := &notFoundWriter{w: w}
		next.ServeHTTP(nw, r)
		if nw.notFound {
			u.Browser(u.SecurityHeaders(http.HandlerFunc(u.handleNotFound))).ServeHTTP(w, r)
		}
	})
}

// notFoundWriter swallows a 404 answer so that the page can replace it.
type notFoundWriter struct {
	w        http.ResponseWriter
	notFound bool
	wrote    bool
}

func (n *notFoundWriter) Header() http.Header { return n.w.Header() }

func (n *notFoundWriter) WriteHeader(status int) {
	if n.wrote {
		return
	}
	n.wrote = true
	if status == http.StatusNotFound {
		n.notFound = true
		for k := range n.w.Header() {
			n.w.Header().Del(k)
		}
		return
	}
	n.w.WriteHeader(status)
}

func (n *notFoundWriter) Write(b []byte) (int, error) {
	if !n.wrote {
		n.WriteHeader(http.StatusOK)
	}
	if n.notFound {
		return len(b), nil
	}
	return n.w.Write(b)
}

func (n *notFoundWriter) Flush() {
	if f, ok := n.w.(http.Flusher); ok && !n.notFound {
		f.Flush()
	}
}

// seeOther ends every successful POST (Post/Redirect/Get).
func seeOther(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// ---- authorization requests ----

// authRequest loads the authorization request a page serves, checking that it is live and that
// this browser started it. ok is false when a page was rendered instead; a is nil when id is
// empty.
func (u *UI) authRequest(w http.ResponseWriter, r *http.Request, id string) (*storage.AuthRequest, bool) {
	if id == "" {
		return nil, true
	}
	a, err := u.store.GetAuthRequest(r.Context(), id)
	if err != nil || !a.ExpiresAt.After(u.cfg.Now()) || a.Done() {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			u.internalError(w, r, err)
			return nil, false
		}
		u.renderError(w, r, http.StatusBadRequest, "err.expired_link", nil)
		return nil, false
	}
	if len(a.BrowserHash) == 0 || subtle.ConstantTimeCompare(a.BrowserHash, BrowserHash(r.Context())) != 1 {
		u.renderError(w, r, http.StatusBadRequest, "err.other_browser", nil)
		return nil, false
	}
	return &a, true
}

// authRequestOf returns the authorization request id refers to, for its language and client
// name only (nil when there is none).
func (u *UI) authRequestOf(r *http.Request, id string) *storage.AuthRequest {
	if id == "" {
		return nil
	}
	a, err := u.store.GetAuthRequest(r.Context(), id)
	if err != nil {
		return nil
	}
	return &a
}

// finish sends the browser on after a sign-in: back to the provider for the authorization
// request, or to the account page.
func (u *UI) finish(w http.ResponseWriter, r *http.Request, authRequestID string, res auth.Result) {
	if authRequestID == "" {
		seeOther(w, r, u.afterSignIn(w, r)) // the account page, or back to the device page
		return
	}
	err := u.store.CompleteAuthRequest(r.Context(), authRequestID, res.UserID, res.AuthTime.UTC(), res.AMR, u.cfg.Now().UTC())
	if err != nil {
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
			u.renderMessage(w, r, http.StatusBadRequest, "err.expired_link.title", "err.expired_done.text", nil)
			return
		}
		u.internalError(w, r, err)
		return
	}
	seeOther(w, r, u.callback(r.Context(), authRequestID))
}

// sessionSatisfies reports whether a session may answer an authorization request without a
// new sign-in (prompt=login and max_age force one).
func sessionSatisfies(s storage.Session, a storage.AuthRequest, now time.Time) bool {
	for _, p := range a.Prompt {
		if p == "login" {
			return false
		}
	}
	if a.MaxAge >= 0 && now.Sub(s.AuthTime) > time.Duration(a.MaxAge)*time.Second {
		return false
	}
	if a.HintSubject != "" && a.HintSubject != s.UserID {
		return false // id_token_hint names another user
	}
	return true
}

// errorRedirect sends an OAuth error back to the client's redirect URI, which zitadel/oidc
// checked against the registration when it accepted the request.
func errorRedirect(a storage.AuthRequest, code, description, issuer string) string {
	q := url.Values{"error": {code}, "error_description": {description}}
	if a.State != "" {
		q.Set("state", a.State)
	}
	if issuer != "" {
		q.Set("iss", issuer)
	}
	sep := "?"
	if strings.Contains(a.RedirectURI, "?") {
		sep = "&"
	}
	return a.RedirectURI + sep + q.Encode()
}

// E returns the error message of field, or "".
func (p page) E(field string) string { return p.Errors[field] }
