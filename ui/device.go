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

// afterSignIn is where a sign-in that serves no authorization request goes: back to the device
// page when the user came from there, else the account page.
func (u *UI) afterSignIn(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(u.deviceCookie())
	if err != nil {
		return "/account"
	}
	http.SetCookie(w, u.cookie(u.deviceCookie(), "", -time.Second))
	code, ok := u.core.UserCode(c.Value)
	if !ok {
		return "/account"
	}
	return "/device?user_code=" + code
}

func (u *UI) DevicePage(w http.ResponseWriter, r *http.Request) {
	p := u.base(r, "device", nil)
	code := r.URL.Query().Get("user_code")
	if len(code) > 32 {
		code = ""
	}
	u.render(w, r, http.StatusOK, "device", devicePage{page: p, Code: code})
}

// deviceError renders the device page again for a code the core refused; false when there was
// no error.
func (u *UI) deviceError(w http.ResponseWriter, r *http.Request, typed string, err error) bool {
	p := u.base(r, "device", nil)
	view := devicePage{page: p, Code: typed}
	msg, status, limited := limitMessage(w, p, err)
	switch {
	case err == nil:
		return false
	case limited:
		view.FormError = msg
		u.render(w, r, status, "device", view)
	case errors.Is(err, authflow.ErrDeviceNotFound):
		view.fail("user_code", p.T("device.bad_code"))
		u.render(w, r, http.StatusBadRequest, "device", view)
	case errors.Is(err, authflow.ErrDeviceExpired):
		u.renderError(w, r, http.StatusBadRequest, "device.expired", nil)
	default:
		u.internalError(w, r, err)
	}
	return true
}

// Device checks the typed code; signed in, it asks the user to approve, else it signs the
// user in first and comes back here.
func (u *UI) Device(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "device") {
		return
	}
	typed := r.PostFormValue("user_code")
	d, err := u.core.DeviceRequest(r.Context(), typed)
	if u.deviceError(w, r, typed, err) {
		return
	}
	if _, signedIn := u.core.Session(r.Context()); !signedIn {
		http.SetCookie(w, u.cookie(u.deviceCookie(), d.UserCode, deviceReturnTTL))
		seeOther(w, r, "/login")
		return
	}
	p := u.base(r, "device-decision", nil)
	p.ClientName = d.ClientName
	code, _ := u.core.UserCode(d.UserCode)
	u.render(w, r, http.StatusOK, "device", devicePage{page: p, Code: code, Confirm: true, Scopes: scopeWords(p, d.Scopes)})
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
	what := "device.denied"
	if approve {
		what = "device.approved"
	}
	p := u.base(r, "", nil)
	u.render(w, r, http.StatusOK, "message", messagePage{page: p, Title: p.T(what + ".title"), Message: p.T(what + ".text")})
}
