package ui

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
)

// limitMessage maps the authentication core's abuse-limit refusals to what the page says, in
// the page's language, and its status; for a rate limit it sets Retry-After and says how long
// to wait. ok is false for any other error.
func limitMessage(w http.ResponseWriter, p page, err error) (msg string, status int, ok bool) {
	var le *authflow.LimitError
	switch {
	case errors.As(err, &le):
		secs := int((le.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		wait := waitText(p, le.RetryAfter)
		switch le.Scope {
		case authflow.ScopeLoginIP, authflow.ScopeLoginGlobal:
			msg = p.T("limit.login", wait)
		case authflow.ScopeSMSPhone:
			msg = p.T("limit.sms_phone", wait)
		case authflow.ScopeSMSBudget:
			msg = p.T("limit.sms_budget", wait)
		case authflow.ScopeRecovery:
			msg = p.T("limit.recovery", wait)
		case authflow.ScopeDeviceCode:
			msg = p.T("limit.device", wait)
		default:
			msg = p.T("limit.sms", wait)
		}
		return msg, http.StatusTooManyRequests, true
	case errors.Is(err, authflow.ErrSMSPaused):
		return p.T("limit.sms_paused"), http.StatusServiceUnavailable, true
	case errors.Is(err, authflow.ErrSMSFactorDisabled):
		return p.T("limit.sms_factor_disabled"), http.StatusForbidden, true
	case errors.Is(err, authflow.ErrSMSCountryNotAllowed):
		if p.Served != "" {
			return p.T("limit.sms_country_list", p.Served), http.StatusBadRequest, true
		}
		return p.T("limit.sms_country"), http.StatusBadRequest, true
	}
	return "", 0, false
}

// waitText says a wait in words, rounded up: "45 seconds", "1 minute", "14 minutes", "2 hours".
func waitText(p page, d time.Duration) string {
	n, unit := 0, ""
	switch {
	case d < time.Minute:
		n, unit = int((d+time.Second-1)/time.Second), "second"
	case d < 2*time.Hour:
		n, unit = int((d+time.Minute-1)/time.Minute), "minute"
	default:
		n, unit = int((d+time.Hour-1)/time.Hour), "hour"
	}
	if n == 1 {
		return p.T("wait.one_" + unit)
	}
	return p.T("wait."+unit+"s", n)
}
