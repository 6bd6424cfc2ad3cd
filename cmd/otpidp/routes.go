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

// routes is the whole URL surface of otpidp: every route and its middleware stack, here and
// nowhere else. Every request first gets recoverer (a panic is a 500 page, not a dead process)
// and reqinfo (client IP through trusted proxies, request ID), then (with OTLP export) a trace
// span, and observe (request metrics by route pattern, the access log). /metrics and
// /debug/pprof are never here: they are on the admin listener (admin.go). The stacks:
//
//	page      ui.Browser → ui.SecurityHeaders → CrossOriginProtection → issuer interceptor
//	browser   ui.Browser → ui.SecurityHeaders → ui.FriendlyErrors (the provider's own handlers)
//	limited   protocolLimits per IP and client (credential-taking protocol endpoints)
//	protocol  the provider as it is (CORS, no-store and POST-only are the provider's own, wrap)
//
// Paths nobody serves fall through to the provider's router and then to the not-found page.
func routes(d deps, prov *provider.Provider, pages *ui.UI, demo *demoApp) http.Handler {
	r := chi.NewRouter()
	r.Use(recoverer(d))
	r.Use(reqinfo.Middleware(d.cfg.Abuse.TrustedProxies))
	if d.cfg.Obs.OTLPEndpoint != "" {
		r.Use(traceRequests) // tracing.go: a server span per request
	}
	r.Use(observe(d))                                  // logging.go: metrics by route pattern, the access log
	r.Use(unavailableAnswers(pages, prov.Endpoints())) // a database outage is a 503 everywhere (unavailable.go)

	r.Get("/healthz", handleHealthz)                           // liveness: no database
	r.Get("/readyz", handleReadyz(d.store, d.ready, d.logger)) // readiness: not draining, the database answers (health.go)

	protocol, ep, limited := prov.Handler(), prov.Endpoints(), protocolLimits(d)
	r.Handle(ep.Discovery, protocol)
	r.Handle(ep.Keys, protocol)
	r.Handle(ep.Userinfo, protocol)
	r.Handle(ep.Token, d.metrics.tokenGrants(limited("token", protocol)))
	r.Handle(ep.Introspect, limited("introspect", protocol))
	r.Handle(ep.Revoke, limited("revoke", protocol))
	r.Handle(ep.DeviceAuthorization, limited("device", protocol))

	browser := func(h http.Handler) http.Handler { return pages.Browser(pages.SecurityHeaders(h)) }
	r.Handle(ep.Authorize, browser(pages.FriendlyErrors(protocol)))
	r.Handle(ep.Callback, browser(pages.BoundCallback(pages.FriendlyErrors(protocol))))
	r.Handle(ep.EndSession, browser(prov.IssuerInterceptor(pages.EndSessionHandler(func(r *http.Request) (ui.LogoutRequest, error) {
		l, err := prov.ValidateLogout(r)
		return ui.LogoutRequest{Subject: l.Subject, ClientName: l.ClientName, RedirectURI: l.RedirectURI}, err
	}))))

	r.Group(func(r chi.Router) {
		r.Use(pages.Browser, pages.SecurityHeaders, http.NewCrossOriginProtection().Handler, prov.IssuerInterceptor)
		r.Get("/", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/account", http.StatusFound) })
		r.Handle("/static/*", pages.Static())
		r.Get("/brand.css", pages.BrandCSS)
		r.Get("/login", pages.LoginPage)
		r.Post("/login", pages.Login)
		r.Get("/register", pages.RegisterPage)
		r.Post("/register", pages.Register)
		r.Get("/code", pages.CodePage)
		r.Post("/code", pages.Code)
		r.Post("/code/resend", pages.Resend)
		r.Get("/code/recovery", pages.RecoveryPage)
		r.Post("/code/recovery", pages.Recovery)
		r.Get("/recovery-codes", pages.CodesPage)
		r.Get("/recovery-codes.txt", pages.CodesText)
		r.Post("/recovery-codes", pages.CodesDone)
		r.Get("/forgot", pages.ForgotPage)
		r.Post("/forgot", pages.Forgot)
		r.Get("/forgot/verify", pages.VerifyPage)
		r.Post("/forgot/verify", pages.Verify)
		r.Post("/forgot/resend", pages.Resend)
		r.Get("/forgot/password", pages.NewPasswordPage)
		r.Post("/forgot/password", pages.NewPassword)
		r.Get("/account", pages.Account)
		r.Post("/account/password", pages.ChangePassword)
		r.Post("/account/name", pages.ChangeName)
		r.Post("/account/recovery-codes", pages.NewCodes)
		r.Post("/account/sessions/end", pages.EndDevice)
		r.Post("/account/apps/remove", pages.RemoveApp)
		r.Get("/consent", pages.ConsentPage)
		r.Post("/consent", pages.Consent)
		r.Get("/device", pages.DevicePage)
		r.Post("/device", pages.Device)
		r.Post("/device/decision", pages.DeviceDecision)
		r.Post("/logout", pages.Logout)
		r.Get("/logged-out", pages.LoggedOut)
		r.Get("/message", pages.MessagePage) // the message a POST led to (Post/Redirect/Get)
	})

	if demo != nil { // development only: a relying party to try the flow with
		r.Get("/demo", demo.handleHome)
		r.Get("/demo/", demo.handleHome)
		r.Get("/demo/login", demo.login())
		r.Get("/demo/callback", demo.callback())
	}
	if d.cfg.SMS == smsTwilio && d.cfg.TwilioStatusCallback { // Twilio delivery reports
		r.Method(http.MethodPost, sms.StatusCallbackPath, &sms.StatusHandler{
			Journal: d.store, AuthToken: d.cfg.TwilioAuthToken, Account: d.cfg.TwilioAccountSID,
			URL: d.cfg.Issuer + sms.StatusCallbackPath, Now: d.now, Logger: d.logger,
		})
	}
	r.NotFound(pages.NotFound(protocol).ServeHTTP)
	return r
}

// handleHealthz is liveness: it never touches the database (SECURITY.md REL-17).
func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
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
