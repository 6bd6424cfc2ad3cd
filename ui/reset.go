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
	view.Focus = "phone"
	if a != nil {
		view.Phone = a.LoginHint
	}
	u.render(w, r, http.StatusOK, "forgot", view)
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
	f, err := u.core.StartReset(r.Context(), u.lang(r, a), phoneInput, id)
	if err != nil {
		view := forgotPage{page: u.base(r, "reset", a), AuthRequestID: id, Phone: phoneInput, Recovery: u.core.ResetNeedsRecoveryCode()}
		status := http.StatusBadRequest
		msg, limitStatus, limited := limitMessage(w, view.page, err)
		switch {
		case limited: // the SMS limits, for a number with or without an account alike
			view.FormError, status = msg, limitStatus
			if errors.Is(err, authflow.ErrSMSCountryNotAllowed) {
				view.fail("phone", msg)
			}
		case errors.Is(err, authflow.ErrInvalidPhone):
			view.fail("phone", view.T("err.bad_phone"))
		case errors.Is(err, authflow.ErrSMSUndeliverable):
			view.fail("phone", view.T("err.undeliverable"))
		case errors.Is(err, authflow.ErrSMSUnavailable):
			view.FormError, status = view.T("err.sms_unavailable"), http.StatusServiceUnavailable
		default:
			u.internalError(w, r, err)
			return
		}
		u.render(w, r, status, "forgot", view)
		return
	}
	seeOther(w, r, "/forgot/verify?flow="+url.QueryEscape(f.ID))
}

func (u *UI) VerifyPage(w http.ResponseWriter, r *http.Request) {
	f, ok := u.flowPage(w, r, r.URL.Query().Get("flow"), authflow.FlowReset)
	if !ok {
		return
	}
	view := u.codeView(r, f)
	if r.URL.Query().Get("resent") == "1" {
		view.Notice = view.T("notice.resent")
	}
	u.render(w, r, http.StatusOK, "verify", view)
}

func (u *UI) Verify(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "reset") {
		return
	}
	f, err := u.core.VerifyReset(r.Context(), r.PostFormValue("flow"), r.PostFormValue("code"), r.PostFormValue("recovery_code"))
	if err != nil {
		key := "err.bad_code"
		if u.core.ResetNeedsRecoveryCode() {
			key = "err.reset_codes"
		}
		u.codeError(w, r, f, "code", key, err)
		return
	}
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
	view.Focus = "password"
	u.render(w, r, http.StatusOK, "newpw", view)
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
		var fe *authflow.FieldError
		if !errors.As(err, &fe) {
			if errors.Is(err, authflow.ErrFlowNotFound) {
				u.flowGone(w, r)
				return
			}
			u.internalError(w, r, err)
			return
		}
		view := newPasswordPage{page: u.base(r, "reset", u.authRequestOf(r, f.AuthRequestID)), FlowID: f.ID}
		view.fail(fe.Field, fieldMessage(view.page, fe))
		u.render(w, r, http.StatusBadRequest, "newpw", view)
		return
	}
	// Every session of the account has ended, this browser's too: never an automatic sign-in.
	http.SetCookie(w, u.cookie(u.session, "", -time.Second))
	target := "/login?reset=1"
	if authRequestID != "" {
		target += "&authRequestID=" + url.QueryEscape(authRequestID)
	}
	seeOther(w, r, target)
}
