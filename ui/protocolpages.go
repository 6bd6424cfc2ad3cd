package ui

import "github.com/go-chi/chi/v5"

// ProtocolRoutes mounts the pages the OpenID protocol itself needs beyond sign-in: consent and
// the device page (RFC 8628).
// (The confirmation of RP-initiated logout is EndSessionHandler, mounted at end_session.)
func (u *UI) ProtocolRoutes(r chi.Router) {
	r.Get("/consent", u.handleConsentPage)
	r.Post("/consent", u.handleConsent)
	r.Get("/device", u.handleDevicePage)
	r.Post("/device", u.handleDevice)
	r.Post("/device/decision", u.handleDeviceDecision)
}
