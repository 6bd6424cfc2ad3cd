// Package ui serves the pages people see: sign in, registration, the SMS code, the account page,
// sign out and errors. Pages are html/template files embedded in the binary; they work without
// JavaScript. Handlers parse the form, make one call to the sign-in core (Core, which
// provider/signin satisfies) and render a page or redirect; cookies, CSRF tokens, templates and
// languages are the pages' own. The package imports neither the provider nor the store: it gets
// the core and a callback URL builder as values.
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
	"slices"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/reqinfo"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Config configures the pages.
type Config struct {
	ProductName string
	Issuer      string // for the iss parameter of error redirects (RFC 9207)
	Secure      bool   // the issuer is https: cookies get Secure and the __Host- prefix
	LogoURL     string // an https:// or data:image/ URL of the product's logo; empty: an inline mark
	AccentColor string // "#rrggbb" (checked by CheckAccentColor); empty: the default blue
	// DefaultRegion is the region of national phone numbers; SMSCountries the regions codes may
	// be texted to (empty or "*": any). The pages' example numbers are of these (countries.go).
	DefaultRegion string
	SMSCountries  []string
	Now           func() time.Time
	Logger        *slog.Logger
}

// UI holds the page handlers.
type UI struct {
	cfg       Config
	core      Core
	callback  func(ctx context.Context, authRequestID string) string
	pages     map[string]*template.Template
	csrfKey   []byte
	revealKey []byte // seals recovery codes in the reveal cookie (recovery.go)
	formKey   []byte // seals the form state cookie (formstate.go)
	browser   string // cookie names
	session   string
	reveal    string
	brandCSS  []byte
	countries countries
	imgSrc    string // the logo's origin for the CSP, when it is not ours
}

// pageNames are the templates, each parsed with layout.html.
var pageNames = []string{"login", "register", "code", "message", "account", "recovery", "codes", "forgot", "verify", "newpw", "consent", "logout", "device"}

// New parses the templates and gets the CSRF key from the core (shared by every instance).
func New(ctx context.Context, cfg Config, core Core, callback func(context.Context, string) string) (*UI, error) {
	if cfg.ProductName == "" {
		cfg.ProductName = "otpidp"
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
	key, err := core.SharedSecret(ctx, "ui-csrf-hmac")
	if err != nil {
		return nil, fmt.Errorf("csrf key: %w", err)
	}
	revealKey, err := core.SharedSecret(ctx, "ui-reveal-aead")
	if err != nil {
		return nil, fmt.Errorf("reveal key: %w", err)
	}
	formKey, err := core.SharedSecret(ctx, "ui-form-aead")
	if err != nil {
		return nil, fmt.Errorf("form key: %w", err)
	}
	u := &UI{cfg: cfg, core: core, callback: callback, csrfKey: key, revealKey: revealKey, formKey: formKey,
		pages: map[string]*template.Template{}, brandCSS: brandCSS(cfg.AccentColor), imgSrc: imgSrc,
		countries: newCountries(cfg.SMSCountries, cfg.DefaultRegion)}
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

// Static serves the embedded stylesheets, scripts and images under /static/ (routes.go mounts
// it), cached for an hour.
func (u *UI) Static() http.Handler {
	static, _ := fs.Sub(staticFiles, "static")
	return http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static)))
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// ---- browser binding and sessions ----

// Browser makes sure the browser has a binding cookie (a random value; flows and authorization
// requests are bound to its hash) and puts the hashes of it and of the session cookie in the
// request's reqinfo.Info.
func (u *UI) Browser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		value := ""
		if c, err := r.Cookie(u.browser); err == nil && validToken(c.Value) {
			value = c.Value
		} else {
			value = newToken()
			http.SetCookie(w, u.cookie(u.browser, value, browserCookieTTL))
		}
		var session []byte
		if c, err := r.Cookie(u.session); err == nil && validToken(c.Value) {
			session = authflow.HashToken(c.Value)
		}
		ctx := reqinfo.Update(r.Context(), func(i *reqinfo.Info) {
			i.Browser, i.BrowserHash, i.SessionHash = value, authflow.HashToken(value), session
		})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
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

