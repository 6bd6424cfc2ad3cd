// Package sms sends text messages: through Twilio's Messages API (Twilio) or Twilio Verify
// (TwilioVerify) in production, or to the console in development. It also writes the texts in
// the user's language (Texts), keeps a journal of what was sent (idempotent per code, with
// Twilio's delivery reports received by StatusHandler), and never logs a message body (it
// holds a code), a credential or a full phone number.
package sms

import (
	"context"
	"errors"
	"time"
)

// Message is one text message.
type Message struct {
	To       string        // E.164
	Body     string        // the text; may hold a one-time code, so it is never logged
	ValidFor time.Duration // the carrier drops the message after this long; 0: no limit
	// Key identifies the code the message carries, for idempotent sending: a sender with a
	// journal (TwilioConfig.Journal) sends each key at most once and refuses a second send
	// with ErrAlreadySent. "" opts out.
	Key string
	// Locale is the user's language (a BCP 47 tag such as "es" or "en-GB"), for senders that
	// write the text themselves (Twilio Verify); "" lets them choose.
	Locale string
}

// Sender sends a message. It returns an error wrapping ErrUndeliverable when the number cannot
// receive SMS (invalid, landline, unreachable), ErrUnavailable when the provider failed, timed
// out or throttled us (try again later), and otherwise another error.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

var (
	// ErrUndeliverable: this number cannot receive SMS; retrying will not help.
	ErrUndeliverable = errors.New("sms: number cannot receive messages")
	// ErrUnavailable: the SMS provider did not take the message now; it may later.
	ErrUnavailable = errors.New("sms: provider unavailable")
	// ErrAlreadySent: a message with this Key was sent (or its sending was begun) before; it
	// is not sent again.
	ErrAlreadySent = errors.New("sms: message already sent")
)

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }
