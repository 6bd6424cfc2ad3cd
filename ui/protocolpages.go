package ui

import (
	"html/template"

	"github.com/go-chi/chi/v5"
)

// ProtocolRoutes mounts the consent page and parses the templates of the pages the OpenID
// protocol itself needs (consent, and the confirmation of RP-initiated logout). Call it once,
// before serving. The templates are embedded, so a broken one fails every test.
func (u *UI) ProtocolRoutes(r chi.Router) {
	for _, name := range []string{"consent", "logout"} {
		u.pages[name] = template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
	}
	r.Get("/consent", u.handleConsentPage)
	r.Post("/consent", u.handleConsent)
}
