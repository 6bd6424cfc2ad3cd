package main

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/provider/oautherr"
	"github.com/otpidp/otpidp/storage/deadline"
	"github.com/otpidp/otpidp/ui"
)

// unavailableRetryAfter is the Retry-After of an answer given while the database is unreachable.
const unavailableRetryAfter = 5 * time.Second

// unavailableAnswers decides, for every request, what a failure caused by the database is
// answered with, whichever handler (otpidp's, zitadel/oidc's, a page's) made the answer. Each
// request's store calls are watched (storage/deadline.Watch); when one failed unavailable and
// the handler answers an error (4xx or 5xx) or a redirect within otpidp, the answer is
// replaced by 503 with Retry-After: a
// JSON answer by oautherr.WriteUnavailable (temporarily_unavailable, a fixed text), anything
// else by the pages' 503 page. So userinfo never calls a valid token invalid, the token
// endpoint never calls a client unknown, and no page shows a generic 500, because the
// database is down. Any other JSON 500 loses its description (oautherr.WriteInternal): the
// library writes the error's text there, which may be a driver's (database user, name,
// address, SQLSTATE). Other 5xx answers (a 503 of otpidp's own, with its Retry-After) pass.
//
// Whether the 503 is JSON or the page depends on the route: the protocol endpoints apps call
// (ep: token, introspection, revocation, userinfo, device authorization, discovery, keys) and
// any answer already typed JSON get JSON; the pages, and the browser-facing endpoints
// (authorize, its callback, end session), get the page.
func unavailableAnswers(pages *ui.UI, ep provider.Endpoints) func(http.Handler) http.Handler {
	api := map[string]bool{
		ep.Token: true, ep.Introspect: true, ep.Revoke: true, ep.Userinfo: true,
		ep.DeviceAuthorization: true, ep.Discovery: true, ep.Keys: true,
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, outcome := deadline.Watch(r.Context())
			r = r.WithContext(ctx)
			next.ServeHTTP(&outcomeWriter{ResponseWriter: w, r: r, outcome: outcome, pages: pages, api: api[r.URL.Path]}, r)
		})
	}
}

// outcomeWriter replaces an error answer as unavailableAnswers says; everything else passes.
type outcomeWriter struct {
	http.ResponseWriter
	r        *http.Request
	outcome  *deadline.Outcome
	pages    *ui.UI
	api      bool // a protocol endpoint apps call: JSON
	decided  bool
	replaced bool
}

func (o *outcomeWriter) WriteHeader(status int) {
	if o.decided {
		if !o.replaced {
			o.ResponseWriter.WriteHeader(status) // let net/http report a superfluous call
		}
		return
	}
	o.decided = true
	json := strings.HasPrefix(o.Header().Get("Content-Type"), "application/json")
	switch {
	case o.outcome.Unavailable() && (status >= 400 || o.internalRedirect(status)):
		o.replaced = true
		o.clearHeaders()
		if json || o.api {
			oautherr.WriteUnavailable(o.ResponseWriter, unavailableRetryAfter)
			return
		}
		o.pages.UnavailablePage(o.ResponseWriter, o.r, unavailableRetryAfter)
	case status == http.StatusInternalServerError && json:
		o.replaced = true
		o.clearHeaders()
		oautherr.WriteInternal(o.ResponseWriter)
	default:
		o.ResponseWriter.WriteHeader(status)
	}
}

// internalRedirect reports whether status and Location send the browser elsewhere in otpidp:
// after a failed store call that is a fallback (a session that could not be read sends to the
// sign-in page, as if signed out), which the 503 page replaces. A redirect to a relying party
// (an authorization error response, temporarily_unavailable) is kept.
func (o *outcomeWriter) internalRedirect(status int) bool {
	if status < 300 || status >= 400 {
		return false
	}
	u, err := url.Parse(o.Header().Get("Location"))
	return err == nil && (u.Host == "" || u.Host == o.r.Host)
}

// clearHeaders removes what the replaced answer had set about its own body.
func (o *outcomeWriter) clearHeaders() {
	h := o.Header()
	for _, k := range []string{"Content-Length", "Content-Type", "WWW-Authenticate", "Location", "Content-Disposition"} {
		h.Del(k)
	}
}

func (o *outcomeWriter) Write(b []byte) (int, error) {
	if !o.decided {
		o.WriteHeader(http.StatusOK)
	}
	if o.replaced {
		return len(b), nil // the replaced answer's body goes nowhere
	}
	return o.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (o *outcomeWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }
