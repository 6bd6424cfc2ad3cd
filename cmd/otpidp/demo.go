package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/storage"
)

// demoClientID is the demo relying party's client ID. It is a public client (PKCE, no secret)
// registered at start in development mode only.
const demoClientID = "otpidp-demo"

// demoApp is a small relying party, served by otpidp itself in development, that signs in
// through the normal redirect flow with zitadel/oidc's rp package and shows what it got.
type demoApp struct {
	d       deps
	cookies *httphelper.CookieHandler

	mu    sync.Mutex
	party rp.RelyingParty // made on first use: discovery needs the server to be listening
}

// demoClient is the demo's registration for this issuer.
func demoClient(d deps) storage.Client {
	return storage.Client{
		ID: demoClientID, Name: "otpidp demo app", Public: true, FirstParty: true,
		RedirectURIs: []string{d.cfg.Issuer + "/demo/callback"}, PostLogoutRedirectURIs: []string{d.cfg.Issuer + "/demo"},
		GrantTypes:        []string{provider.GrantAuthorizationCode, provider.GrantRefreshToken},
		AccessTokenFormat: provider.AccessTokenOpaque, CreatedAt: d.now().UTC(),
	}
}

func newDemo(ctx context.Context, d deps) (*demoApp, error) {
	// Re-register on every start: the issuer (and so the redirect URI) may have changed.
	if err := d.store.DeleteClient(ctx, demoClientID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("demo client: %w", err)
	}
	if err := d.store.CreateClient(ctx, demoClient(d)); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return nil, fmt.Errorf("demo client: %w", err)
	}
	// Cookie keys from the store, so any instance can finish a sign-in another started.
	fresh := make([]byte, 64)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	keys, err := d.store.Secret(ctx, "demo-cookie-keys", fresh)
	if err != nil || len(keys) != 64 {
		return nil, fmt.Errorf("demo cookie keys: %v", err)
	}
	var opts []httphelper.CookieHandlerOpt
	if u, _ := url.Parse(d.cfg.Issuer); u == nil || u.Scheme != "https" {
		opts = append(opts, httphelper.WithUnsecure())
	}
	return &demoApp{d: d, cookies: httphelper.NewCookieHandler(keys[:32], keys[32:], opts...)}, nil
}

func (a *demoApp) relyingParty(ctx context.Context) (rp.RelyingParty, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.party != nil {
		return a.party, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := rp.NewRelyingPartyOIDC(ctx, a.d.cfg.Issuer, demoClientID, "", a.d.cfg.Issuer+"/demo/callback",
		[]string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopePhone, oidc.ScopeOfflineAccess},
		rp.WithPKCE(a.cookies), rp.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		return nil, err
	}
	a.party = p
	return p, nil
}

// login starts the demo's sign-in: the authorization code flow with PKCE.
func (a *demoApp) login() http.HandlerFunc {
	return a.withParty(func(p rp.RelyingParty) http.HandlerFunc {
		return rp.AuthURLHandler(func() string { return rand.Text() }, p)
	})
}

// callback exchanges the code and shows what the provider said about the user.
func (a *demoApp) callback() http.HandlerFunc {
	return a.withParty(func(p rp.RelyingParty) http.HandlerFunc {
		return rp.CodeExchangeHandler(rp.UserinfoCallback(a.showResult), p)
	})
}

// ensureClient registers the demo client again when it is gone: "otpidp client remove
// otpidp-demo" while the server runs must not break /demo until a restart.
func (a *demoApp) ensureClient(ctx context.Context) error {
	_, err := a.d.store.GetClient(ctx, demoClientID)
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	a.d.logger.InfoContext(ctx, "demo client was removed: registering it again")
	if err := a.d.store.CreateClient(ctx, demoClient(a.d)); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return err
	}
	return nil
}

func (a *demoApp) withParty(h func(rp.RelyingParty) http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.ensureClient(r.Context()); err != nil {
			a.d.logger.ErrorContext(r.Context(), "demo client", "error", err)
			http.Error(w, "The demo app is unavailable: its client could not be registered. Try again, or restart otpidp.", http.StatusServiceUnavailable)
			return
		}
		p, err := a.relyingParty(r.Context())
		if err != nil {
			a.d.logger.ErrorContext(r.Context(), "demo relying party", "error", err)
			http.Error(w, "The demo app could not reach the provider's discovery document. Is OTPIDP_ISSUER the address you opened?", http.StatusBadGateway)
			return
		}
		h(p)(w, r)
	}
}

var demoPage = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>otpidp demo app</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main class="card"><header class="brand">Demo app</header>
{{if .Claims}}<h1>Signed in</h1>
<p>otpidp sent back an ID token. Its claims:</p><pre>{{.Claims}}</pre>
<p>The userinfo endpoint answered:</p><pre>{{.Userinfo}}</pre>
<p class="hint">Refresh token issued: {{.HasRefresh}}</p>
<p><a class="button" href="{{.LogoutURL}}">Sign out</a></p>
{{else}}<h1>A relying party</h1>
<p>This page is an app that uses otpidp to sign its users in, through the standard OpenID Connect code flow with PKCE.</p>
<p><a class="button" href="/demo/login">Sign in with otpidp</a></p>{{end}}
</main></body></html>`))

type demoView struct {
	Claims, Userinfo, LogoutURL string
	HasRefresh                  bool
}

func (a *demoApp) handleHome(w http.ResponseWriter, r *http.Request) {
	a.render(w, demoView{})
}

func (a *demoApp) showResult(w http.ResponseWriter, r *http.Request, tokens *oidc.Tokens[*oidc.IDTokenClaims], _ string, p rp.RelyingParty, info *oidc.UserInfo) {
	claims, _ := json.MarshalIndent(tokens.IDTokenClaims, "", "  ")
	ui, _ := json.MarshalIndent(info, "", "  ")
	// RP-initiated logout is a browser redirect (rp.EndSession would call it server-side,
	// without the browser's session cookie).
	q := url.Values{
		"id_token_hint":            {tokens.IDToken},
		"client_id":                {demoClientID},
		"post_logout_redirect_uri": {a.d.cfg.Issuer + "/demo"},
		"state":                    {rand.Text()},
	}
	logout := p.GetEndSessionEndpoint() + "?" + q.Encode()
	a.render(w, demoView{Claims: string(claims), Userinfo: string(ui), LogoutURL: logout, HasRefresh: tokens.RefreshToken != ""})
}

func (a *demoApp) render(w http.ResponseWriter, v demoView) {
	var buf bytes.Buffer
	if err := demoPage.Execute(&buf, v); err != nil {
		http.Error(w, "The demo page failed to render.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'")
	_, _ = buf.WriteTo(w)
}
