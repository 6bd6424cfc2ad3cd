package ui

import (
	"net/http"
	"strconv"
	"time"
)

// UnavailablePage answers 503 with the "we'll be right back" page, in the request's language,
// and Retry-After: what a page answers while the database is unreachable (the server decides
// when, see cmd/otpidp). It says nothing about the cause and logs nothing: the store call that
// failed is logged where it failed.
func (u *UI) UnavailablePage(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
	u.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((retryAfter+time.Second-1)/time.Second))))
		u.renderMessage(w, r, http.StatusServiceUnavailable, "err.unavailable.title", "err.unavailable.text", nil)
	})).ServeHTTP(w, r)
}
