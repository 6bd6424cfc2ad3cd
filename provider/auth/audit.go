package auth

import (
	"context"

	"github.com/otpidp/otpidp/provider/audit"
)

// Audit events the authentication core records: the names are provider/audit's, kept here
// for callers and tests.
const (
	EventPasswordOK       = audit.PasswordOK
	EventPasswordFailed   = audit.PasswordFailed
	EventCodeSent         = audit.CodeSent
	EventCodeOK           = audit.CodeOK
	EventCodeFailed       = audit.CodeFailed
	EventUserRegistered   = audit.UserRegistered
	EventPasswordRehash   = audit.PasswordRehashed
	EventLoginThrottled   = audit.LoginThrottled
	EventLoginRateLimited = audit.LoginRateLimited
)

// audit records an event in the audit log (provider/audit adds the time, IP and request ID and
// masks the phone), with the client of the authorization request when there is one. A failure
// to write it is logged, not returned: the audit log must not decide whether someone can sign
// in.
func (a *Authenticator) audit(ctx context.Context, event audit.Event, userID, e164, authRequestID, detail string) {
	e := audit.Entry{Event: event, UserID: userID, Phone: e164, Detail: detail}
	if authRequestID != "" {
		if ar, err := a.store.GetAuthRequest(ctx, authRequestID); err == nil {
			e.ClientID = ar.ClientID
		}
	}
	a.auditLog.Record(ctx, e)
}
