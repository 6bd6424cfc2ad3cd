package ui

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// A browser gets a new binding-cookie value at every step up (SES-02): after the password step
// (a sign-in or registration now has a flow waiting for its code), after the code (the browser
// is signed in) and after a reset's codes (the flow may now set a password). Everything the old
// value held, flows and authorization requests, is re-bound to the new one in one conditional
// update, so a value copied or planted before the step gets nothing afterwards: not the code
// page, not the callback to the app, not the new-password page. The session cookie is separate
// and new after every sign-in (startSession).

// browserCookieTTL is how long a browser keeps its binding cookie.
const browserCookieTTL = 400 * 24 * time.Hour

// rotateBrowser gives the browser a new binding value and re-binds to it what the old value
// held. flowID, when set, must still be bound to the old value: of two concurrent steps of one
// flow only one re-binds it (storage.ErrConflict for the other). It returns the request with
// the new value in its context.
func (u *UI) rotateBrowser(w http.ResponseWriter, r *http.Request, flowID string) (*http.Request, error) {
	value := newToken()
	if err := u.store.RebindBrowser(r.Context(), BrowserHash(r.Context()), hashToken(value), flowID); err != nil {
		return r, err
	}
	http.SetCookie(w, u.cookie(u.browser, value, browserCookieTTL))
	return r.WithContext(context.WithValue(r.Context(), browserKey, value)), nil
}

// rotateAfterStep rotates the binding after the step that advanced flowID; false when a page
// was rendered instead (the flow was taken over by a concurrent request of the same step).
func (u *UI) rotateAfterStep(w http.ResponseWriter, r *http.Request, flowID string) (*http.Request, bool) {
	r2, err := u.rotateBrowser(w, r, flowID)
	switch {
	case err == nil:
		return r2, true
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrNotFound):
		u.flowGone(w, r)
	default:
		u.internalError(w, r, err)
	}
	return r, false
}
