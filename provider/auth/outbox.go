package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/outbox"
	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

// OutboxKindSMS is the outbox kind of the texts of password resets and registrations; a
// drainer sends them with SendQueued.
const OutboxKindSMS = "sms"

// WithOutbox has the texts of password resets and registrations (and their resends) queued in
// the store's outbox, for a drainer to send (outbox.Drainer with SendQueued), instead of sent
// during the request: their answers then never wait on the SMS provider, so a number with an
// account and one without answer alike whatever the provider's latency (SECURITY.md RST-01,
// REG-01). Sign-in codes are still sent at once (the password was right: their timing tells
// nothing), so that a refused text can be told on the page.
func WithOutbox(q *outbox.Queue) Option { return func(a *Authenticator) { a.queue = q } }

// queuedText is the (sealed) payload of an OutboxKindSMS message.
type queuedText struct {
	To       string        `json:"to"`
	Body     string        `json:"body,omitempty"` // empty for a Verify start
	ValidFor time.Duration `json:"valid_for"`
	Key      string        `json:"key"`
	Locale   string        `json:"locale,omitempty"`
	Verify   bool          `json:"verify,omitempty"` // start a Verify verification instead of sending Body
}

// dispatch hands the flow's message to the outbox when there is one, and otherwise sends it at
// once (send). Queuing does the same work for every message: with a CodeVerifier every one
// (a code, or a notice to a registered number or a number without an account) becomes a Verify
// start, so Twilio sees the same requests for numbers with and without an account.
func (a *Authenticator) dispatch(ctx context.Context, f storage.Flow, text string) error {
	if a.queue == nil {
		return a.send(ctx, f, text)
	}
	q := queuedText{To: f.Phone, Body: text, ValidFor: a.cfg.CodeTTL, Key: messageKey(f), Locale: Language(ctx)}
	if a.verifier != nil {
		q.Body, q.Verify = "", true
	}
	payload, err := json.Marshal(q)
	if err != nil {
		return fmt.Errorf("auth: queue text: %w", err)
	}
	id, err := a.queue.Enqueue(ctx, OutboxKindSMS, payload, a.clock().Add(a.cfg.CodeTTL))
	if err != nil {
		return fmt.Errorf("auth: queue text: %w", err)
	}
	a.log.DebugContext(ctx, "text queued", "flow_id", f.ID, "outbox_id", id)
	return nil
}

// SendQueued is the outbox handler of OutboxKindSMS: it sends one queued text (or starts a
// Verify verification) unless the operator paused SMS meanwhile. It is at most once per code:
// the sender's journal refuses a key sent before (sms.ErrAlreadySent), and nothing is retried
// after the provider may have taken the message (SECURITY.md REL-06, REL-07).
func (a *Authenticator) SendQueued(ctx context.Context, m outbox.Message) error {
	var q queuedText
	if err := json.Unmarshal(m.Payload, &q); err != nil {
		return outbox.Fail("malformed", errors.New("auth: queued text is not readable"))
	}
	paused, err := a.store.Switch(ctx, SwitchSMSPaused)
	if err != nil {
		return outbox.Retry("store", fmt.Errorf("auth: read SMS switch: %w", err), 0)
	}
	if paused {
		a.audit(ctx, audit.SMSRefused, "", q.To, "", "paused")
		return outbox.Fail("paused", ErrSMSPaused)
	}
	msg := sms.Message{To: q.To, Body: q.Body, ValidFor: q.ValidFor, Key: q.Key, Locale: q.Locale}
	switch {
	case q.Verify && a.verifier == nil:
		return outbox.Fail("config", errors.New("auth: a Verify start was queued but no verifier is configured"))
	case q.Verify:
		err = a.verifier.Start(ctx, msg)
	default:
		err = a.sender.Send(ctx, msg)
	}
	if err == nil {
		a.log.InfoContext(ctx, "queued text sent", "phone", phone.MaskForLog(q.To), "outbox_id", m.ID, "verify", q.Verify)
		return nil
	}
	class := "error"
	switch {
	case errors.Is(err, sms.ErrAlreadySent):
		class = "already_sent"
	case errors.Is(err, sms.ErrUndeliverable):
		class = "undeliverable"
	case errors.Is(err, sms.ErrUnavailable):
		class = "unavailable"
	}
	a.log.WarnContext(ctx, "queued text not sent", "phone", phone.MaskForLog(q.To), "outbox_id", m.ID,
		"class", class, "error", redactPhone(err.Error(), q.To))
	return outbox.Fail(class, errors.New(redactPhone(err.Error(), q.To)))
}
