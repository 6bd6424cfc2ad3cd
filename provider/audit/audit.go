// Package audit is otpidp's one audit API: every event name is a typed constant here, and every
// event is written through a Log, which adds the time, the client IP and the request ID of the
// request (provider/reqinfo), masks the phone number and never takes a secret (SECURITY.md
// LOG-01). A failure to write is logged, never returned: the audit log does not decide whether
// someone signs in or gets a token.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// Event names an audit event. The values are stored, so they never change.
type Event string

// Sign-in, codes and passwords (the authentication core).
const (
	PasswordOK           Event = "password.ok"
	PasswordFailed       Event = "password.failed"
	PasswordRehashed     Event = "password.rehashed"
	CodeSent             Event = "code.sent"
	CodeOK               Event = "code.ok"
	CodeFailed           Event = "code.failed"
	UserRegistered       Event = "user.registered"
	LoginThrottled       Event = "login.throttled"
	LoginRateLimited     Event = "login.rate_limited"
	LockoutPassword      Event = "lockout.password"
	LockoutSMS           Event = "lockout.sms"
	LockoutRecovery      Event = "lockout.recovery"
	SMSRefused           Event = "sms.refused"
	SMSFactorRestored    Event = "sms_factor.restored"
	RecoveryCodeOK       Event = "recovery_code.ok"
	RecoveryCodeFailed   Event = "recovery_code.failed"
	RecoveryCodesIssued  Event = "recovery_codes.issued"
	ResetRequested       Event = "reset.requested"
	ResetVerified        Event = "reset.verified"
	ResetFailed          Event = "reset.failed"
	PasswordReset        Event = "password.reset"
	PasswordChanged      Event = "password.changed"
	PasswordChangeFailed Event = "password.change_failed"
	NoticeSent           Event = "notice.sent"
	NoticeNotSent        Event = "notice.not_sent"
)

// Sessions, apps and devices (the sign-in core).
const (
	SessionEnded Event = "session.ended" // a device signed out from the account page
	AppRemoved   Event = "app.removed"   // an app's access (its tokens) removed
)

// Tokens and protocol endpoints (the provider).
const (
	TokenIssued         Event = "token.issued"
	TokenRefreshed      Event = "token.refreshed"
	TokenRevoked        Event = "token.revoked"
	ProtocolRateLimited Event = "protocol.rate_limited"
)

// Operators (the command line) and account lifecycle. Events an operator caused carry
// Detail ActorOperator; an account's own deletion (from the account page) carries ActorUser.
const (
	SMSPaused           Event = "sms.paused"
	SMSResumed          Event = "sms.resumed"
	ClientAdded         Event = "client.added"
	ClientRemoved       Event = "client.removed"
	ClientUpdated       Event = "client.updated"
	ClientSecretRotated Event = "client.secret_rotated"
	UserAdded           Event = "user.added"
	UserDisabled        Event = "user.disabled"
	UserEnabled         Event = "user.enabled"
	UserDeleted         Event = "user.deleted"
	KeyRotated          Event = "key.rotated"
	// RecoveryCodesIssued and SessionEnded (above) are also recorded for operators, with
	// Detail ActorOperator.
)

// Who caused an event, in Entry.Detail.
const (
	ActorOperator = "operator" // the command line
	ActorUser     = "user"     // the account's own user
)

// maxDetail bounds Entry.Detail, a short reason such as "wrong_password".
const maxDetail = 64

// Entry is one event to record. Phone is an E.164 number, stored masked; Detail is a short
// machine-readable reason. Nothing here may hold a password, code, token or session value.
type Entry struct {
	Event    Event
	UserID   string
	ClientID string
	Phone    string
	Detail   string
}

// Appender is the part of the store the log writes to.
type Appender interface {
	AppendAudit(ctx context.Context, e storage.AuditEvent) error
}

// Log writes audit entries to the store.
type Log struct {
	store  Appender
	now    func() time.Time
	logger *slog.Logger
}

// New returns a Log writing to store; now and logger may be nil (time.Now, no logging).
func New(store Appender, now func() time.Time, logger *slog.Logger) *Log {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{store: store, now: now, logger: logger}
}

// Record appends e with the time, IP and request ID of the request whose context ctx is.
func (l *Log) Record(ctx context.Context, e Entry) {
	info := reqinfo.From(ctx)
	ev := storage.AuditEvent{
		At: l.now().UTC(), Event: string(e.Event), UserID: e.UserID, ClientID: e.ClientID,
		IP: info.IPString(), RequestID: info.RequestID, Detail: e.Detail,
	}
	if e.Phone != "" {
		ev.PhoneMasked = phone.MaskForLog(e.Phone)
	}
	if len(ev.Detail) > maxDetail {
		ev.Detail = ev.Detail[:maxDetail]
	}
	if err := l.store.AppendAudit(ctx, ev); err != nil {
		l.logger.ErrorContext(ctx, "audit log", "event", string(e.Event), "error", err)
	}
}
