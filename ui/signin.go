package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/storage"
)

// maxFormBytes bounds every form body: no field is anywhere near this, and a long password is
// refused before it reaches the hash.
const maxFormBytes = 16 << 10

type loginPage struct {
	page
	AuthRequestID string
	Phone         string
	Error         string
}

type registerPage struct {
	page
	AuthRequestID string
	Name, Phone   string
	Error         string
	ErrorField    string
}

type codePage struct {
	page
	FlowID      string
	MaskedPhone string
	ResendIn    int
	BackURL     string
	Error       string
	Notice      string
}

// Messages users see. One wording for an unknown phone and a wrong password (REG-08).
const (
	msgBadCredentials = "That phone number and password don't match an account. Check both and try again."
	msgBadPhone       = "Enter a valid mobile phone number, for example +1 415 555 2671."
	msgBadCode        = "That code isn't right or has expired. Check the latest text we sent and try again."
	msgTooManyTries   = "Too many wrong codes. Ask for a new code below."
	msgUndeliverable  = "We can't send text messages to this number. Use a mobile number that can receive SMS."
	msgSMSUnavailable = "We couldn't send your code right now. Please try again in a minute."
	msgFlowGone       = "This step has expired. Please start again."
)

func (u *UI) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		u.renderError(w, r, http.StatusRequestEntityTooLarge, "That was too much",
			"The form you sent was larger than we accept. Go back and try again.", nil)
		return false
	}
	return true
}

func (u *UI) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	a, client, ok := u.authRequest(w, r, id)
	if !ok {
		return
	}
	if id != "" {
		now := u.cfg.Now()
		s, signedIn := u.currentSession(r)
		if signedIn && sessionSatisfies(s, a, now) {
			u.finish(w, r, id, auth.Result{UserID: s.UserID, AuthTime: s.AuthTime, AMR: s.AMR, AuthRequestID: id})
			return
		}
		for _, p := range a.Prompt {
			if p == "none" {
				http.Redirect(w, r, errorRedirect(a, "login_required", "the user is not signed in", u.cfg.Issuer), http.StatusFound)
				return
			}
		}
	} else if _, signedIn := u.currentSession(r); signedIn {
		seeOther(w, r, "/account")
		return
	}
	u.render(w, r, http.StatusOK, "login", loginPage{
		page: u.base(r, "login", client), AuthRequestID: id, Phone: a.LoginHint,
	})
}

func (u *UI) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !u.parseForm(w, r) {
		return
	}
	if !u.checkCSRF(r, "login") {
		u.forbidden(w, r)
		return
	}
	id := r.PostFormValue("authRequestID")
	_, client, ok := u.authRequest(w, r, id)
	if !ok {
		return
	}
	phoneInput := r.PostFormValue("phone")
	flow, err := u.auth.StartLogin(r.Context(), phoneInput, r.PostFormValue("password"), id, BrowserHash(r.Context()))
	if err != nil {
		msg, status := "", http.StatusBadRequest
		switch {
		case errors.Is(err, auth.ErrInvalidCredentials):
			msg, status = msgBadCredentials, http.StatusUnauthorized
		case errors.Is(err, auth.ErrInvalidPhone):
			msg = msgBadPhone
		case errors.Is(err, auth.ErrSMSUndeliverable):
			msg = msgUndeliverable
		case errors.Is(err, auth.ErrSMSUnavailable):
			msg, status = msgSMSUnavailable, http.StatusServiceUnavailable
		default:
			u.internalError(w, r, err)
			return
		}
		u.render(w, r, status, "login", loginPage{page: u.base(r, "login", client), AuthRequestID: id, Phone: phoneInput, Error: msg})
		return
	}
	seeOther(w, r, "/code?flow="+url.QueryEscape(flow.ID))
}

func (u *UI) handleRegisterPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	a, client, ok := u.authRequest(w, r, id)
	if !ok {
		return
	}
	u.render(w, r, http.StatusOK, "register", registerPage{page: u.base(r, "register", client), AuthRequestID: id, Phone: a.LoginHint})
}

