package sms

import (
	"context"
	"errors"
	"fmt"

	"github.com/twilio/twilio-go"
	verify "github.com/twilio/twilio-go/rest/verify/v2"
	"golang.org/x/text/language"

	"github.com/otpidp/otpidp/provider/phone"
)

var (
	// ErrCheckLimit: Twilio Verify refused to check another code for this verification
	// (error 60202, "max check attempts reached"). A new verification must be started.
	ErrCheckLimit = errors.New("sms: verify: too many checks of this code")
	// ErrNoVerification: Twilio Verify has no pending verification for the number (error
	// 20404): it expired, was approved already, or was never started.
	ErrNoVerification = errors.New("sms: verify: no pending verification")
	// errVerifyText refuses a text of otpidp's own through Verify.
	errVerifyText = errors.New("sms: twilio verify sends only its own codes, not arbitrary texts")
)

// TwilioVerify has Twilio Verify make, send and check the codes (OTPIDP_SMS=twilio-verify),
// for operators who want Verify's Fraud Guard and per-country delivery tuning. It is safe for
// concurrent use.
//
// Start and Check fail as Twilio's Send does (ErrUndeliverable, ErrUnavailable, one retry of a
// throttled request, never a retry after a timeout or a 5xx), and Check also with ErrCheckLimit
// and ErrNoVerification. Verify keys a verification by service and number: within its life
// (10 minutes) a new Start re-sends the same code.
type TwilioVerify struct {
	api     twilioAPI
	service string
}

// NewTwilioVerify validates cfg, which must name a VerifyServiceSID, and returns a Verify
// client. It does not contact Twilio. cfg.StatusCallback is not used: Verify reports no
// per-message status.
func NewTwilioVerify(cfg TwilioConfig) (*TwilioVerify, error) {
	if cfg.VerifyServiceSID == "" {
		return nil, errors.New("sms: invalid Twilio configuration: VerifyServiceSID is required for Twilio Verify")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &TwilioVerify{api: newTwilioAPI(cfg), service: cfg.VerifyServiceSID}, nil
}

// Send refuses: Verify writes and sends only its own codes. Use Start.
func (v *TwilioVerify) Send(context.Context, Message) error { return errVerifyText }

// Start asks Verify to send a code to m.To by SMS, in m.Locale's language when Verify has it.
// m.Body is not used. With a journal, m.Key is sent at most once, as with Twilio.Send.
func (v *TwilioVerify) Start(ctx context.Context, m Message) error {
	if err := v.start(ctx, m); err != nil {
		return fmt.Errorf("sms: twilio verify: start for %s: %w", phone.MaskForLog(m.To), err)
	}
	return nil
}

func (v *TwilioVerify) start(ctx context.Context, m Message) error {
	if !isE164(m.To) {
		return fmt.Errorf("recipient is not an E.164 number: %w", ErrUndeliverable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not sent: %w", err)
	}
	key, err := v.api.claim(ctx, providerTwilioVerify, m)
	if err != nil {
		return err
	}
	var sid, status string
	err = v.api.call(ctx, func(rc *twilio.RestClient) error {
		params := &verify.CreateVerificationParams{}
		params.SetTo(m.To)
		params.SetChannel("sms")
		if locale := verifyLocale(m.Locale); locale != "" {
			params.SetLocale(locale)
		}
		ver, err := rc.VerifyV2.CreateVerification(v.service, params)
		if err == nil && ver != nil {
			sid, status = deref(ver.Sid), deref(ver.Status)
		}
		return err
	})
	v.api.finish(ctx, key, sid, status, err)
	return err
}

// Check asks Verify whether code is the pending code of the number to. It returns true when
// Verify approved it (the verification is then spent), false for a wrong code. Errors:
// ErrCheckLimit (60202), ErrNoVerification (20404), ErrUnavailable.
func (v *TwilioVerify) Check(ctx context.Context, to, code string) (bool, error) {
	if !isE164(to) {
		return false, fmt.Errorf("sms: twilio verify: check: recipient is not an E.164 number: %w", ErrNoVerification)
	}
	var status string
	var valid bool
	err := v.api.call(ctx, func(rc *twilio.RestClient) error {
		params := &verify.CreateVerificationCheckParams{}
		params.SetTo(to)
		params.SetCode(code)
		res, err := rc.VerifyV2.CreateVerificationCheck(v.service, params)
		if err == nil && res != nil {
			status = deref(res.Status)
			valid = res.Valid != nil && *res.Valid
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sms: twilio verify: check for %s: %w", phone.MaskForLog(to), err)
	}
	return status == "approved" && valid, nil
}

// verifyLocale is the language Verify is asked to write in: the base language of the tag
// ("es" for "es-MX"), or "" to let Verify choose.
func verifyLocale(tag string) string {
	if tag == "" {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	base, conf := t.Base()
	if conf == language.No {
		return ""
	}
	return base.String()
}
