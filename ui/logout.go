package ui

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
)

// LogoutRequest is a validated RP-initiated logout request (OpenID Connect RP-Initiated
// Logout 1.0): who the id_token_hint names (empty without a hint), for which client, and
// where to send the browser afterwards (a post_logout_redirect_uri registered for that client,
// with state; empty for the logged-out page).
type LogoutRequest struct {
	Subject     string
	ClientName  string
	RedirectURI string
}

// LogoutValidator checks a logout request's parameters (the provider does: it verifies the
// id_token_hint and the post_logout_redirect_uri). An error means the request is refused.
type LogoutValidator func(r *http.Request) (LogoutRequest, error)

type logoutPage struct {
	page
	Fields []hiddenField
}

type hiddenField struct{ Name, Value string }

// endSessionParams are the parameters of an end_session request the pages keep: on the
// confirmation form, and sealed in the form state between a relying party's POST and the GET
// that answers it.
var endSessionParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales", "logout_hint"}

// pendingParam names, in the GET that follows a relying party's POST, the end_session request
// kept in the form state: a random key, never any of the request's own parameters.
const pendingParam = "pending"

// EndSessionHandler serves the end_session endpoint (GET and POST; not behind cross-origin
// protection, since relying parties may POST to it). The session ends at once when the
// id_token_hint names the signed-in user (or nobody is signed in); otherwise the user is asked
// first, so that no other site can sign them out. Invalid requests get the error page and
// never a redirect.
//
// Post/Redirect/Get: a relying party's POST (valid; not the confirmation) keeps the request
// sealed in the form state (formstate.go; every instance opens it) under a random key and
// answers 303 to GET end_session?pending=key, which decides as a GET with those parameters
// would; so Back and Reload never repeat the POST, and the decision is made on a top-level
// GET, which carries the browser's SameSite=Lax session cookie even from another site.
func (u *UI) EndSessionHandler(validate LogoutValidator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !u.parseForm(w, r) {
			return
		}
		pending := r.Method == http.MethodGet && r.URL.Query().Has(pendingParam)
		if pending {
			st := u.loadForm(r)
			key := r.URL.Query().Get(pendingParam)
			if st.Form != "end_session" || key == "" || st.Key != key || st.Logout == nil {
				// Expired, or another browser's link: nothing to act on.
				u.renderError(w, r, http.StatusBadRequest, "err.logout_refused", nil)
				return
			}
			r = withLogoutForm(r, st.Logout)
		}
		req, err := validate(r)
		if err != nil {
			u.cfg.Logger.InfoContext(r.Context(), "logout request refused", "error", err)
			u.renderError(w, r, http.StatusBadRequest, "err.logout_refused", nil)
			return
		}
		confirmed := r.Method == http.MethodPost && r.PostFormValue("confirm") == "yes"
		if r.Method == http.MethodPost && !confirmed {
			u.keepLogout(w, r)
			return
		}
		if confirmed && !u.checkCSRF(r, "end_session") {
			u.forbidden(w, r)
			return
		}
		s, signedIn := u.core.Session(r.Context())
		if signedIn && !confirmed && (req.Subject == "" || req.Subject != s.UserID) {
			var fields []hiddenField
			for _, k := range endSessionParams {
				if v := r.Form.Get(k); v != "" {
					fields = append(fields, hiddenField{k, v})
				}
			}
			p := u.base(r, "end_session", logoutLocales(r))
			p.ClientName = req.ClientName
			u.render(w, r, http.StatusOK, "logout", logoutPage{page: p, Fields: fields})
			return
		}
		if signedIn {
			if err := u.core.EndSession(r.Context()); err != nil {
				u.internalError(w, r, err)
				return
			}
			u.cfg.Logger.InfoContext(r.Context(), "signed out (RP-initiated)", "user_id", s.UserID)
		}
		http.SetCookie(w, u.cookie(u.session, "", -time.Second))
		if signedIn || pending || u.loadForm(r).Logout != nil {
			// Nothing typed and no pending request outlives the sign-out.
			http.SetCookie(w, u.cookie(u.reveal, "", -time.Second))
			u.clearForm(w)
		}
		target := req.RedirectURI
		if target == "" {
			target = "/logged-out"
		}
		seeOther(w, r, target)
	})
}

// keepLogout keeps a relying party's validated end_session POST in the form state under a
// fresh key and sends the browser to the GET that answers it.
func (u *UI) keepLogout(w http.ResponseWriter, r *http.Request) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	key := base64.RawURLEncoding.EncodeToString(b)
	kept := map[string]string{}
	for _, k := range endSessionParams {
		if v := r.Form.Get(k); v != "" {
			kept[k] = v
		}
	}
	st := u.loadForm(r)
	st.Form, st.Key, st.Status, st.Retry, st.FormError, st.ErrorFor, st.Errors, st.Focus, st.Message = "end_session", key, 0, "", "", nil, nil, "", nil
	st.Logout = kept
	u.saveForm(w, st)
	seeOther(w, r, r.URL.Path+"?"+pendingParam+"="+key)
}

// withLogoutForm is r with the kept end_session parameters as its form (and nothing else), for
// the validator and the confirmation page.
func withLogoutForm(r *http.Request, kept map[string]string) *http.Request {
	form := url.Values{}
	for _, k := range endSessionParams {
		if v := kept[k]; v != "" {
			form.Set(k, v)
		}
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = form.Encode()
	r2.Form, r2.PostForm = form, url.Values{}
	return r2
}

// logoutLocales carries an end_session request's ui_locales to the page's language choice.
func logoutLocales(r *http.Request) *authflow.AuthRequest {
	locales := strings.Fields(r.Form.Get("ui_locales"))
	if len(locales) == 0 {
		return nil
	}
	return &authflow.AuthRequest{UILocales: locales}
}