func (u *UI) handleRegister(w http.ResponseWriter, r *http.Request) {
	if !u.parseForm(w, r) {
		return
	}
	if !u.checkCSRF(r, "register") {
		u.forbidden(w, r)
		return
	}
	id := r.PostFormValue("authRequestID")
	_, client, ok := u.authRequest(w, r, id)
	if !ok {
		return
	}
	name, phoneInput := r.PostFormValue("name"), r.PostFormValue("phone")
	flow, err := u.auth.StartRegistration(r.Context(), name, phoneInput, r.PostFormValue("password"), id, BrowserHash(r.Context()))
	if err != nil {
		view := registerPage{page: u.base(r, "register", client), AuthRequestID: id, Name: name, Phone: phoneInput}
		status := http.StatusBadRequest
		var fe *auth.FieldError
		switch {
		case errors.As(err, &fe):
			view.Error, view.ErrorField = fe.Message(), fe.Field
		case errors.Is(err, auth.ErrInvalidPhone):
			view.Error, view.ErrorField = msgBadPhone, "phone"
		case errors.Is(err, auth.ErrSMSUndeliverable):
			view.Error, view.ErrorField = msgUndeliverable, "phone"
		case errors.Is(err, auth.ErrSMSUnavailable):
			view.Error, status = msgSMSUnavailable, http.StatusServiceUnavailable
		default:
			u.internalError(w, r, err)
			return
		}
		u.render(w, r, status, "register", view)
		return
	}
	seeOther(w, r, "/code?flow="+url.QueryEscape(flow.ID))
}

// codeView builds the code page for a flow.
func (u *UI) codeView(r *http.Request, f auth.FlowView) codePage {
	back := "/login"
	if f.Kind == storage.FlowRegister {
		back = "/register"
	}
	if f.AuthRequestID != "" {
		back += "?authRequestID=" + url.QueryEscape(f.AuthRequestID)
	}
	wait := int(f.ResendAt.Sub(u.cfg.Now()).Round(time.Second).Seconds())
	if wait < 0 {
		wait = 0
	}
	client := ""
	if f.AuthRequestID != "" {
		if a, err := u.store.GetAuthRequest(r.Context(), f.AuthRequestID); err == nil {
			if c, err := u.store.GetClient(r.Context(), a.ClientID); err == nil {
				client = c.Name
			}
		}
	}
	return codePage{page: u.base(r, "code", client), FlowID: f.ID, MaskedPhone: f.MaskedPhone, ResendIn: wait, BackURL: back}
}

func (u *UI) flowGone(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusBadRequest, "message", messagePage{
		page: u.base(r, "", ""), Title: "Please start again", Message: msgFlowGone,
		LinkURL: "/login", LinkText: "Sign in",
	})
}

func (u *UI) handleCodePage(w http.ResponseWriter, r *http.Request) {
	f, err := u.auth.Flow(r.Context(), r.URL.Query().Get("flow"), BrowserHash(r.Context()))
	if err != nil {
		if errors.Is(err, auth.ErrFlowNotFound) {
			u.flowGone(w, r)
			return
		}
		u.internalError(w, r, err)
		return
	}
	view := u.codeView(r, f)
	if r.URL.Query().Get("resent") == "1" {
		view.Notice = "We sent you a new code. Only the newest code works."
	}
	u.render(w, r, http.StatusOK, "code", view)
}

