package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/provider/reqinfo"
)

// maxFormBytes bounds every form body: no field is anywhere near this, and a long password is
// refused before it reaches the hash.
const maxFormBytes = 16 << 10

type loginPage struct {
	page
	AuthRequestID string
	Phone         string
	Reauth        bool   // a sign-in again of the signed-in person: the phone is theirs
	MaskedPhone   string // the signed-in person's number, shown on the sign-in again page
}

type registerPage struct {
	page
	AuthRequestID string
	Name, Phone   string
}

type codePage struct {
	page
	FlowID      string
	Kind        authflow.FlowKind
	MaskedPhone string
	ResendIn    int
	BackURL     string
	Action      string // where the code is posted: /code or /forgot/verify
	Resend      string // where a new code is asked for
	Recovery    bool   // the reset also asks for a recovery code
	CodeKept    bool   // the reset's texted code was right and is kept: only the recovery code is asked for
	Blocked     bool   // texted codes are blocked for the account: only a recovery code can finish
	TextNotSent bool   // no code was texted for this sign-in: the notice says so
}

func (u *UI) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		u.renderError(w, r, http.StatusRequestEntityTooLarge, "err.too_large", nil)
		return false
	}
	return true
}

// postForm parses a POST form and checks its CSRF token for purpose; false when a page was
// rendered instead.
func (u *UI) postForm(w http.ResponseWriter, r *http.Request, purpose string) bool {
	if !u.parseForm(w, r) {
		return false
	}
	if !u.checkCSRF(r, purpose) {
		u.forbidden(w, r)
		return false
	}
	return true
}

func withAuthRequest(path, id string) string {
	if id == "" {
		return path
	}
	return path + "?authRequestID=" + url.QueryEscape(id)
}

func (u *UI) LoginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("authRequestID")
	reauth := q.Get("reauth") == "1"
	var a *authflow.AuthRequest
	s, signedIn := u.core.Session(r.Context())
	if id != "" {
		step, err := u.core.ResumeAuthRequest(r.Context(), id)
		switch {
		case u.requestError(w, r, err):
			return
		case step == authflow.StepContinue: // this browser's session answers the request
			seeOther(w, r, u.callback(r.Context(), id))
			return
		case step == authflow.StepLoginRequired:
			// The provider answers login_required, in the request's response mode.
			http.Redirect(w, r, u.callback(r.Context(), id), http.StatusFound)
			return
		}
		a = u.authRequestOf(r, id)
	} else if signedIn && !reauth {
		seeOther(w, r, "/account")
		return
	}
	view := loginPage{page: u.base(r, "login", a), AuthRequestID: id}
	st := u.loadForm(r)
	form := "login"
	if reauth {
		form = "reauth"
	}
	status := view.shown(w, st, form, id)
	view.Phone = st.Values["phone"]
	if a != nil && a.LoginHint != "" {
		view.Phone = a.LoginHint
	}
	if reauth && signedIn && id == "" {
		// The sign-in again page is the signed-in person's: their number, no new account.
		acct, err := u.core.Account(r.Context(), s)
		if err != nil {
			u.internalError(w, r, err)
			return
		}
		view.Reauth, view.Phone, view.MaskedPhone = true, acct.Phone, acct.MaskedPhone
	}
	if view.Focus == "" {
		view.Focus = "phone"
		if view.Phone != "" {
			view.Focus = "password"
		}
	}
	switch {
	case q.Get("reset") == "1":
		view.Notice = view.T("notice.reset")
	case reauth:
		view.Notice = view.T("login.reauth")
	}
	u.render(w, r, status, "login", view)
}