// startSession starts the browser's new session (a new value after every sign-in) and sets
// its cookie.
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, res authflow.Result) (authflow.Session, error) {
	ns, err := u.core.StartSession(r.Context(), res, r.UserAgent())
	if err != nil {
		return ns.Session, err
	}
	http.SetCookie(w, u.cookie(u.session, ns.Token, ns.MaxAge))
	return ns.Session, nil
}

// ---- CSRF ----

// csrfToken ties a form to this browser and to the form's purpose.
func (u *UI) csrfToken(r *http.Request, purpose string) string {
	m := hmac.New(sha256.New, u.csrfKey)
	m.Write([]byte(reqinfo.From(r.Context()).Browser + "|" + purpose))
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
	ErrorFor   []string          // the fields FormError is about (they get aria-invalid)
	Errors     map[string]string // field name → message, shown next to the field
	Focus      string            // the field that gets autofocus: the first with an error
	NewPass    bool              // the page's "password" field is a new password (its label)
	Example    string            // an example phone number of a served country
	Served     string            // the countries served, in the page's language ("" for any)
	errs       []fieldError      // Errors in the order of the form
}

// fieldLabels are the catalog keys of the fields' labels, for the error summary.
var fieldLabels = map[string]string{
	"name": "field.name", "phone": "field.phone", "password": "field.password",
	"password_confirm": "field.confirm_password", "current_password": "field.current_password",
	"code": "field.code", "recovery_code": "field.recovery_code", "user_code": "device.field",
}

// summaryItem is one line of the error summary: a link to a field that has an error.
type summaryItem struct{ Field, Label string }

// Summary lists the fields with an error, in the form's order, for the summary at the top
// (each links to its field; the message itself is beside the field only).
func (p page) Summary() []summaryItem {
	var items []summaryItem
	for _, e := range p.errs {
		key := fieldLabels[e.Field]
		if e.Field == "password" && p.NewPass {
			key = "field.new_password"
		}
		label := e.Field
		if key != "" {
			label = p.T(key)
		}
		items = append(items, summaryItem{Field: e.Field, Label: label})
	}
	return items
}

// T returns the catalog's message key in the page's language.
func (p page) T(key string, args ...any) string { return translate(p.Lang, key, args...) }

// A returns the attributes of the input for field: aria-describedby (its error, then hints),
// aria-invalid when it has an error, and autofocus when it is the field to focus.
func (p page) A(field string, hints ...string) template.HTMLAttr {
	var b strings.Builder
	ids := hints
	switch {
	case p.Errors[field] != "":
		ids = append([]string{field + "-error"}, hints...)
		b.WriteString(` aria-invalid="true"`)
	case p.FormError != "" && slices.Contains(p.ErrorFor, field):
		ids = append([]string{"form-error"}, hints...)
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
	if _, ok := p.Errors[field]; ok {
		for i := range p.errs {
			if p.errs[i].Field == field {
				p.errs[i].Msg = msg
			}
		}
	} else {
		p.errs = append(p.errs, fieldError{Field: field, Msg: msg})
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
		next.ServeHTTP(w, r.WithContext(reqinfo.Update(r.Context(), func(i *reqinfo.Info) { i.Nonce = nonce })))
	})
}

