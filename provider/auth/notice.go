package auth

import (
	"context"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

// Audit events of informational texts.
const (
	EventNoticeSent    = audit.NoticeSent
	EventNoticeNotSent = audit.NoticeNotSent
)

// notifyPasswordChanged texts the account's phone that its password was reset or changed
// (SECURITY.md RST-08, PHN-01), in the request's language, within the SMS limits (as a sign-in:
// it may use the reserve of the global budget, for it protects an existing account). It never
// fails the change: a refusal or a failed send is logged and audited. With a CodeVerifier
// (Twilio Verify, which sends only codes) no notice is sent.
func (a *Authenticator) notifyPasswordChanged(ctx context.Context, u storage.User, why string) {
	if a.verifier != nil {
		a.audit(ctx, EventNoticeNotSent, u.ID, u.Phone, "", "password_"+why+": verify mode sends only codes")
		return
	}
	if err := a.allowSMS(ctx, smsSignIn, u.Phone); err != nil {
		a.log.InfoContext(ctx, "password notice not sent", "user_id", u.ID, "reason", err.Error())
		a.audit(ctx, EventNoticeNotSent, u.ID, u.Phone, "", "password_"+why+": sms limit")
		return
	}
	m := sms.Message{To: u.Phone, Body: a.texts.PasswordChanged(Language(ctx)), Locale: Language(ctx)}
	if err := a.sender.Send(ctx, m); err != nil {
		a.log.WarnContext(ctx, "password notice not sent", "user_id", u.ID, "phone", phone.MaskForLog(u.Phone),
			"error", redactPhone(err.Error(), u.Phone))
		a.audit(ctx, EventNoticeNotSent, u.ID, u.Phone, "", "password_"+why+": send failed")
		return
	}
	a.audit(ctx, EventNoticeSent, u.ID, u.Phone, "", "password_"+why)
}
