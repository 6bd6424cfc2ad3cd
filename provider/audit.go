package provider

import (
	"context"

	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// Audit events of tokens, recorded where the tokens are made and revoked, so that each carries
// its user and client (SECURITY.md LOG-01).
const (
	EventTokenIssued    = "token.issued"
	EventTokenRefreshed = "token.refreshed"
	EventTokenRevoked   = "token.revoked"
)

// audit appends a token event with the request's time, IP and request ID. A failure is logged:
// the audit log does not decide whether a token is issued.
func (s *opStorage) audit(ctx context.Context, event, userID, clientID, detail string) {
	info := reqinfo.From(ctx)
	e := storage.AuditEvent{At: s.now(), Event: event, UserID: userID, ClientID: clientID,
		IP: info.IPString(), RequestID: info.RequestID, Detail: detail}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit log", "event", event, "error", err)
	}
}
