package ui

import (
	"errors"
	"net/http"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
)

// The device page (RFC 8628 §3.3): the user types the code a TV or command-line tool shows,
// signs in as usual if needed, sees which app asks and approves or denies. The core limits the
// codes typed wrong per client IP.

// deviceReturnTTL is how long the code typed before signing in is remembered.
const deviceReturnTTL = 15 * time.Minute

type devicePage struct {
	page
	Code    string // as typed, or XXXX-XXXX
	Confirm bool   // the code is valid: ask the user to approve
	Scopes  []string
}

func (u *UI) deviceCookie() string {
	if u.cfg.Secure {
		return "__Host-otpidp-device"
	}
	return "otpidp-device"
}

// afterSignIn is where a sign-in that serves no authorization request goes: straight to the
// approval of the device whose code the user typed before signing in (kept in the device
// cookie), else the account page.
func (u *UI) afterSignIn(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(u.deviceCookie())
	if err != nil {
		return "/account"
	}
	if _, ok := u.core.UserCode(c.Value); !ok {
		http.SetCookie(w, u.cookie(u.deviceCookie(), "", -time.Second))
		return "/account"
	}
	return "/device?confirm=1"
}

// DevicePage asks for the code a device shows (?user_code= fills it in, as RFC 8628's
// verification_uri_complete does); with ?confirm=1, a signed-in user is asked to approve the
// device whose code the device cookie holds.
func (u *UI) DevicePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("confirm") == "1" {
		if c, err := r.Cookie(u.deviceCookie()); err == nil {
			if _, signedIn := u.core.Session(r.Context()); signedIn {
				u.deviceConfirm(w, r, c.Value)
				return
			}
			seeOther(w, r, "/login")
			return
		}
	}
	p := u.base(r, "device", nil)
	st := u.loadForm(r)
	status := p.shown(w, st, "device", "")
	code := q.Get("user_code")
	if code == "" {
		code = st.Values["user_code"]
	}
	if len(code) > 32 {
		code = ""
	}
	if p.Focus == "" {
		p.Focus = "user_code"
	}
	u.render(w, r, status, "device", devicePage{page: p, Code: code})
}

// deviceConfirm shows the signed-in user the device that asks, for approval.
func (u *UI) deviceConfirm(w http.ResponseWriter, r *http.Request, typed string) {
	d, err := u.core.DeviceRequest(r.Context(), typed)
	if u.deviceError(w, r, typed, err) {
		return
	}
	p := u.base(r, "device-decision", nil)
	p.ClientName = d.ClientName
	code, _ := u.core.UserCode(d.UserCode)
	u.render(w, r, http.StatusOK, "device", devicePage{page: p, Code: code, Confirm: true, Scopes: scopeWords(p, d.Scopes)})
}

// deviceError answers a code the core refused, with the code form again (after a POST, through
// a redirect); false when there was no error.
func (u *UI) deviceError(w http.ResponseWriter, r *http.Request, typed string, err error) bool {
	if err == nil {
		return false
	}
	p := u.base(r, "device", nil)
	msg, status, limited := limitMessage(w, p, err)
	switch {
	case limited:
		p.FormError = msg
	case errors.Is(err, authflow.ErrDeviceNotFound):
		p.fail("user_code", p.T("device.bad_code"))
		status = http.StatusBadRequest
	case errors.Is(err, authflow.ErrDeviceExpired):
		http.SetCookie(w, u.cookie(u.deviceCookie(), "", -time.Second))
		u.renderError(w, r, http.StatusBadRequest, "device.expired", nil)
		return true
	default:
		u.internalError(w, r, err)
		return true
	}
	http.SetCookie(w, u.cookie(u.deviceCookie(), "", -time.Second))
	if r.Method == http.MethodPost {
		u.refuse(w, r, "/device", "device", "", p, status, map[string]string{"user_code": typed})
		return true
	}
	u.render(w, r, status, "device", devicePage{page: p, Code: typed})
	return true
}

// Device checks the typed code and goes on to the approval, through a sign-in when needed
// (the device cookie keeps the code meanwhile).
func (u *UI) Device(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "device") {
		return
	}
	typed := r.PostFormValue("user_code")
	d, err := u.core.DeviceRequest(r.Context(), typed)
	if u.deviceError(w, r, typed, err) {
		return
	}
	u.accepted(w, r, map[string]string{"user_code": typed})
	http.SetCookie(w, u.cookie(u.deviceCookie(), d.UserCode, deviceReturnTTL))
	if _, signedIn := u.core.Session(r.Context()); !signedIn {
		seeOther(w, r, "/login")
		return
	}
	seeOther(w, r, "/device?confirm=1")
}

// DeviceDecision records the signed-in user's answer.
func (u *UI) DeviceDecision(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "device-decision") {
		return
	}
	typed := r.PostFormValue("user_code")
	approve := r.PostFormValue("decision") == "allow"
	err := u.core.DecideDevice(r.Context(), typed, approve)
	if errors.Is(err, authflow.ErrNotSignedIn) {
		seeOther(w, r, "/device")
		return
	}
	if u.deviceError(w, r, typed, err) {
		return
	}
	http.SetCookie(w, u.cookie(u.deviceCookie(), "", -time.Second))
	what := "device.denied"
	if approve {
		what = "device.approved"
	}
	p := u.base(r, "", nil)
	u.showMessage(w, r, http.StatusOK, messagePage{page: p, Title: p.T(what + ".title"), Message: p.T(what + ".text")},
		func(st *formState) { delete(st.Values, "user_code") }) // the code is used: it is not offered again
}