func (u *UI) Login(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "login") {
		return
	}
	id := r.PostFormValue("authRequestID")
	form, back := "login", withAuthRequest("/login", id)
	if r.PostFormValue("reauth") == "1" && id == "" {
		form, back = "reauth", "/login?reauth=1"
	}
	a, ok := u.authRequest(w, r, id)
	if !ok {
		return
	}
	phoneInput := r.PostFormValue("phone")
	kept := map[string]string{"phone": phoneInput}
	flow, err := u.core.StartLogin(r.Context(), u.lang(r, a), phoneInput, r.PostFormValue("password"), id)
	if errors.Is(err, authflow.ErrSMSFactorDisabled) && flow.ID != "" {
		// The password is right but texted codes are blocked: only a recovery code can finish.
		// A password step like any other: the binding gets a new value (SES-02).
		u.endBrowserSession(w, r)
		u.accepted(w, r, kept)
		if _, ok := u.rotateAfterStep(w, r, flow.ID); !ok { // binding.go
			return
		}
		seeOther(w, r, "/code/recovery?blocked=1&flow="+url.QueryEscape(flow.ID))
		return
	}
	if err != nil {
		view := loginPage{page: u.base(r, "login", a), AuthRequestID: id, Phone: phoneInput}
		status := http.StatusBadRequest
		msg, limitStatus, limited := limitMessage(w, view.page, err)
		switch {
		case limited:
			view.FormError, status = msg, limitStatus
		case errors.Is(err, authflow.ErrInvalidCredentials):
			view.FormError, view.Focus, status = view.T("err.bad_credentials"), "phone", http.StatusUnauthorized
			view.ErrorFor = []string{"phone", "password"}
		case errors.Is(err, authflow.ErrInvalidPhone):
			view.fail("phone", view.T("err.bad_phone", view.Example))
		case errors.Is(err, authflow.ErrSMSUndeliverable):
			view.fail("phone", view.T("err.undeliverable"))
		case errors.Is(err, authflow.ErrSMSUnavailable):
			view.FormError, status = view.T("err.sms_unavailable"), http.StatusServiceUnavailable
		default:
			u.internalError(w, r, err)
			return
		}
		u.refuse(w, r, back, form, id, view.page, status, kept)
		return
	}
	u.accepted(w, r, kept)
	// The password step succeeded: whatever session this browser had ends now, so that a
	// half-finished sign-in leaves no signed-in session behind (SES-02, SES-03). The next session
	// is created, with a new value, only after the code.
	u.endBrowserSession(w, r)
	if _, ok := u.rotateAfterStep(w, r, flow.ID); !ok { // binding.go
		return
	}
	seeOther(w, r, "/code?flow="+url.QueryEscape(flow.ID))
}

// endBrowserSession deletes the request's session, if any, and clears its cookie.
func (u *UI) endBrowserSession(w http.ResponseWriter, r *http.Request) {
	if reqinfo.From(r.Context()).SessionHash == nil {
		return
	}
	if err := u.core.EndSession(r.Context()); err != nil {
		u.cfg.Logger.WarnContext(r.Context(), "end session", "error", err)
	}
	http.SetCookie(w, u.cookie(u.session, "", -time.Second))
}

func (u *UI) RegisterPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	a, ok := u.authRequest(w, r, id)
	if !ok {
		return
	}
	view := registerPage{page: u.base(r, "register", a), AuthRequestID: id}
	st := u.loadForm(r)
	status := view.shown(w, st, "register", id)
	view.Name, view.Phone = st.Values["name"], st.Values["phone"]
	if a != nil && a.LoginHint != "" && view.Phone == "" {
		view.Phone = a.LoginHint
	}
	if view.Focus == "" {
		view.Focus = "name"
	}
	u.render(w, r, status, "register", view)
}

// startErrors puts on p the messages of a refused first step (sign-in, registration, reset):
// every refused field of a joined error at once. ok is false for an error no page explains.
func startErrors(w http.ResponseWriter, p *page, err error) (status int, ok bool) {
	status = http.StatusBadRequest
	parts := []error{err}
	if j, isJoin := err.(interface{ Unwrap() []error }); isJoin {
		parts = j.Unwrap()
	}
	for _, e := range parts {
		var fe *authflow.FieldError
		msg, limitStatus, limited := limitMessage(w, *p, e)
		switch {
		case limited && errors.Is(e, authflow.ErrSMSCountryNotAllowed):
			p.fail("phone", msg) // beside the field only: never twice
		case limited:
			p.FormError, status = msg, limitStatus
		case errors.As(e, &fe):
			p.fail(fe.Field, fieldMessage(*p, fe))
		case errors.Is(e, authflow.ErrInvalidPhone):
			p.fail("phone", p.T("err.bad_phone", p.Example))
		case errors.Is(e, authflow.ErrSMSUndeliverable):
			p.fail("phone", p.T("err.undeliverable"))
		case errors.Is(e, authflow.ErrSMSUnavailable):
			p.FormError, status = p.T("err.sms_unavailable"), http.StatusServiceUnavailable
		default:
			if len(parts) == 1 {
				return 0, false
			}
			// A part of a wrapped error that says nothing more (the phone library's reason).
		}
	}
	if len(p.errs) == 0 && p.FormError == "" {
		return 0, false
	}
	return status, true
}

