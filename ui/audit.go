package ui

import (
	"net/http"

	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// Audit events of the account page (the authentication core records its own).
const (
	eventDeviceSignedOut = "session.ended" // a device signed out from the account page
	eventAppRemoved      = "app.removed"   // an app's access (its tokens) removed
)

// audit appends an event of the request to the audit log: time, user, client, IP and request
// ID, never a secret. A failure is logged, not shown.
func (u *UI) audit(r *http.Request, event, userID, clientID, detail string) {
	info := reqinfo.From(r.Context())
	e := storage.AuditEvent{At: u.cfg.Now().UTC(), Event: event, UserID: userID, ClientID: clientID,
		IP: info.IPString(), RequestID: info.RequestID, Detail: detail}
	if err := u.store.AppendAudit(r.Context(), e); err != nil {
		u.cfg.Logger.ErrorContext(r.Context(), "audit log", "event", event, "error", err)
	}
}
