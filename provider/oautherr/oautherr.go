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