// fieldMessage is the page's message for a refused field.
func fieldMessage(p page, fe *authflow.FieldError) string {
	key := "err." + fe.Field + "." + string(fe.Reason)
	switch fe.Reason {
	case authflow.ReasonControlCharacters, authflow.ReasonInvalidEncoding:
		key = "err." + fe.Field + ".bad_chars"
	case authflow.ReasonContainsPhone:
		key = "err.password.is_phone"
	}
	if fe.Field == authflow.FieldPasswordConfirm || fe.Field == authflow.FieldCurrentPassword {
		key = "err.password." + string(fe.Reason)
	}
	var args []any
	switch key {
	case "err.name.too_long":
		args = []any{authflow.MaxNameLength}
	case "err.password.too_short":
		args = []any{authflow.MinPasswordLength}
	case "err.password.too_long":
		args = []any{authflow.MaxPasswordLength}
	}
	if _, ok := english[key]; !ok {
		// A reason this catalog does not know yet: the authenticator's own English sentence.
		return fe.Message()
	}
	return p.T(key, args...)
}

func (u *UI) Register(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "register") {
		return
	}
	id := r.PostFormValue("authRequestID")
	a, ok := u.authRequest(w, r, id)
	if !ok {
		return
	}
	name, phoneInput := r.PostFormValue("name"), r.PostFormValue("phone")
	kept := map[string]string{"name": name, "phone": phoneInput}
	flow, err := u.core.StartRegistration(r.Context(), u.lang(r, a), name, phoneInput, r.PostFormValue("password"), id)
	if err != nil {
		view := registerPage{page: u.base(r, "register", a), AuthRequestID: id}
		status, ok := startErrors(w, &view.page, err)
		if !ok {
			u.internalError(w, r, err)
			return
		}
		u.refuse(w, r, withAuthRequest("/register", id), "register", id, view.page, status, kept)
		return
	}
	u.accepted(w, r, kept)
	if _, ok := u.rotateAfterStep(w, r, flow.ID); !ok { // binding.go
		return
	}
	seeOther(w, r, "/code?flow="+url.QueryEscape(flow.ID))
}

// codeView builds the code page for a flow (a login or registration at /code, a reset at
// /forgot/verify).
func (u *UI) codeView(r *http.Request, f authflow.FlowView) codePage {
	a := u.authRequestOf(r, f.AuthRequestID)
	v := codePage{FlowID: f.ID, Kind: f.Kind, MaskedPhone: f.MaskedPhone, Action: "/code", Resend: "/code/resend"}
	purpose := "code"
	switch f.Kind {
	case authflow.FlowRegister:
		v.BackURL = withAuthRequest("/register", f.AuthRequestID)
	case authflow.FlowReset:
		v.BackURL = withAuthRequest("/forgot", f.AuthRequestID)
		v.Action, v.Resend, v.Recovery, purpose = "/forgot/verify", "/forgot/resend", u.core.ResetNeedsRecoveryCode(), "reset"
	default:
		v.BackURL = withAuthRequest("/login", f.AuthRequestID)
	}
	v.page = u.base(r, purpose, a)
	v.Focus = "code"
	v.ResendIn = max(int(f.ResendAt.Sub(u.cfg.Now()).Round(time.Second).Seconds()), 0)
	if f.TextNotSent {
		v.TextNotSent, v.Notice = true, v.T("notice.text_not_sent")
	}
	return v
}