func (u *UI) handleCode(w http.ResponseWriter, r *http.Request) {
	if !u.parseForm(w, r) {
		return
	}
	if !u.checkCSRF(r, "code") {
		u.forbidden(w, r)
		return
	}
	browser := BrowserHash(r.Context())
	f, err := u.auth.Flow(r.Context(), r.PostFormValue("flow"), browser)
	if err != nil {
		if errors.Is(err, auth.ErrFlowNotFound) {
			u.flowGone(w, r)
			return
		}
		u.internalError(w, r, err)
		return
	}
	verify := u.auth.VerifyLogin
	if f.Kind == storage.FlowRegister {
		verify = u.auth.VerifyRegistration
	}
	res, err := verify(r.Context(), f.ID, browser, r.PostFormValue("code"))
	if err != nil {
		view := u.codeView(r, f)
		switch {
		case errors.Is(err, auth.ErrInvalidCode):
			view.Error = msgBadCode
		case errors.Is(err, auth.ErrTooManyAttempts):
			view.Error = msgTooManyTries
		case errors.Is(err, auth.ErrSMSUnavailable): // Twilio Verify could not check the code
			view.Error = msgSMSUnavailable
			u.render(w, r, http.StatusServiceUnavailable, "code", view)
			return
		case errors.Is(err, auth.ErrFlowNotFound):
			u.flowGone(w, r)
			return
		default:
			u.internalError(w, r, err)
			return
		}
		u.render(w, r, http.StatusBadRequest, "code", view)
		return
	}
	if err := u.startSession(w, r, res); err != nil {
		u.internalError(w, r, err)
		return
	}
	u.cfg.Logger.InfoContext(r.Context(), "signed in", "user_id", res.UserID, "flow", string(f.Kind))
	u.finish(w, r, res.AuthRequestID, res)
}

func (u *UI) handleResend(w http.ResponseWriter, r *http.Request) {
	if !u.parseForm(w, r) {
		return
	}
	if !u.checkCSRF(r, "code") {
		u.forbidden(w, r)
		return
	}
	id := r.PostFormValue("flow")
	f, err := u.auth.Resend(r.Context(), id, BrowserHash(r.Context()))
	if err == nil {
		seeOther(w, r, "/code?flow="+url.QueryEscape(f.ID)+"&resent=1")
		return
	}
	if errors.Is(err, auth.ErrFlowNotFound) {
		u.flowGone(w, r)
		return
	}
	cur, ferr := u.auth.Flow(r.Context(), id, BrowserHash(r.Context()))
	if ferr != nil {
		u.flowGone(w, r)
		return
	}
	view := u.codeView(r, cur)
	status := http.StatusBadRequest
	var soon *auth.TooSoonError
	switch {
	case errors.As(err, &soon):
		secs := int(soon.RetryAfter.Round(time.Second).Seconds())
		view.Error, view.ResendIn, status = fmt.Sprintf("Please wait %d seconds before asking for a new code.", secs), secs, http.StatusTooManyRequests
		w.Header().Set("Retry-After", fmt.Sprint(secs))
	case errors.Is(err, auth.ErrSMSUndeliverable):
		view.Error = msgUndeliverable
	case errors.Is(err, auth.ErrSMSUnavailable):
		view.Error, status = msgSMSUnavailable, http.StatusServiceUnavailable
	default:
		u.internalError(w, r, err)
		return
	}
	u.render(w, r, status, "code", view)
}

type accountPage struct {
	page
	Name, MaskedPhone         string
	AuthTimeISO, AuthTimeText string
}

func (u *UI) handleAccount(w http.ResponseWriter, r *http.Request) {
	s, ok := u.currentSession(r)
	if !ok {
		seeOther(w, r, "/login")
		return
	}
	usr, err := u.store.GetUser(r.Context(), s.UserID)
	if err != nil {
		u.internalError(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "account", accountPage{
		page: u.base(r, "logout", ""), Name: usr.Name, MaskedPhone: phone.Mask(usr.Phone),
		AuthTimeISO: s.AuthTime.UTC().Format(time.RFC3339), AuthTimeText: s.AuthTime.UTC().Format("2 Jan 2006, 15:04 UTC"),
	})
}

func (u *UI) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !u.parseForm(w, r) {
		return
	}
	if !u.checkCSRF(r, "logout") {
		u.forbidden(w, r)
		return
	}
	if err := u.EndSession(r.Context(), ""); err != nil {
		u.internalError(w, r, err)
		return
	}
	http.SetCookie(w, u.cookie(u.session, "", -time.Second))
	w.Header().Set("Clear-Site-Data", `"cookies"`)
	seeOther(w, r, "/logged-out")
}

func (u *UI) handleLoggedOut(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "message", messagePage{
		page: u.base(r, "", ""), Title: "You are signed out",
		Message: "You have signed out of " + u.cfg.ProductName + ". You can close this page.",
		LinkURL: "/login", LinkText: "Sign in again",
	})
}
