package storage

import (
	"context"
	"time"
)

// SMSMessage is the delivery record of one text message: enough for idempotent sending (a code
// is sent at most once) and for delivery rates, and nothing personal. It never holds the
// message body nor the phone number, only the number's country.
type SMSMessage struct {
	Key       string // idempotency key, one per code sent; the caller derives it (a hash)
	Provider  string // "twilio" (Messages API) or "twilio-verify"
	SID       string // the provider's ID (Twilio "SM…", "VE…"); empty until it took the message
	Status    string // SMSStatusClaimed, then the provider's status (queued, sent, delivered, …)
	ErrorCode int    // the provider's error code; 0 for none
	Country   string // ISO 3166 region of the number ("US"); "" when unknown
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Statuses otpidp itself gives a message; the others are Twilio's.
const (
	// SMSStatusClaimed: about to be sent. A record left in this state means the process
	// stopped between claiming and sending: the message was most likely never sent.
	SMSStatusClaimed = "claimed"
	// SMSStatusNotSent: the provider refused the message; it was not sent.
	SMSStatusNotSent = "not_sent"
	// SMSStatusUnknown: the request failed without an answer (a timeout): the message may or
	// may not have been sent. A delivery report can still settle it.
	SMSStatusUnknown = "unknown"
)

// SMSStatusRank orders statuses along a message's life, so that a delivery report arriving
// late (Twilio does not promise their order) never moves a message back: claimed 0; unknown,
// accepted, scheduled, queued, pending 1; sending 2; sent 3; delivered, undelivered, failed,
// canceled, not_sent 4; read 5. An unknown status ranks 1.
func SMSStatusRank(status string) int {
	switch status {
	case SMSStatusClaimed:
		return 0
	case "sending":
		return 2
	case "sent":
		return 3
	case "delivered", "undelivered", "failed", "canceled", SMSStatusNotSent:
		return 4
	case "read":
		return 5
	default:
		return 1
	}
}

// SMSStat counts the messages of one country in one status.
type SMSStat struct {
	Country string
	Status  string
	Count   int
}

// SMSMessages keeps SMSMessage records.
type SMSMessages interface {
	// ClaimSMSMessage records that the message m.Key is about to be sent (m.Status is
	// SMSStatusClaimed). ErrAlreadyExists when that key was claimed before: the caller must not
	// send it again.
	ClaimSMSMessage(ctx context.Context, m SMSMessage) error
	// FinishSMSMessage records the outcome of sending key: the provider's SID (may be empty),
	// the status and error code, at now. ErrNotFound for an unknown key.
	FinishSMSMessage(ctx context.Context, key, sid, status string, errorCode int, now time.Time) error
	// UpdateSMSStatus records a delivery report for the messages with that SID, only if it
	// does not move them back (SMSStatusRank of status >= the current one's): ErrConflict when
	// it would, ErrNotFound when no message has that SID (or sid is empty).
	UpdateSMSStatus(ctx context.Context, sid, status string, errorCode int, now time.Time) error
	// GetSMSMessage returns the record of key.
	GetSMSMessage(ctx context.Context, key string) (SMSMessage, error)
	// SMSStats counts the messages created at or after since, by country and status, ordered
	// by country, then status.
	SMSStats(ctx context.Context, since time.Time) ([]SMSStat, error)
	// DeleteSMSMessages deletes the records created before t.
	DeleteSMSMessages(ctx context.Context, before time.Time) error
}
