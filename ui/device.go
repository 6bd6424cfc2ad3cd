package ui

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// The device page (RFC 8628 §3.3): the user types the code a TV or command-line tool shows,
// signs in as usual if needed, sees which app asks and approves or denies. Codes typed wrong
// are limited per client IP, so the 20^8 user codes cannot be searched.

// deviceCodeLimit is how many codes one IP may type wrong: few enough that finding a live
// code among 20^8 is hopeless, enough for people who mistype.
var deviceCodeLimit = storage.Limit{Window: 15 * time.Minute, Max: 10}

// deviceReturnTTL is how long the code typed before signing in is remembered.
const deviceReturnTTL = 15 * time.Minute

type devicePage struct {
	page
	Code    string // as typed, or XXXX-XXXX
	Confirm bool   // the code is valid: ask the user to approve
	Scopes  []string
}

func formatUserCode(c string) string {
	if len(c) != storage.UserCodeLength {
		return c
	}
	return c[:4] + "-" + c[4:]
}

func hashUserCode(c string) []byte {
	h := sha256.Sum256([]byte(c))
	return h[:]
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
	code, ok := storage.NormalizeUserCode(c.Value)
	if !ok {
		return "/account"
	}
	return "/device?user_code=" + url.QueryEscape(formatUserCode(code))
}

func (u *UI) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	p := u.base(r, "device", nil)
	code := r.URL.Query().Get("user_code")
	if len(code) > 32 {
		code = ""
	}
	u.render(w, r, http.StatusOK, "device", devicePage{page: p, Code: code})
}

// deviceRequest finds the live, undecided request of the typed code. A code that finds none
// counts against the IP's limit; ok is false when the page has been answered.
func (u *UI) deviceRequest(w http.ResponseWriter, r *http.Request, typed string) (storage.DeviceAuthorization, string, bool) {
	ctx := r.Context()
	now := u.cfg.Now().UTC()
	limit := deviceCodeLimit
	limit.Key = "device:ip:" + reqinfo.From(ctx).LimitKey() + "/" + limit.Window.String()
	p := u.base(r, "device", nil)
	view := devicePage{page: p, Code: typed}
	refusal, err := u.store.Take(ctx, now, limit)
	if err != nil {
		u.internalError(w, r, err)
		return storage.DeviceAuthorization{}, "", false
	}
	if refusal != nil {
		wait := refusal.ResetAt.Sub(now)
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		u.cfg.Logger.WarnContext(ctx, "device codes refused by the rate limit", "limit", refusal.Limit.Max)
		view.FormError = p.T("limit.device", waitText(p, wait))
		u.render(w, r, http.StatusTooManyRequests, "device", view)
		return storage.DeviceAuthorization{}, "", false
	}
	code, ok := storage.NormalizeUserCode(typed)
	var d storage.DeviceAuthorization
	if ok {
		d, err = u.store.GetDeviceAuthorizationByUserCode(ctx, hashUserCode(code), now)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			u.internalError(w, r, err)
			return d, "", false
		}
		ok = err == nil
	}
	if !ok {
		u.cfg.Logger.InfoContext(ctx, "device code not found")
		view.fail("user_code", p.T("device.bad_code"))
		u.render(w, r, http.StatusBadRequest, "device", view)
		return d, "", false
	}
	// A code that was right does not count against the limit.
	if err := u.store.Untake(ctx, now, limit); err != nil {
		u.cfg.Logger.WarnContext(ctx, "give back a device code attempt", "error", err)
	}
	return d, code, true
}

// handleDevice checks the typed code; signed in, it asks the user to approve, else it signs the
// user in first and comes back here.
func (u *UI) handleDevice(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "device") {
		return
	}
	d, code, ok := u.deviceRequest(w, r, r.PostFormValue("user_code"))
	if !ok {
		return
	}
	if _, signedIn := u.currentSession(r); !signedIn {
		http.SetCookie(w, u.cookie(u.deviceCookie(), code, deviceReturnTTL))
		seeOther(w, r, "/login")
		return
	}
	c, err := u.store.GetClient(r.Context(), d.ClientID)
	if err != nil {
		u.internalError(w, r, err)
		return
	}
	p := u.base(r, "device-decision", nil)
	p.ClientName = c.Name
	var words []string
	for _, s := range d.Scopes {
		if key, ok := scopeKeys[s]; ok {
			words = append(words, p.T(key))
		}
	}
	u.render(w, r, http.StatusOK, "device", devicePage{page: p, Code: formatUserCode(code), Confirm: true, Scopes: words})
}

// handleDeviceDecision records the signed-in user's answer.
func (u *UI) handleDeviceDecision(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "device-decision") {
		return
	}
	s, signedIn := u.currentSession(r)
	if !signedIn {
		seeOther(w, r, "/device")
		return
	}
	d, _, ok := u.deviceRequest(w, r, r.PostFormValue("user_code"))
	if !ok {
		return
	}
	approve := r.PostFormValue("decision") == "allow"
	err := u.store.DecideDeviceAuthorization(r.Context(), d.ID, approve, s.UserID, s.AuthTime.UTC(), s.AMR, u.cfg.Now().UTC())
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		u.renderError(w, r, http.StatusBadRequest, "device.expired", nil)
		return
	}
	if err != nil {
		u.internalError(w, r, err)
		return
	}
	u.cfg.Logger.InfoContext(r.Context(), "device authorization decided", "user_id", s.UserID, "client_id", d.ClientID, "approved", approve)
	what := "device.denied"
	if approve {
		what = "device.approved"
	}
	p := u.base(r, "", nil)
	u.render(w, r, http.StatusOK, "message", messagePage{page: p, Title: p.T(what + ".title"), Message: p.T(what + ".text")})
}
