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
	Now            func() time.Time
	Logger         *slog.Logger
}

// UI holds the page handlers.
type UI struct {
	cfg      Config
	store    storage.Storage
	auth     *auth.Authenticator
	callback func(ctx context.Context, authRequestID string) string
	pages    map[string]*template.Template
	csrfKey  []byte
	browser  string // cookie names
	session  string
}

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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key, err := store.Secret(ctx, "ui-csrf-hmac", fresh)
	if err != nil {
		return nil, fmt.Errorf("csrf key: %w", err)
	}
	u := &UI{cfg: cfg, store: store, auth: authn, callback: callback, csrfKey: key, pages: map[string]*template.Template{}}
	u.browser, u.session = "otpidp-browser", "otpidp-session"
	if cfg.Secure {
		u.browser, u.session = "__Host-otpidp-browser", "__Host-otpidp-session"
	}
	for _, name := range []string{"login", "register", "code", "message", "account"} {
		t, err := template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse %s template: %w", name, err)
		}
		u.pages[name] = t
	}
	return u, nil
}

// Routes mounts the pages on r. Wrap r in Browser and, for the sign-in pages, the provider's
// issuer interceptor.
func (u *UI) Routes(r chi.Router) {
	static, _ := fs.Sub(staticFiles, "static")
	r.Handle("/static/*", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	r.Get("/login", u.handleLoginPage)
	r.Post("/login", u.handleLogin)
	r.Get("/register", u.handleRegisterPage)
	r.Post("/register", u.handleRegister)
	r.Get("/code", u.handleCodePage)
	r.Post("/code", u.handleCode)
	r.Post("/code/resend", u.handleResend)
	r.Get("/account", u.handleAccount)
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
			http.SetCookie(w, u.cookie(u.browser, value, 400*24*time.Hour))
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
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, res auth.Result) error {
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
		return fmt.Errorf("create session: %w", err)
	}
	http.SetCookie(w, u.cookie(u.session, value, u.cfg.SessionTTL))
	return nil
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

// page is the data every template gets.
type page struct {
	Product    string
	ClientName string
	CSRF       string
	Nonce      string
}

// SecurityHeaders sets the headers every page gets: a strict CSP with a fresh nonce, no
// framing, no sniffing, no referrer, no caching.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		nonce := base64.RawStdEncoding.EncodeToString(b)
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"' 'strict-dynamic'; style-src 'self'; img-src 'self' data:; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if h.Get("Cache-Control") == "" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nonceKey, nonce)))
	})
}

func (u *UI) base(r *http.Request, purpose, clientName string) page {
	nonce, _ := r.Context().Value(nonceKey).(string)
	return page{Product: u.cfg.ProductName, ClientName: clientName, CSRF: u.csrfToken(r, purpose), Nonce: nonce}
}

// render executes a page into a buffer first, so a template error is a clean 500.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		u.cfg.Logger.ErrorContext(r.Context(), "render page", "page", name, "error", err)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
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

// renderError shows a plain-words error page with a reference the logs share.
func (u *UI) renderError(w http.ResponseWriter, r *http.Request, status int, title, message string, err error) {
	ref := ""
	if err != nil {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		ref = hex.EncodeToString(b)
		u.cfg.Logger.ErrorContext(r.Context(), "page error", "reference", ref, "path", r.URL.Path, "error", err)
	}
	u.render(w, r, status, "message", messagePage{
		page: u.base(r, "", ""), Title: title, Message: message, Reference: ref,
		LinkURL: "/account", LinkText: "Go to your account",
	})
}

func (u *UI) internalError(w http.ResponseWriter, r *http.Request, err error) {
	u.renderError(w, r, http.StatusInternalServerError, "Something went wrong",
		"We could not finish this step because of a problem on our side. Please try again in a minute.", err)
}

func (u *UI) forbidden(w http.ResponseWriter, r *http.Request) {
	u.renderError(w, r, http.StatusForbidden, "This form has expired",
		"For your security we could not accept this form. Go back, reload the page and try again.", nil)
}

// seeOther ends every successful POST (Post/Redirect/Get).
func seeOther(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// ---- authorization requests ----

// authRequest loads the authorization request a page serves, checking that it is live and that
// this browser started it. ok is false when a page was rendered instead.
func (u *UI) authRequest(w http.ResponseWriter, r *http.Request, id string) (storage.AuthRequest, string, bool) {
	if id == "" {
		return storage.AuthRequest{}, "", true
	}
	a, err := u.store.GetAuthRequest(r.Context(), id)
	if err != nil || !a.ExpiresAt.After(u.cfg.Now()) || a.Done() {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			u.internalError(w, r, err)
			return a, "", false
		}
		u.renderError(w, r, http.StatusBadRequest, "This sign-in link has expired",
			"Go back to the app you came from and start signing in again.", nil)
		return a, "", false
	}
	if len(a.BrowserHash) == 0 || subtle.ConstantTimeCompare(a.BrowserHash, BrowserHash(r.Context())) != 1 {
		u.renderError(w, r, http.StatusBadRequest, "Continue in the browser you started in",
			"This sign-in was started in another browser or app. Go back to the app and start again here.", nil)
		return a, "", false
	}
	name := ""
	if c, err := u.store.GetClient(r.Context(), a.ClientID); err == nil {
		name = c.Name
	}
	return a, name, true
}

// finish sends the browser on after a sign-in: back to the provider for the authorization
// request, or to the account page.
func (u *UI) finish(w http.ResponseWriter, r *http.Request, authRequestID string, res auth.Result) {
	if authRequestID == "" {
		seeOther(w, r, "/account")
		return
	}
	err := u.store.CompleteAuthRequest(r.Context(), authRequestID, res.UserID, res.AuthTime.UTC(), res.AMR, u.cfg.Now().UTC())
	if err != nil {
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
			u.renderError(w, r, http.StatusBadRequest, "This sign-in link has expired",
				"You are signed in, but the app's request expired. Go back to the app and start again.", nil)
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
