package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/ui"
)

// routes is the whole URL surface of otpidp, in one place.
//
//	/healthz                                liveness (no database)
//	/readyz                                 readiness (database answers)
//	/.well-known/openid-configuration, /keys, /oauth/token, /oauth/introspect,
//	/userinfo, /revoke, /device_authorization
//	                                        protocol endpoints (zitadel/oidc and provider)
//	/authorize, /authorize/callback, /end_session
//	                                        browser-facing protocol endpoints
//	/login, /register, /code, /code/resend, /code/recovery, /recovery-codes(.txt), /forgot,
//	/forgot/verify, /forgot/resend, /forgot/password, /account, /account/password, /account/name,
//	/account/recovery-codes, /account/sessions/end, /account/apps/remove, /consent, /device, /logout, /logged-out,
//	/static/*, /brand.css
//	                                        pages (ui)
//	/demo, /demo/login, /demo/callback      demo relying party (development only)
//	/twilio/status                          Twilio delivery reports (OTPIDP_TWILIO_STATUS_CALLBACK=true)
func routes(d deps, prov *provider.Provider, pages *ui.UI, demo *demoApp) http.Handler {
	r := chi.NewRouter()
	r.Use(recoverer(d))
	r.Use(reqinfo.Middleware(d.cfg.Abuse.TrustedProxies)) // client IP and request ID

	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := d.store.Ping(r.Context()); err != nil {
			d.logger.WarnContext(r.Context(), "not ready", "error", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})

	protocol := prov.Handler()
	// Pages: a browser-binding cookie, strict security headers, cross-origin POSTs refused (the
	// per-form CSRF tokens are checked by the handlers too), and the issuer in the context.
	pagesStack := func(h http.Handler) http.Handler {
		return pages.Browser(pages.SecurityHeaders(http.NewCrossOriginProtection().Handler(prov.IssuerInterceptor(h))))
	}
	r.Group(func(r chi.Router) {
		r.Use(pagesStack)
		pages.Routes(r)
		pages.ProtocolRoutes(r)
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/account", http.StatusFound)
		})
	})
	// Browser-facing protocol endpoints are bound to the browser too, and their unredirectable
	// errors become the error page rather than plain text.
	browserProtocol := pages.Browser(pages.SecurityHeaders(pages.FriendlyErrors(protocol)))
	r.Handle("/authorize", browserProtocol)
	r.Handle(prov.CallbackPath(), pages.Browser(pages.SecurityHeaders(pages.BoundCallback(pages.FriendlyErrors(protocol)))))
	r.Handle("/end_session", pages.Browser(pages.SecurityHeaders(prov.IssuerInterceptor(pages.EndSessionHandler(func(r *http.Request) (ui.LogoutRequest, error) {
		l, err := prov.ValidateLogout(r)
		return ui.LogoutRequest{Subject: l.Subject, ClientName: l.ClientName, RedirectURI: l.RedirectURI}, err
	})))))
	// Everything else the provider serves (discovery, keys, token, introspection, userinfo,
	// revocation).
	r.Handle("/*", protocolLimits(d)(pages.NotFound(protocol)))

	if demo != nil {
		r.Route("/demo", demo.routes)
	}
	if d.cfg.SMS == smsTwilio && d.cfg.TwilioStatusCallback {
		r.Method(http.MethodPost, sms.StatusCallbackPath, &sms.StatusHandler{
			Journal: d.store, AuthToken: d.cfg.TwilioAuthToken, Account: d.cfg.TwilioAccountSID,
			URL: d.cfg.Issuer + sms.StatusCallbackPath, Now: d.now, Logger: d.logger,
		})
	}
	return r
}

// recoverer keeps the process alive after a panic in a handler: a generic 500 with a reference,
// the detail in the log (LOG-05, WEB-10).
func recoverer(d deps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					b := make([]byte, 6)
					_, _ = rand.Read(b)
					ref := hex.EncodeToString(b)
					d.logger.ErrorContext(r.Context(), "panic", "reference", ref, "path", r.URL.Path, "panic", fmt.Sprint(v), "time", time.Now().UTC())
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
					w.Header().Set("Cache-Control", "no-store")
					w.WriteHeader(http.StatusInternalServerError)
					fmt.Fprintf(w, "Something went wrong on our side. Please try again. Reference: %s\n", ref)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}
