package ui

import (
	"errors"
	"net/http"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/storage"
)

// staleSignIn sends the browser to sign in again, and reports true, when the session's sign-in
// is older than RecentAuth: new recovery codes, signing out another device and removing an
// app's access need a fresh one (SES-08). After it the user lands on the account page again.
func (u *UI) staleSignIn(w http.ResponseWriter, r *http.Request, s storage.Session) bool {
	if u.cfg.Now().Sub(s.AuthTime) <= u.cfg.RecentAuth {
		return false
	}
	seeOther(w, r, "/login?reauth=1")
	return true
}

// handleChangeName saves the name typed on the account page, checked as at registration.
func (u *UI) handleChangeName(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "account") {
		return
	}
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	typed := r.PostFormValue("name")
	_, err := u.auth.ChangeName(r.Context(), s.UserID, typed)
	if err == nil {
		seeOther(w, r, "/account?done=name")
		return
	}
	var fe *auth.FieldError
	if !errors.As(err, &fe) {
		u.internalError(w, r, err)
		return
	}
	v, verr := u.accountView(r, s)
	if verr != nil {
		u.internalError(w, r, verr)
		return
	}
	v.NameInput = typed
	v.fail(fe.Field, fieldMessage(v.page, fe))
	u.render(w, r, http.StatusBadRequest, "account", v)
}
