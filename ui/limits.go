package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

// limitMessage maps the authentication core's abuse-limit refusals to what the page says and
// its status; for a rate limit it sets Retry-After and says how long to wait. ok is false for
// any other error.
func limitMessage(w http.ResponseWriter, err error) (msg string, status int, ok bool) {
	var le *auth.LimitError
	switch {
	case errors.As(err, &le):
		secs := int((le.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		wait := "Please try again in " + waitText(le.RetryAfter) + "."
		switch le.Scope {
		case auth.ScopeLoginIP, auth.ScopeLoginGlobal:
			msg = "Too many sign-in attempts failed lately. " + wait
		case auth.ScopeSMSPhone:
			msg = "We have sent as many codes to this number as we can for now. " + wait
		case auth.ScopeSMSBudget:
			msg = "We can't send new codes for registrations right now. " + wait + " If you already have an account, you can still sign in."
		default:
			msg = "Too many codes were asked for lately. " + wait
		}
		return msg, http.StatusTooManyRequests, true
	case errors.Is(err, auth.ErrSMSPaused):
		return "We can't send text messages right now. Please try again later.", http.StatusServiceUnavailable, true
	case errors.Is(err, auth.ErrSMSFactorDisabled):
		return "Sign-in by text message is blocked for this account after too many wrong codes. Use a recovery code or contact support to unblock it.", http.StatusForbidden, true
	case errors.Is(err, auth.ErrSMSCountryNotAllowed):
		return "We can't send text messages to numbers in this country. Use a mobile number from a country we serve.", http.StatusBadRequest, true
	}
	return "", 0, false
}

// waitText says a wait in words, rounded up: "45 seconds", "1 minute", "14 minutes", "2 hours".
func waitText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return plural(int((d+time.Second-1)/time.Second), "second")
	case d < 2*time.Hour:
		return plural(int((d+time.Minute-1)/time.Minute), "minute")
	}
	return plural(int((d+time.Hour-1)/time.Hour), "hour")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
