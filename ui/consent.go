package ui

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"

	"github.com/otpidp/otpidp/storage"
)

type consentPage struct {
	page
	AuthRequestID string
	Scopes        []string
}

// scopeKeys names the catalog entry that says what each scope gives the app, in plain words.
var scopeKeys = map[string]string{
	"openid":         "scope.openid",
	"profile":        "scope.profile",
	"phone":          "scope.phone",
	"offline_access": "scope.offline_access",
}

// consentRequest loads the authorization request a consent page serves: live, started by this
// browser, signed in, and by the user of this browser's session.
func (u *UI) consentRequest(w http.ResponseWriter, r *http.Request, id string) (storage.AuthRequest, storage.Client, bool) {
	a, err := u.store.GetAuthRequest(r.Context(), id)
	if err != nil || !a.ExpiresAt.After(u.cfg.Now()) || !a.Done() || !a.CodeExpiresAt.IsZero() {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			u.internalError(w, r, err)
			return a, storage.Client{}, false
		}
		u.renderError(w, r, http.StatusBadRequest, "err.expired_link", nil)
		return a, storage.Client{}, false
	}
	s, signedIn := u.currentSession(r)
	if len(a.BrowserHash) == 0 || subtle.ConstantTimeCompare(a.BrowserHash, BrowserHash(r.Context())) != 1 || !signedIn || s.UserID != a.UserID {
		u.renderError(w, r, http.StatusBadRequest, "err.other_browser", nil)
		return a, storage.Client{}, false
	}
	c, err := u.store.GetClient(r.Context(), a.ClientID)
	if err != nil {
		u.internalError(w, r, err)
		return a, c, false
	}
	return a, c, true
}

func (u *UI) handleConsentPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	a, _, ok := u.consentRequest(w, r, id)
	if !ok {
		return
	}
	p := u.base(r, "consent", &a)
	var words []string
	for _, s := range a.Scopes {
		if key, ok := scopeKeys[s]; ok {
			words = append(words, p.T(key))
		}
	}
	u.render(w, r, http.StatusOK, "consent", consentPage{page: p, AuthRequestID: id, Scopes: words})
}

// handleConsent records the answer and returns to the provider, which answers the app.
func (u *UI) handleConsent(w http.ResponseWriter, r *http.Request) {
	if !u.parseForm(w, r) {
		return
	}
	if !u.checkCSRF(r, "consent") {
		u.forbidden(w, r)
		return
	}
	id := r.PostFormValue("authRequestID")
	a, _, ok := u.consentRequest(w, r, id)
	if !ok {
		return
	}
	callback := u.callback(r.Context(), id)
	if r.PostFormValue("decision") != "allow" {
		seeOther(w, r, callback+"&consent=denied")
		return
	}
	scopes := slices.Clone(a.Scopes)
	if old, err := u.store.GetConsent(r.Context(), a.UserID, a.ClientID); err == nil {
		for _, s := range old.Scopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	err := u.store.SaveConsent(r.Context(), storage.Consent{UserID: a.UserID, ClientID: a.ClientID, Scopes: scopes, GrantedAt: u.cfg.Now().UTC()})
	if err != nil {
		u.internalError(w, r, err)
		return
	}
	u.cfg.Logger.InfoContext(r.Context(), "consent given", "user_id", a.UserID, "client_id", a.ClientID, "scopes", a.Scopes)
	seeOther(w, r, callback)
}