// flowGone says that the step's flow is over: expired, finished, or started in another
// browser; for a signed-in browser that it is done.
func (u *UI) flowGone(w http.ResponseWriter, r *http.Request) {
	p := u.base(r, "", nil)
	if _, signedIn := u.core.Session(r.Context()); signedIn {
		u.showMessage(w, r, http.StatusBadRequest, messagePage{
			page: p, Title: p.T("err.flow_done.title"), Message: p.T("err.flow_done.text"),
			LinkURL: "/account", LinkText: p.T("link.account"),
		})
		return
	}
	u.showMessage(w, r, http.StatusBadRequest, messagePage{
		page: p, Title: p.T("err.flow_gone.title"), Message: p.T("err.flow_gone.text"),
		LinkURL: "/login", LinkText: p.T("link.start_again"),
	})
}

// flowPage loads the flow of a GET page's ?flow=, of one of kinds; ok is false when a page was
// rendered instead.
func (u *UI) flowPage(w http.ResponseWriter, r *http.Request, id string, kinds ...authflow.FlowKind) (authflow.FlowView, bool) {
	f, err := u.core.Flow(r.Context(), id, kinds...)
	switch {
	case err == nil:
		return f, true
	case errors.Is(err, authflow.ErrFlowNotFound):
		u.flowGone(w, r)
	default:
		u.internalError(w, r, err)
	}
	return f, false
}

func (u *UI) CodePage(w http.ResponseWriter, r *http.Request) {
	f, ok := u.flowPage(w, r, r.URL.Query().Get("flow"), authflow.FlowLogin, authflow.FlowRegister)
	if !ok {
		return
	}
	view := u.codeView(r, f)
	status := view.shown(w, u.loadForm(r), "code", f.ID)
	if r.URL.Query().Get("resent") == "1" && status == http.StatusOK {
		view.Notice = view.T("notice.resent")
	}
	u.render(w, r, status, "code", view)
}

// codeError keeps the error of a refused code for the page that asks for it again (the code,
// recovery or reset page of the flow) and sends the browser there. keep, when not nil, is a
// reset's texted code that was right.
func (u *UI) codeError(w http.ResponseWriter, r *http.Request, f authflow.FlowView, field, badKey string, err error, keep *keptSecret) {
	if errors.Is(err, authflow.ErrFlowNotFound) || f.ID == "" {
		u.flowGone(w, r)
		return
	}
	view := u.codeView(r, f)
	view.Focus = ""
	status := http.StatusBadRequest
	msg, limitStatus, limited := limitMessage(w, view.page, err)
	switch {
	case limited:
		view.FormError, status = msg, limitStatus
	case keep != nil && errors.Is(err, authflow.ErrWrongRecoveryCode):
		view.fail("recovery_code", view.T("err.bad_recovery"))
	case errors.Is(err, authflow.ErrInvalidCode):
		view.fail(field, view.T(badKey))
	case errors.Is(err, authflow.ErrPhoneRegistered): // proved the number: it has an account
		view.FormError, view.Focus = view.T("err.phone_registered"), ""
	case errors.Is(err, authflow.ErrTooManyAttempts):
		view.FormError = view.T("err.too_many_tries")
	case errors.Is(err, authflow.ErrSMSUnavailable): // Twilio Verify could not check the code
		view.FormError, status = view.T("err.sms_unavailable"), http.StatusServiceUnavailable
	default:
		u.internalError(w, r, err)
		return
	}
	form, target := "code", "/code?flow="+url.QueryEscape(f.ID)
	switch {
	case f.Kind == authflow.FlowReset:
		form, target = "verify", "/forgot/verify?flow="+url.QueryEscape(f.ID)
	case field == "recovery_code":
		form, target = "recovery", "/code/recovery?flow="+url.QueryEscape(f.ID)
	}
	u.refuse(w, r, target, form, f.ID, view.page, status, nil, func(st *formState) {
		st.Secret = nil
		if keep != nil && errors.Is(err, authflow.ErrWrongRecoveryCode) {
			st.Secret = keep
		}
	})
}

