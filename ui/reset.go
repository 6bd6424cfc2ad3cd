package ui

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
)

// Forgot password: /forgot (the phone number) → /forgot/verify (the SMS code and a recovery
// code) → /forgot/password (the new password, twice) → /login?reset=1. Every form posts with
// the "reset" CSRF purpose; codes travel only in POST bodies (RST-11).

type forgotPage struct {
	page
	AuthRequestID string
	Phone         string
	Recovery      bool
}

type newPasswordPage struct {
	page
	FlowID string
}

func (u *UI) ForgotPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	a, ok := u.authRequest(w, r, id)
	if !ok {
		return
	}
	view := forgotPage{page: u.base(r, "reset", a), AuthRequestID: id, Recovery: u.core.ResetNeedsRecoveryCode()}
	st := u.loadForm(r)
	status := view.shown(w, st, "forgot", id)
	view.Phone = st.Values["phone"]
	if a != nil && a.LoginHint != "" && view.Phone == "" {
		view.Phone = a.LoginHint
	}
	if view.Focus == "" {
		view.Focus = "phone"
	}
	u.render(w, r, status, "forgot", view)
}

func (u *UI) Forgot(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "reset") {
		return
	}
	id := r.PostFormValue("authRequestID")
	a, ok := u.authRequest(w, r, id)
	if !ok {
		return
	}
	phoneInput := r.PostFormValue("phone")
	kept := map[string]string{"phone": phoneInput}
	f, err := u.core.StartReset(r.Context(), u.lang(r, a), phoneInput, id)
	if err != nil {
		view := forgotPage{page: u.base(r, "reset", a), AuthRequestID: id}
		// The SMS limits apply to a number with or without an account alike.
		status, ok := startErrors(w, &view.page, err)
		if !ok {
			u.internalError(w, r, err)
			return
		}
		u.refuse(w, r, withAuthRequest("/forgot", id), "forgot", id, view.page, status, kept)
		return
	}
	u.accepted(w, r, kept)
	seeOther(w, r, "/forgot/verify?flow="+url.QueryEscape(f.ID))
}

func (u *UI) VerifyPage(w http.ResponseWriter, r *http.Request) {
	f, ok := u.flowPage(w, r, r.URL.Query().Get("flow"), authflow.FlowReset)
	if !ok {
		return
	}
	view := u.codeView(r, f)
	st := u.loadForm(r)
	status := view.shown(w, st, "verify", f.ID)
	if view.Recovery && st.Secret != nil && st.Secret.Flow == f.ID {
		// The texted code was right: only the recovery code is asked for again.
		view.CodeKept = true
		if view.Focus == "" || view.Focus == "code" {
			view.Focus = "recovery_code"
		}
	}
	if r.URL.Query().Get("resent") == "1" && status == http.StatusOK {
		view.Notice = view.T("notice.resent")
	}
	u.render(w, r, status, "verify", view)
}

func (u *UI) Verify(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "reset") {
		return
	}
	id, code := r.PostFormValue("flow"), r.PostFormValue("code")
	if st := u.loadForm(r); code == "" && st.Secret != nil && st.Secret.Flow == id {
		code = st.Secret.Code // the texted code found right before, kept sealed (formstate.go)
	}
	f, err := u.core.VerifyReset(r.Context(), id, code, r.PostFormValue("recovery_code"))
	if err != nil {
		key := "err.bad_code"
		if u.core.ResetNeedsRecoveryCode() {
			key = "err.reset_codes"
		}
		u.codeError(w, r, f, "code", key, err, &keptSecret{Flow: f.ID, Code: code})
		return
	}
	u.accepted(w, r, nil)
	if _, ok := u.rotateAfterStep(w, r, f.ID); !ok { // binding.go
		return
	}
	seeOther(w, r, "/forgot/password?flow="+url.QueryEscape(f.ID))
}

// resetReady loads a verified reset flow; ok is false when a page was rendered instead.
func (u *UI) resetReady(w http.ResponseWriter, r *http.Request, id string) (authflow.FlowView, bool) {
	f, err := u.core.ResetReady(r.Context(), id)
	if err == nil {
		return f, true
	}
	if errors.Is(err, authflow.ErrFlowNotFound) {
		u.flowGone(w, r)
	} else {
		u.internalError(w, r, err)
	}
	return f, false
}

func (u *UI) NewPasswordPage(w http.ResponseWriter, r *http.Request) {
	f, ok := u.resetReady(w, r, r.URL.Query().Get("flow"))
	if !ok {
		return
	}
	view := newPasswordPage{page: u.base(r, "reset", u.authRequestOf(r, f.AuthRequestID)), FlowID: f.ID}
	view.NewPass = true
	status := view.shown(w, u.loadForm(r), "newpw", f.ID)
	if view.Focus == "" {
		view.Focus = "password"
	}
	u.render(w, r, status, "newpw", view)
}

func (u *UI) NewPassword(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "reset") {
		return
	}
	f, ok := u.resetReady(w, r, r.PostFormValue("flow"))
	if !ok {
		return
	}
	authRequestID, err := u.core.CompleteReset(r.Context(), u.lang(r, u.authRequestOf(r, f.AuthRequestID)), f.ID,
		r.PostFormValue("password"), r.PostFormValue("password_confirm"))
	if err != nil {
		view := newPasswordPage{page: u.base(r, "reset", u.authRequestOf(r, f.AuthRequestID)), FlowID: f.ID}
		status, ok := startErrors(w, &view.page, err)
		switch {
		case errors.Is(err, authflow.ErrFlowNotFound):
			u.flowGone(w, r)
		case !ok:
			u.internalError(w, r, err)
		default:
			u.refuse(w, r, "/forgot/password?flow="+url.QueryEscape(f.ID), "newpw", f.ID, view.page, status, nil)
		}
		return
	}
	// Every session of the account has ended, this browser's too: never an automatic sign-in.
	// The phone number typed at the start of the reset stays for the sign-in.
	u.accepted(w, r, nil)
	http.SetCookie(w, u.cookie(u.session, "", -time.Second))
	target := "/login?reset=1"
	if authRequestID != "" {
		target += "&authRequestID=" + url.QueryEscape(authRequestID)
	}
	seeOther(w, r, target)
}