// lang is the language of the request's pages: the authorization request's ui_locales, then
// Accept-Language.
func (u *UI) lang(r *http.Request, a *authflow.AuthRequest) string {
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
func (u *UI) base(r *http.Request, purpose string, a *authflow.AuthRequest) page {
	p := page{Product: u.cfg.ProductName, Nonce: reqinfo.From(r.Context()).Nonce, Lang: u.lang(r, a), LogoURL: u.cfg.LogoURL,
		Example: u.countries.example}
	p.Served = u.countries.served(p.Lang)
	if purpose != "" {
		p.CSRF = u.csrfToken(r, purpose)
	}
	if a != nil {
		p.ClientName = a.ClientName
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
	u.showMessage(w, r, status, messagePage{
		page: p, Title: p.T(titleKey), Message: p.T(textKey), Reference: ref,
		LinkURL: "/account", LinkText: p.T("link.account"),
	})
}

// showMessage renders a message page; answering a POST, it keeps the message and sends the
// browser to GET /message instead (Post/Redirect/Get, formstate.go).
func (u *UI) showMessage(w http.ResponseWriter, r *http.Request, status int, m messagePage, edit ...func(*formState)) {
	if r.Method != http.MethodPost {
		u.render(w, r, status, "message", m)
		return
	}
	st := u.loadForm(r)
	for _, e := range edit {
		e(&st)
	}
	st.Form, st.Key, st.Status, st.FormError, st.Errors, st.Focus = "message", "", status, "", nil, ""
	st.Retry = w.Header().Get("Retry-After")
	st.Message = &messageState{Title: m.Title, Text: m.Message, Reference: m.Reference, LinkURL: m.LinkURL, LinkText: m.LinkText}
	u.saveForm(w, st)
	seeOther(w, r, "/message")
}

func (u *UI) internalError(w http.ResponseWriter, r *http.Request, err error) {
	u.renderError(w, r, http.StatusInternalServerError, "err.generic", err)
}

func (u *UI) forbidden(w http.ResponseWriter, r *http.Request) {
	u.renderError(w, r, http.StatusForbidden, "err.forbidden", nil)
}

func (u *UI) NotFoundPage(w http.ResponseWriter, r *http.Request) {
	u.renderError(w, r, http.StatusNotFound, "err.not_found", nil)
}

// NotFound serves the page-not-found page, with the pages' security headers, for whatever next
// answers 404 (the provider's router, for paths nobody serves).
func (u *UI) NotFound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nw := &notFoundWriter{w: w}
		next.ServeHTTP(nw, r)
		if nw.notFound {
			u.Browser(u.SecurityHeaders(http.HandlerFunc(u.NotFoundPage))).ServeHTTP(w, r)
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

// requestError renders the page of an authorization request the core refused; false when
// there was no error.
func (u *UI) requestError(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, authflow.ErrRequestExpired):
		u.renderError(w, r, http.StatusBadRequest, "err.expired_link", nil)
	case errors.Is(err, authflow.ErrOtherBrowser):
		u.renderError(w, r, http.StatusBadRequest, "err.other_browser", nil)
	case errors.Is(err, authflow.ErrRequestCompleted):
		u.renderMessage(w, r, http.StatusBadRequest, "err.expired_link.title", "err.expired_done.text", nil)
	default:
		u.internalError(w, r, err)
	}
	return true
}

// authRequest loads the authorization request a page serves, checking that it is live and that
// this browser started it. ok is false when a page was rendered instead; a is nil when id is
// empty.
func (u *UI) authRequest(w http.ResponseWriter, r *http.Request, id string) (*authflow.AuthRequest, bool) {
	if id == "" {
		return nil, true
	}
	a, err := u.core.AuthRequest(r.Context(), id)
	if u.requestError(w, r, err) {
		return nil, false
	}
	return &a, true
}

// authRequestOf returns the authorization request id refers to, for its language and client
// name only (nil when there is none).
func (u *UI) authRequestOf(r *http.Request, id string) *authflow.AuthRequest {
	a, ok := u.core.AuthRequestInfo(r.Context(), id)
	if !ok {
		return nil
	}
	return &a
}

// finish sends the browser on after a sign-in: back to the provider for the authorization
// request, or to the account page.
func (u *UI) finish(w http.ResponseWriter, r *http.Request, authRequestID string, res authflow.Result) {
	if authRequestID == "" {
		seeOther(w, r, u.afterSignIn(w, r)) // the account page, or back to the device page
		return
	}
	if u.requestError(w, r, u.core.CompleteAuthRequest(r.Context(), authRequestID, res)) {
		return
	}
	seeOther(w, r, u.callback(r.Context(), authRequestID))
}

// E returns the error message of field, or "".
func (p page) E(field string) string { return p.Errors[field] }
