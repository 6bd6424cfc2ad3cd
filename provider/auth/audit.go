package auth

import (
	"context"

	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// Audit events the authentication core records.
const (
	EventPasswordOK       = "password.ok"
	EventPasswordFailed   = "password.failed"
	EventCodeSent         = "code.sent"
	EventCodeOK           = "code.ok"
	EventCodeFailed       = "code.failed"
	EventUserRegistered   = "user.registered"
	EventPasswordRehash   = "password.rehashed"
	EventLoginThrottled   = "login.throttled"
	EventLoginRateLimited = "login.rate_limited"
)

// audit appends an event to the audit log: time, user, client (of the authorization request),
// IP and request ID (from reqinfo), the phone masked, never a secret. A failure to write it is
// logged, not returned: the audit log must not decide whether someone can sign in.
func (a *Authenticator) audit(ctx context.Context, event, userID, e164, authRequestID, detail string) {
	info := reqinfo.From(ctx)
	e := storage.AuditEvent{
		At: a.clock(), Event: event, UserID: userID, IP: info.IPString(), RequestID: info.RequestID, Detail: detail,
	}
	if e164 != "" {
		e.PhoneMasked = phone.MaskForLog(e164)
	}
	if authRequestID != "" {
		if ar, err := a.store.GetAuthRequest(ctx, authRequestID); err == nil {
			e.ClientID = ar.ClientID
		}
	}
	if err := a.store.AppendAudit(ctx, e); err != nil {
		a.log.ErrorContext(ctx, "audit log", "event", event, "error", err)
	}
}
