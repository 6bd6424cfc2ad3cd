// Package oautherr writes the OAuth 2.0 error response (RFC 6749 §5.2, RFC 6750 §3, RFC 7662 §2.3):
// a JSON object with "error" and, when there is one, "error_description", served as
// application/json and never cached. Every protocol endpoint and middleware of otpidp answers
// its errors through Write, so the body is always valid JSON whatever the description holds.
package oautherr

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// body is the wire form of an OAuth error.
type body struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// Write answers status with e as the OAuth error JSON, Cache-Control no-store and Pragma
// no-cache. Headers set on w before the call (WWW-Authenticate, Allow, Retry-After) are kept.
func Write(w http.ResponseWriter, status int, e *oidc.Error) {
	if e == nil {
		e = oidc.ErrServerError()
	}
	code := string(e.ErrorType)
	if code == "" {
		code = string(oidc.ServerError)
	}
	b, err := json.Marshal(body{Error: code, Description: e.Description})
	if err != nil { // strings always marshal; kept for the linter's sake
		b = []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// WriteRetry is Write with a Retry-After header of d rounded up to whole seconds (at least 1),
// for 429 and 503 answers.
func WriteRetry(w http.ResponseWriter, status int, d time.Duration, e *oidc.Error) {
	secs := int((d + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	Write(w, status, e)
}

// UnavailableDescription is the only thing a client learns when otpidp cannot answer because
// its database is unreachable.
const UnavailableDescription = "the service is temporarily unavailable; try again later"

// WriteUnavailable answers 503 Service Unavailable with Retry-After (d rounded up, at least one
// second) and the error temporarily_unavailable (RFC 6749 §4.1.2.1, the one OAuth code for
// it), with a fixed description: never the cause, which the logs have. A WWW-Authenticate
// header set for a refusal is removed: a valid token must not read as an invalid one.
func WriteUnavailable(w http.ResponseWriter, d time.Duration) {
	w.Header().Del("WWW-Authenticate")
	WriteRetry(w, http.StatusServiceUnavailable, d, &oidc.Error{ErrorType: "temporarily_unavailable", Description: UnavailableDescription})
}

// WriteInternal answers 500 with server_error and no description: for an internal failure
// whose text (a driver's, a library's) must not reach the client.
func WriteInternal(w http.ResponseWriter) {
	w.Header().Del("WWW-Authenticate")
	Write(w, http.StatusInternalServerError, oidc.ErrServerError())
}
