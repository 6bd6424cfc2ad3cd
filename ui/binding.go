package ui

import (
	"errors"
	"net/http"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/reqinfo"
)

// A browser gets a new binding-cookie value at every step up (SES-02); the core moves what the
// old value held to the new one (signin.Core.RotateBrowser), the pages set the cookie.

// browserCookieTTL is how long a browser keeps its binding cookie.
const browserCookieTTL = 400 * 24 * time.Hour

// rotateAfterStep gives the browser a new binding value after the step that advanced flowID
// and returns the request with its hash; false when a page was rendered instead (the flow was
// taken over by a concurrent request of the same step).
func (u *UI) rotateAfterStep(w http.ResponseWriter, r *http.Request, flowID string) (*http.Request, bool) {
	value, err := u.core.RotateBrowser(r.Context(), flowID)
	switch {
	case errors.Is(err, authflow.ErrFlowNotFound):
		u.flowGone(w, r)
		return r, false
	case err != nil:
		u.internalError(w, r, err)
		return r, false
	}
	http.SetCookie(w, u.cookie(u.browser, value, browserCookieTTL))
	return r.WithContext(reqinfo.Update(r.Context(), func(i *reqinfo.Info) { i.Browser, i.BrowserHash = value, authflow.HashToken(value) })), true
}
