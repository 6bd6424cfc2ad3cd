package ui

import "net/http"

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

func (u *UI) ConsentPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	a, err := u.core.ConsentRequest(r.Context(), id)
	if u.requestError(w, r, err) {
		return
	}
	p := u.base(r, "consent", &a)
	u.render(w, r, http.StatusOK, "consent", consentPage{page: p, AuthRequestID: id, Scopes: scopeWords(p, a.Scopes)})
}

// scopeWords says what the scopes give the app, in plain words.
func scopeWords(p page, scopes []string) []string {
	var words []string
	for _, s := range scopes {
		if key, ok := scopeKeys[s]; ok {
			words = append(words, p.T(key))
		}
	}
	return words
}

// Consent records the answer and returns to the provider, which answers the app.
func (u *UI) Consent(w http.ResponseWriter, r *http.Request) {
	if !u.postForm(w, r, "consent") {
		return
	}
	id := r.PostFormValue("authRequestID")
	allow := r.PostFormValue("decision") == "allow"
	if u.requestError(w, r, u.core.Consent(r.Context(), id, allow)) {
		return
	}
	callback := u.callback(r.Context(), id)
	if !allow {
		callback += "&consent=denied"
	}
	seeOther(w, r, callback)
}
