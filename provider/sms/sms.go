// Package sms sends text messages: through Twilio's Messages API in production, or to the console
// in development. Senders never log a message body (it holds a code) or a full phone number.
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
)

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }
