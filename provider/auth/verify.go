package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
)

// This file holds how codes reach the user: the texts (in the user's language), the
// idempotency key of each code's message, and the optional CodeVerifier (Twilio Verify) that
// makes and checks the codes instead of otpidp. flow.go calls it at the two points where a
// code is sent (send) and checked (checkCode).

// CodeVerifier makes, sends and checks codes instead of otpidp (sms.TwilioVerify). otpidp's
// own flow stays in front of it: the password step, the browser binding, the code's lifetime,
// the attempt limit and the resend interval are checked before the verifier is asked.
type CodeVerifier interface {
	// Start sends a new code to m.To (m.Body is not used). Errors wrap sms.ErrUndeliverable or
	// sms.ErrUnavailable as a Sender's do.
	Start(ctx context.Context, m sms.Message) error
	// Check reports whether code is the current code of the number to. Errors:
	// sms.ErrCheckLimit (the verifier's own attempt limit), sms.ErrNoVerification (no pending
	// code), sms.ErrUnavailable.
	Check(ctx context.Context, to, code string) (bool, error)
}

// WithCodeVerifier has v make and check the codes; texts that are not codes (the notice to an
// existing account holder) are then not sent.
func WithCodeVerifier(v CodeVerifier) Option { return func(a *Authenticator) { a.verifier = v } }

// WithLanguage returns a context that asks for the SMS texts sent during this request in
// lang, a BCP 47 tag or an Accept-Language value ("es", "es-MX,es;q=0.9,en;q=0.5"). English
// and Spanish are built in (sms.Languages); anything else is English. The language travels in
// the request's reqinfo.Info (the pages set it there).
func WithLanguage(ctx context.Context, lang string) context.Context {
	return reqinfo.Update(ctx, func(i *reqinfo.Info) { i.Language = lang })
}

// Language is the language of the request whose context ctx is; "" when none.
func Language(ctx context.Context) string { return reqinfo.From(ctx).Language }

// initTexts prepares the SMS texts from the configuration (product name, template).
func (a *Authenticator) initTexts() error {
	texts, err := sms.NewTexts(a.cfg.ProductName, a.cfg.SMSTemplate)
	if err != nil {
		return fmt.Errorf("auth: invalid config: SMSTemplate: %w", err)
	}
	a.texts = texts
	return nil
}

// messageKey identifies the code a flow has just sent: the flow and its send number. A sender
// with a journal sends each key at most once.
func messageKey(f storage.Flow) string {
	return f.ID + "/" + strconv.Itoa(f.SendCount)
}

// deliver hands the flow's current message to the sender, or to the verifier, which sends a
// code of its own: the text is then dropped. Every reset and registration starts a
// verification, whether or not the number has an account (the notice it would get otherwise
// cannot go through Verify), so that Twilio sees the same requests for both (REG-01, RST-01).
func (a *Authenticator) deliver(ctx context.Context, _ storage.Flow, m sms.Message) error {
	if a.verifier == nil {
		return a.sender.Send(ctx, m)
	}
	m.Body = ""
	return a.verifier.Start(ctx, m)
}

// verifyCode asks the verifier whether code (normalized) is the flow's code. A wrong code, or
// none pending, is (false, nil): the caller counts a wrong try. The verifier's own attempt
// limit is ErrTooManyAttempts; its failure is ErrSMSUnavailable and counts nothing.
func (a *Authenticator) verifyCode(ctx context.Context, f storage.Flow, code string) (bool, error) {
	if f.SendCount == 0 {
		return false, nil // no code was sent for this flow (textlessLogin)
	}
	taken := false
	if f.Kind == storage.FlowRegister {
		// A registration for a taken number cannot be completed, but its code is checked all
		// the same, so that a wrong code costs the same Twilio request for a free number and
		// a taken one.
		var err error
		if taken, err = a.phoneTaken(ctx, f.Phone); err != nil {
			return false, err
		}
	}
	ok, err := a.verifier.Check(ctx, f.Phone, code)
	if err == nil && ok && taken {
		// The holder of the phone proved it: they may learn that it has an account (REG-01).
		a.log.InfoContext(ctx, "registration for a registered number: code right, no account made", "flow_id", f.ID)
		return false, ErrPhoneRegistered
	}
	switch {
	case err == nil:
		return ok, nil
	case errors.Is(err, sms.ErrNoVerification):
		return false, nil
	case errors.Is(err, sms.ErrCheckLimit):
		a.log.InfoContext(ctx, "code refused: the verifier's attempt limit", "flow_id", f.ID)
		return false, ErrTooManyAttempts
	case errors.Is(err, sms.ErrUnavailable):
		a.log.WarnContext(ctx, "code not checked: verifier unavailable", "flow_id", f.ID, "phone", phone.MaskForLog(f.Phone),
			"error", redactPhone(err.Error(), f.Phone))
		return false, fmt.Errorf("%w: %w", ErrSMSUnavailable, err)
	default:
		return false, fmt.Errorf("auth: check code: %s", redactPhone(err.Error(), f.Phone))
	}
}

func (a *Authenticator) phoneTaken(ctx context.Context, e164 string) (bool, error) {
	_, err := a.store.GetUserByPhone(ctx, e164)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: get user: %w", err)
	}
	return true, nil
}