func (u *UI) Code(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "code") {
		return
	}
	f, res, err := u.core.VerifyCode(r.Context(), r.PostFormValue("flow"), r.PostFormValue("code"))
	if err != nil {
		u.codeError(w, r, f, "code", "err.bad_code", err, nil)
		return
	}
	u.accepted(w, r, nil)
	r, ok := u.rotateAfterStep(w, r, "") // binding.go
	if !ok {
		return
	}
	s, err := u.startSession(w, r, res)
	if err != nil {
		u.internalError(w, r, err)
		return
	}
	u.cfg.Logger.InfoContext(r.Context(), "signed in", "user_id", res.UserID, "flow", string(f.Kind))
	if f.Kind == authflow.FlowRegister {
		// A new account gets its recovery codes now, shown once on the next page.
		codes, err := u.core.RecoveryCodes(r.Context(), s.UserID)
		if err == nil {
			err = u.revealCodes(w, s, codes)
		}
		if err != nil {
			u.internalError(w, r, err)
			return
		}
		seeOther(w, r, withAuthRequest("/recovery-codes", res.AuthRequestID))
		return
	}
	u.finish(w, r, res.AuthRequestID, res)
}

func (u *UI) Resend(w http.ResponseWriter, r *http.Request) {
	if !u.parseForm(w, r) {
		return
	}
	purpose, form, again := "code", "code", "/code?flow="
	if r.URL.Path == "/forgot/resend" {
		purpose, form, again = "reset", "verify", "/forgot/verify?flow="
	}
	if !u.checkCSRF(r, purpose) {
		u.forbidden(w, r)
		return
	}
	id := r.PostFormValue("flow")
	kinds := []authflow.FlowKind{authflow.FlowLogin, authflow.FlowRegister}
	if form == "verify" {
		kinds = []authflow.FlowKind{authflow.FlowReset}
	}
	cur, err := u.core.Flow(r.Context(), id, kinds...)
	if err != nil {
		u.flowGone(w, r)
		return
	}
	f, err := u.core.Resend(r.Context(), u.lang(r, u.authRequestOf(r, cur.AuthRequestID)), id)
	if err == nil {
		u.accepted(w, r, nil) // a kept texted code is the old one: forget it
		seeOther(w, r, again+url.QueryEscape(f.ID)+"&resent=1")
		return
	}
	if errors.Is(err, authflow.ErrFlowNotFound) {
		u.flowGone(w, r)
		return
	}
	view := u.codeView(r, cur)
	view.Focus = ""
	status := http.StatusBadRequest
	var soon *authflow.TooSoonError
	msg, limitStatus, limited := limitMessage(w, view.page, err)
	switch {
	case limited:
		view.FormError, status = msg, limitStatus
	case errors.As(err, &soon):
		secs := int(soon.RetryAfter.Round(time.Second).Seconds())
		view.FormError, status = view.T("err.resend_wait", secs), http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	case errors.Is(err, authflow.ErrSMSUndeliverable):
		view.FormError = view.T("err.undeliverable")
	case errors.Is(err, authflow.ErrSMSUnavailable):
		view.FormError, status = view.T("err.sms_unavailable"), http.StatusServiceUnavailable
	default:
		u.internalError(w, r, err)
		return
	}
	u.refuse(w, r, again+url.QueryEscape(cur.ID), form, cur.ID, view.page, status, nil)
}

func (u *UI) Logout(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "logout") {
		return
	}
	if err := u.core.EndSession(r.Context()); err != nil {
		u.internalError(w, r, err)
		return
	}
	http.SetCookie(w, u.cookie(u.session, "", -time.Second))
	http.SetCookie(w, u.cookie(u.reveal, "", -time.Second))
	u.clearForm(w)
	w.Header().Set("Clear-Site-Data", `"cookies"`)
	seeOther(w, r, "/logged-out")
}

func (u *UI) LoggedOut(w http.ResponseWriter, r *http.Request) {
	p := u.base(r, "", nil)
	u.render(w, r, http.StatusOK, "message", messagePage{
		page: p, Title: p.T("signed_out.title"), Message: p.T("signed_out.text", u.cfg.ProductName),
		LinkURL: "/login", LinkText: p.T("signed_out.again"),
	})
}
