package ui

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
)

// Recovery codes are shown once. The POST that issues them (the registration's code, or "get
// new codes" on the account page) seals them into a short-lived cookie with AES-GCM under a
// server key, bound to the session that asked (its ID is the additional data); the next page
// (GET /recovery-codes) and the text download open that cookie, and "I saved my codes" clears
// it. The codes are never stored anywhere in the clear, and never travel in a URL.

// revealTTL is how long the codes can be seen after they are issued.
const revealTTL = 15 * time.Minute

type codesPage struct {
	page
	Codes         []string
	AuthRequestID string
}

func (u *UI) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(u.revealKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// revealCodes puts the session's new recovery codes in the reveal cookie.
func (u *UI) revealCodes(w http.ResponseWriter, s authflow.Session, codes []string) error {
	g, err := u.aead()
	if err != nil {
		return err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := g.Seal(nonce, nonce, []byte(strings.Join(codes, "\n")), []byte(s.ID))
	http.SetCookie(w, u.cookie(u.reveal, base64.RawURLEncoding.EncodeToString(sealed), revealTTL))
	return nil
}

// revealedCodes opens the reveal cookie for the session; nil when there is none (or it is not
// this session's).
func (u *UI) revealedCodes(r *http.Request, s authflow.Session) []string {
	c, err := r.Cookie(u.reveal)
	if err != nil || len(c.Value) > 1024 {
		return nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	g, err := u.aead()
	if err != nil || len(sealed) < g.NonceSize() {
		return nil
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], []byte(s.ID))
	if err != nil {
		return nil
	}
	return strings.Split(string(plain), "\n")
}

// signedIn returns the request's session, or sends the browser to sign in.
func (u *UI) signedIn(w http.ResponseWriter, r *http.Request) (authflow.Session, bool) {
	s, ok := u.core.Session(r.Context())
	if !ok {
		seeOther(w, r, "/login")
	}
	return s, ok
}

func (u *UI) codesGone(w http.ResponseWriter, r *http.Request) {
	p := u.base(r, "", nil)
	u.render(w, r, http.StatusOK, "message", messagePage{
		page: p, Title: p.T("codes.gone"), Message: p.T("codes.gone.text"),
		LinkURL: "/account", LinkText: p.T("link.account"),
	})
}

func (u *UI) CodesPage(w http.ResponseWriter, r *http.Request) {
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	codes := u.revealedCodes(r, s)
	if codes == nil {
		u.codesGone(w, r)
		return
	}
	id := r.URL.Query().Get("authRequestID")
	u.render(w, r, http.StatusOK, "codes", codesPage{page: u.base(r, "codes", u.authRequestOf(r, id)), Codes: codes, AuthRequestID: id})
}

// CodesText serves the codes as a text file to download.
func (u *UI) CodesText(w http.ResponseWriter, r *http.Request) {
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	codes := u.revealedCodes(r, s)
	if codes == nil {
		u.codesGone(w, r)
		return
	}
	var b strings.Builder
	b.WriteString(u.t(r, "codes.file", u.cfg.ProductName) + "\n\n")
	for _, c := range codes {
		b.WriteString(c + "\n")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFileName(u.cfg.ProductName)+`-recovery-codes.txt"`)
	_, _ = w.Write([]byte(b.String()))
}

// safeFileName keeps letters, digits and dashes of name.
func safeFileName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "account"
	}
	return b.String()
}

// CodesDone clears the codes and goes on: to the app that sent the user, back to the
// device page when the registration started there, or the account.
func (u *UI) CodesDone(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "codes") {
		return
	}
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	http.SetCookie(w, u.cookie(u.reveal, "", -time.Second))
	id := r.PostFormValue("authRequestID")
	if id == "" {
		seeOther(w, r, u.afterSignIn(w, r))
		return
	}
	if _, ok := u.authRequest(w, r, id); !ok {
		return
	}
	u.finish(w, r, id, authflow.Result{UserID: s.UserID, AuthTime: s.AuthTime, AMR: s.AMR, AuthRequestID: id})
}

// RecoveryPage offers a recovery code instead of the SMS code of a login flow.
func (u *UI) RecoveryPage(w http.ResponseWriter, r *http.Request) {
	f, ok := u.flowPage(w, r, r.URL.Query().Get("flow"), authflow.FlowLogin)
	if !ok {
		return
	}
	view := u.codeView(r, f)
	status := view.shown(w, u.loadForm(r), "recovery", f.ID)
	if view.Focus == "" {
		view.Focus = "recovery_code"
	}
	if r.URL.Query().Get("blocked") == "1" {
		view.Blocked = true
		view.Notice = view.T("limit.sms_factor_disabled")
	}
	u.render(w, r, status, "recovery", view)
}

func (u *UI) Recovery(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "code") {
		return
	}
	f, res, err := u.core.VerifyRecoveryCode(r.Context(), r.PostFormValue("flow"), r.PostFormValue("recovery_code"))
	if err != nil {
		u.codeError(w, r, f, "recovery_code", "err.bad_recovery", err, nil)
		return
	}
	u.accepted(w, r, nil)
	r, ok := u.rotateAfterStep(w, r, "") // binding.go
	if !ok {
		return
	}
	if _, err := u.startSession(w, r, res); err != nil {
		u.internalError(w, r, err)
		return
	}
	u.cfg.Logger.InfoContext(r.Context(), "signed in with a recovery code", "user_id", res.UserID)
	u.finish(w, r, res.AuthRequestID, res)
}

// NewCodes issues a new set of recovery codes from the account page; it needs a recent
// sign-in.
func (u *UI) NewCodes(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "account") {
		return
	}
	s, ok := u.signedIn(w, r)
	if !ok {
		return
	}
	codes, err := u.core.RenewRecoveryCodes(r.Context(), s)
	if err == nil {
		err = u.revealCodes(w, s, codes)
	}
	if u.accountError(w, r, err) {
		return
	}
	// Codes asked for on the account page lead back there, not to a device page left behind.
	http.SetCookie(w, u.cookie(u.deviceCookie(), "", -time.Second))
	seeOther(w, r, "/recovery-codes")
}
