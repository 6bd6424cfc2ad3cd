package main

import (
	"net/http"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/oautherr"
	"github.com/otpidp/otpidp/storage/deadline"
	"github.com/otpidp/otpidp/ui"
)

// unavailableRetryAfter is the Retry-After of an answer given while the database is unreachable.
const unavailableRetryAfter = 5 * time.Second

// unavailableAnswers decides, for every request, what a failure caused by the database is
// answered with, whichever handler (otpidp's, zitadel/oidc's, a page's) made the answer. Each
// request's store calls are watched (storage/deadline.Watch); when one failed unavailable and
// the handler answers an error (4xx or 5xx), the answer is replaced by 503 with Retry-After: a
// JSON answer by oautherr.WriteUnavailable (temporarily_unavailable, a fixed text), anything
// else by the pages' 503 page. So userinfo never calls a valid token invalid, the token
// endpoint never calls a client unknown, and no page shows a generic 500, because the
// database is down. Any other JSON 5xx loses its description (oautherr.WriteInternal): the
// library writes the error's text there, which may be a driver's (database user, name,
// address, SQLSTATE).
func unavailableAnswers(pages *ui.UI) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, outcome := deadline.Watch(r.Context())
			r = r.WithContext(ctx)
			next.ServeHTTP(&outcomeWriter{ResponseWriter: w, r: r, outcome: outcome, pages: pages}, r)
		})
	}
}

// outcomeWriter replaces an error answer as unavailableAnswers says; everything else passes.
type outcomeWriter struct {
	http.ResponseWriter
	r        *http.Request
	outcome  *deadline.Outcome
	pages    *ui.UI
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
	case status >= 400 && o.outcome.Unavailable():
		o.replaced = true
		o.clearHeaders()
		if json || !o.wantsPage() {
			oautherr.WriteUnavailable(o.ResponseWriter, unavailableRetryAfter)
			return
		}
		o.pages.UnavailablePage(o.ResponseWriter, o.r, unavailableRetryAfter)
	case status >= 500 && json:
		o.replaced = true
		o.clearHeaders()
		oautherr.WriteInternal(o.ResponseWriter)
	default:
		o.ResponseWriter.WriteHeader(status)
	}
}

// wantsPage reports whether the error answer was not JSON and the request was a browser's
// (a page): everything else (plain-text errors of protocol endpoints) gets JSON.
func (o *outcomeWriter) wantsPage() bool {
	ct := o.Header().Get("Content-Type")
	return strings.HasPrefix(ct, "text/html") || strings.Contains(o.r.Header.Get("Accept"), "text/html")
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
