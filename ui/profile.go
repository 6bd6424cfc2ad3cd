package ui

import (
	"errors"
	"net/http"

	"github.com/otpidp/otpidp/provider/authflow"
)

// accountError answers an account change the core refused, and reports true: a sign-in older
// than the core's RecentAuth sends the browser to sign in again (new recovery codes, signing
// out another device and removing an app's access need a fresh one, SES-08), after which the
// user lands on the account page again. False when there was no error.
func (u *UI) accountError(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, authflow.ErrStaleSignIn):
		seeOther(w, r, "/login?reauth=1")
	default:
		u.internalError(w, r, err)
	}
	return true
}

// ChangeName saves the name typed on the account page, checked as at registration.
func (u *UI) ChangeName(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "account") {
		return
	}
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	typed := r.PostFormValue("name")
	err := u.core.ChangeName(r.Context(), s.UserID, typed)
	if err == nil {
		u.accepted(w, r, nil)
		seeOther(w, r, "/account?done=name")
		return
	}
	p := u.base(r, "account", nil)
	status, ok := startErrors(w, &p, err)
	if !ok {
		u.internalError(w, r, err)
		return
	}
	u.refuse(w, r, "/account#name-h", "account-name", "", p, status, map[string]string{"account_name": typed})
}
