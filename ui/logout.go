package ui

import (
	"net/http"
	"time"
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

// EndSessionHandler serves the end_session endpoint (GET and POST; not behind cross-origin
// protection, since relying parties may POST to it). The session ends at once when the
// id_token_hint names the signed-in user (or nobody is signed in); otherwise the user is asked
// first, so that no other site can sign them out. Invalid requests get the error page and
// never a redirect.
func (u *UI) EndSessionHandler(validate LogoutValidator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !u.parseForm(w, r) {
			return
		}
		req, err := validate(r)
		if err != nil {
			u.cfg.Logger.InfoContext(r.Context(), "logout request refused", "error", err)
			u.renderError(w, r, http.StatusBadRequest, "err.logout_refused", nil)
			return
		}
		s, signedIn := u.core.Session(r.Context())
		confirmed := r.Method == http.MethodPost && r.PostFormValue("confirm") == "yes"
		if confirmed && !u.checkCSRF(r, "end_session") {
			u.forbidden(w, r)
			return
		}
		if signedIn && !confirmed && (req.Subject == "" || req.Subject != s.UserID) {
			var fields []hiddenField
			for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales", "logout_hint"} {
				if v := r.Form.Get(k); v != "" {
					fields = append(fields, hiddenField{k, v})
				}
			}
			p := u.base(r, "end_session", nil)
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
		target := req.RedirectURI
		if target == "" {
			target = "/logged-out"
		}
		seeOther(w, r, target)
	})
}
