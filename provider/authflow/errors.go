// Package authflow is the vocabulary the sign-in pages and the sign-in core share, free of
// storage and HTTP: the refusals of a sign-in step (sentinel errors and error types the pages
// map to messages), the input bounds the pages quote, and the views of flows, sessions,
// authorization requests, consent prompts, device authorizations and the account page.
//
// The authenticator (provider/auth) and the sign-in core (provider/signin) return these
// values; the pages (ui) consume them without importing either.
package authflow

import (
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/provider/phone"
)

// Sentinel errors of a sign-in step. Pages map them to fixed, friendly messages.
var (
	// ErrInvalidCredentials: the phone number has no usable account or the password is wrong.
	// The two cases are never told apart, not even by timing.
	ErrInvalidCredentials = errors.New("auth: invalid phone number or password")
	// ErrInvalidPhone: the input is not a phone number. It wraps phone.ErrInvalid.
	ErrInvalidPhone = fmt.Errorf("auth: not a phone number: %w", phone.ErrInvalid)
	// ErrPhoneNotMobile: the number is valid but cannot receive SMS (registration and
	// operator-created users). It wraps ErrInvalidPhone.
	ErrPhoneNotMobile = fmt.Errorf("auth: not a mobile number: %w", ErrInvalidPhone)
	// ErrInvalidCode: the code is wrong, expired, already used, or there is no code to check.
	// One error for all of them, on purpose.
	ErrInvalidCode = errors.New("auth: invalid code")
	// ErrWrongRecoveryCode: a reset's texted code was right but its recovery code was not. It
	// wraps ErrInvalidCode. Only the holder of the phone, who typed the right texted code,
	// learns it: the page keeps that code and asks only for the recovery code again.
	ErrWrongRecoveryCode = fmt.Errorf("auth: wrong recovery code: %w", ErrInvalidCode)
	// ErrTooManyAttempts: the current code got too many wrong tries and is dead; a new one must
	// be sent.
	ErrTooManyAttempts = errors.New("auth: too many wrong codes")
	// ErrFlowNotFound: the flow is unknown, expired, finished, or was started by another
	// browser.
	ErrFlowNotFound = errors.New("auth: flow not found")
	// ErrSMSUndeliverable: the number cannot receive SMS. The authenticator's error also wraps
	// the sender's (sms.ErrUndeliverable).
	ErrSMSUndeliverable = errors.New("auth: cannot send SMS to this number")
	// ErrSMSUnavailable: the SMS provider did not take the message; it may later. The
	// authenticator's error also wraps the sender's (sms.ErrUnavailable).
	ErrSMSUnavailable = errors.New("auth: SMS provider unavailable")
	// ErrSMSPaused: the operator paused all SMS (otpidp sms pause).
	ErrSMSPaused = errors.New("auth: SMS paused by the operator")
	// ErrSMSCountryNotAllowed: codes are not sent to the number's country. It wraps
	// ErrInvalidPhone.
	ErrSMSCountryNotAllowed = fmt.Errorf("auth: SMS to this country is not allowed: %w", ErrInvalidPhone)
	// ErrSMSFactorDisabled: the account's SMS factor is disabled after too many wrong codes in
	// a row, until a recovery code or an operator restores it.
	ErrSMSFactorDisabled = errors.New("auth: SMS factor disabled after too many wrong codes")
	// ErrPhoneRegistered: the code of a registration was right, but the number has an account
	// already (twilio-verify mode, where no notice can be texted instead of the code). Only
	// whoever holds the phone learns it.
	ErrPhoneRegistered = errors.New("auth: the number has an account already")
	// ErrRateLimited is matched (errors.Is) by every *LimitError.
	ErrRateLimited = errors.New("auth: rate limited")
)

// Sentinel errors of the sign-in core (sessions, authorization requests, devices).
var (
	// ErrRequestExpired: the authorization request is unknown, expired or already answered.
	ErrRequestExpired = errors.New("signin: unknown, expired or answered authorization request")
	// ErrRequestCompleted: the authorization request was completed meanwhile, or is gone.
	ErrRequestCompleted = errors.New("signin: the authorization request was completed already")
	// ErrOtherBrowser: the authorization request (or the session it needs) belongs to another
	// browser.
	ErrOtherBrowser = errors.New("signin: the request belongs to another browser")
	// ErrDeviceNotFound: no live, undecided device authorization has the typed user code.
	ErrDeviceNotFound = errors.New("signin: no device authorization with that user code")
	// ErrDeviceExpired: the device authorization expired or was decided meanwhile.
	ErrDeviceExpired = errors.New("signin: the device authorization expired or was decided")
	// ErrNotSignedIn: the request has no valid session.
	ErrNotSignedIn = errors.New("signin: not signed in")
	// ErrStaleSignIn: the session's sign-in is too old for what was asked (SES-08).
	ErrStaleSignIn = errors.New("signin: a fresh sign-in is needed")
)

// TooSoonError refuses a resend before the flow's ResendAt.
type TooSoonError struct {
	RetryAfter time.Duration // how long until a resend is allowed
}

func (e *TooSoonError) Error() string {
	return fmt.Sprintf("auth: resend too soon, retry after %s", e.RetryAfter)
}

// Scopes of a LimitError.
const (
	ScopeLoginIP     = "login_ip"     // too many failed sign-ins from this network
	ScopeLoginGlobal = "login_global" // too many failed sign-ins overall
	ScopeSMSPhone    = "sms_phone"    // too many codes to this number
	ScopeSMSIP       = "sms_ip"       // too many codes asked for from this network
	ScopeSMSPrefix   = "sms_prefix"   // too many codes to numbers like this one
	ScopeSMSCountry  = "sms_country"  // too many codes to this country today
	ScopeSMSBudget   = "sms_budget"   // the service's SMS budget is spent
	ScopeRecovery    = "recovery"     // recovery codes of this account are not checked for a while
	ScopeDeviceCode  = "device_code"  // too many wrong user codes from this network
)

// LimitError refuses a request over a limit, and says for how long.
type LimitError struct {
	Scope      string
	RetryAfter time.Duration // at least one second
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("auth: rate limited (%s), retry after %s", e.Scope, e.RetryAfter)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *LimitError) Is(target error) bool { return target == ErrRateLimited }
