package ui

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
)

// The account page: the user's name and masked number, a password change (with the current
// password), recovery codes (how many are left; new ones after a fresh sign-in), the signed-in
// devices with "sign out", the apps holding tokens with "remove access", and sign out. Every
// form posts with the "account" CSRF purpose (sign out with "logout") and ends in a 303 back here.

type accountPage struct {
	page
	LogoutCSRF                string
	Name, MaskedPhone         string
	NameInput                 string // the name field's value: the name, or what was typed
	AuthTimeISO, AuthTimeText string
	CodesLeft                 int
	CodesLow                  bool
	Devices                   []deviceView
	Apps                      []appView
}

type deviceView struct {
	ID, Label, LastSeenISO, LastSeenText string
	Current                              bool
}

type appView struct {
	ClientID, Name, SinceISO, SinceText string
}

// lowCodes: at or below this many recovery codes left the page suggests a new set.
const lowCodes = 3

// accountView builds the account page of the session's user.
func (u *UI) accountView(r *http.Request, s authflow.Session) (accountPage, error) {
	acct, err := u.core.Account(r.Context(), s)
	if err != nil {
		return accountPage{}, err
	}
	v := accountPage{page: u.base(r, "account", nil), LogoutCSRF: u.csrfToken(r, "logout"), Name: acct.Name, NameInput: acct.Name,
		MaskedPhone: acct.MaskedPhone, CodesLeft: acct.CodesLeft, CodesLow: acct.CodesLeft <= lowCodes}
	v.NewPass = true
	v.AuthTimeISO, v.AuthTimeText = timeText(v.Lang, s.AuthTime)
	for _, ss := range acct.Devices {
		d := deviceView{ID: ss.ID, Label: deviceLabel(ss.UserAgent), Current: ss.Current}
		if d.Label == "" {
			d.Label = v.T("unknown_device")
		}
		d.LastSeenISO, d.LastSeenText = timeText(v.Lang, ss.LastSeenAt)
		v.Devices = append(v.Devices, d)
	}
	for _, g := range acct.Apps {
		a := appView{ClientID: g.ClientID, Name: g.Name}
		a.SinceISO, a.SinceText = timeText(v.Lang, g.Since)
		v.Apps = append(v.Apps, a)
	}
	return v, nil
}

func (u *UI) Account(w http.ResponseWriter, r *http.Request) {
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	v, err := u.accountView(r, s)
	if err != nil {
		u.internalError(w, r, err)
		return
	}
	st := u.loadForm(r)
	status := http.StatusOK
	for _, form := range []string{"account-name", "account-password"} {
		if st.Form == form {
			status = v.shown(w, st, form, "")
		}
	}
	if st.Form == "account-name" && st.Values["account_name"] != "" {
		v.NameInput = st.Values["account_name"]
	}
	switch r.URL.Query().Get("done") {
	case "password":
		v.Notice = v.T("notice.password")
	case "device":
		v.Notice = v.T("notice.device_out")
	case "app":
		v.Notice = v.T("notice.app_removed")
	case "name":
		v.Notice = v.T("notice.name")
	}
	u.render(w, r, status, "account", v)
}

func (u *UI) ChangePassword(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "account") {
		return
	}
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	err := u.core.ChangePassword(r.Context(), u.lang(r, nil), s, r.PostFormValue("current_password"),
		r.PostFormValue("password"), r.PostFormValue("password_confirm"))
	if err == nil {
		u.accepted(w, r, nil)
		seeOther(w, r, "/account?done=password")
		return
	}
	p := u.base(r, "account", nil)
	p.NewPass = true
	status, ok := startErrors(w, &p, err)
	if !ok {
		u.internalError(w, r, err)
		return
	}
	var fe *authflow.FieldError
	if errors.As(err, &fe) && fe.Field == authflow.FieldCurrentPassword {
		status = http.StatusForbidden
	}
	u.refuse(w, r, "/account#password-h", "account-password", "", p, status, nil)
}

func (u *UI) EndDevice(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "account") {
		return
	}
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	ended, err := u.core.EndDevice(r.Context(), s, r.PostFormValue("session"))
	if u.accountError(w, r, err) {
		return
	}
	if ended { // this device
		http.SetCookie(w, u.cookie(u.session, "", -time.Second))
		seeOther(w, r, "/logged-out")
		return
	}
	seeOther(w, r, "/account?done=device")
}

func (u *UI) RemoveApp(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "account") {
		return
	}
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	client := r.PostFormValue("client")
	if client == "" {
		seeOther(w, r, "/account")
		return
	}
	if u.accountError(w, r, u.core.RemoveApp(r.Context(), s, client)) {
		return
	}
	seeOther(w, r, "/account?done=app")
}

// deviceLabel names a browser and system from a User-Agent, roughly ("Chrome on Android");
// empty when it cannot tell.
func deviceLabel(ua string) string {
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"}, {"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"}, {"Chromium/", "Chromium"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " · " + system
	case browser != "":
		return browser
	}
	return system
}
