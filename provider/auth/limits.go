package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/storage"
)

// The limits themselves (names, store keys, defaults, rates and their parsing) live in
// provider/limits; this file applies them to sign-ins, codes and resets.

// Rate is at most Max events per Per (limits.Rate).
type Rate = limits.Rate

// ParseRate parses "N/DURATION" ("5/1h", "10/24h", "30/15m") or "off" (limits.ParseRate).
func ParseRate(s string) (Rate, error) { return limits.ParseRate(s) }

// Limits are the abuse limits (SECURITY.md §1–6), limits.Config: every counter lives in the
// store, so any number of instances enforce one limit. Zero fields take their defaults.
type Limits = limits.Config

// SwitchSMSPaused is the operator switch that stops every SMS (otpidp sms pause|resume).
const SwitchSMSPaused = "sms_paused"

// DefaultFailureReset is Limits.FailureReset when it is not set.
const DefaultFailureReset = limits.DefaultFailureReset

// Failure-run factors (storage.LimitStore's factor argument). The password runs are kept per
// phone number ("phone:+…"), the SMS runs per user ID.
const (
	FactorPassword = limits.FactorPassword
	FactorSMS      = limits.FactorSMS
)

// smsKind says who asks for a text, which decides its budget (limits.Spec.Budget). Sign-ins
// (the password was right) count against their own per-number budget and may use the reserve
// of the global budget; requests anyone can make (registrations and resets, for numbers with
// and without an account alike) count against the per-number, per-IP, per-prefix and
// per-country limits and stop at the reserve. Neither spends the other's per-number budget
// (SECURITY.md FRAUD-11).
type smsKind int

const (
	smsSignIn smsKind = iota
	smsRegistration
)

// smsScopes are the LimitError scopes of the SMS limits: what the pages tell the user.
var smsScopes = map[limits.Name]string{
	limits.SMSPhoneHourly: ScopeSMSPhone, limits.SMSPhoneDaily: ScopeSMSPhone,
	limits.SMSPrefixHourly: ScopeSMSPrefix, limits.SMSIPHourly: ScopeSMSIP,
	limits.SMSCountryDaily: ScopeSMSCountry,
	limits.SMSGlobalHourly: ScopeSMSBudget, limits.SMSGlobalDaily: ScopeSMSBudget,
	limits.SMSSignInPhoneHourly: ScopeSMSPhone, limits.SMSSignInPhoneDaily: ScopeSMSPhone,
}

// smsHits are the SMS limits one text to e164 counts against, in the order they are checked.
func (a *Authenticator) smsHits(ctx context.Context, kind smsKind, e164 string) []limits.Hit {
	if kind == smsSignIn {
		return []limits.Hit{
			{Name: limits.SMSSignInPhoneHourly, Subject: e164},
			{Name: limits.SMSSignInPhoneDaily, Subject: e164},
			{Name: limits.SMSGlobalHourly},
			{Name: limits.SMSGlobalDaily},
		}
	}
	reserve := a.cfg.Limits.SMSReservePercent
	prefix := strings.TrimPrefix(e164, "+")
	if len(prefix) > 4 {
		prefix = prefix[:len(prefix)-4]
	}
	return []limits.Hit{
		{Name: limits.SMSPhoneHourly, Subject: e164},
		{Name: limits.SMSPhoneDaily, Subject: e164},
		{Name: limits.SMSPrefixHourly, Subject: prefix},
		limits.PerIP(ctx, limits.SMSIPHourly),
		{Name: limits.SMSCountryDaily, Subject: phone.Region(e164)},
		{Name: limits.SMSGlobalHourly, Reserve: reserve},
		{Name: limits.SMSGlobalDaily, Reserve: reserve},
	}
}

// allowSMS checks the kill switch, the destination and every SMS limit, and counts one SMS
// against them all (or none, when one refuses).
func (a *Authenticator) allowSMS(ctx context.Context, kind smsKind, e164 string) error {
	paused, err := a.store.Switch(ctx, SwitchSMSPaused)
	if err != nil {
		return fmt.Errorf("auth: read SMS switch: %w", err)
	}
	if paused {
		a.audit(ctx, audit.SMSRefused, "", e164, "", "paused")
		return ErrSMSPaused
	}
	if !a.cfg.Limits.CountryAllowed(phone.Region(e164)) {
		a.audit(ctx, audit.SMSRefused, "", e164, "", "country_not_allowed")
		return ErrSMSCountryNotAllowed
	}
	if !phone.IsMobileCapable(e164) {
		a.audit(ctx, audit.SMSRefused, "", e164, "", "not_mobile")
		return ErrPhoneNotMobile
	}
	r, err := a.limiter.Take(ctx, a.clock(), a.smsHits(ctx, kind, e164)...)
	if err != nil {
		return fmt.Errorf("auth: count SMS: %w", err)
	}
	if r == nil {
		return nil
	}
	scope := smsScopes[r.Name]
	a.log.WarnContext(ctx, "SMS refused by a limit", "scope", scope, "limit_name", string(r.Name), "phone", phone.MaskForLog(e164), "limit", r.Max, "window", r.Window.String())
	a.audit(ctx, audit.SMSRefused, "", e164, "", scope)
	return &LimitError{Scope: scope, RetryAfter: r.RetryAfter}
}

// retryAfter is the whole seconds until t, at least one.
func retryAfter(t, now time.Time) time.Duration { return limits.RetryAfter(t, now) }

// resendWait is how long after a code is sent the next may be: ResendInterval doubling with
// every code the flow has sent, up to ResendMaxInterval (30 s, 1 min, 2 min … 30 min).
func (a *Authenticator) resendWait(sendCount int) time.Duration {
	w := a.cfg.ResendInterval
	for i := 1; i < sendCount && w < a.cfg.Limits.ResendMaxInterval; i++ {
		w *= 2
	}
	return min(w, a.cfg.Limits.ResendMaxInterval)
}

// loginLimits are the per-IP and overall failed-sign-in limits. An attempt takes one unit of
// each before the password is checked and gives it back when the password is right, so only
// failures stay counted, and concurrent attempts cannot overshoot.
func (a *Authenticator) loginLimits(ctx context.Context) []limits.Hit {
	return []limits.Hit{limits.PerIP(ctx, limits.LoginPerIP), {Name: limits.LoginGlobal}}
}

// loginScopes are the LimitError scopes of the sign-in limits.
var loginScopes = map[limits.Name]string{limits.LoginPerIP: ScopeLoginIP, limits.LoginGlobal: ScopeLoginGlobal}

// claimRetries is how many times throttled re-reads a run whose claim lost a race before it
// gives up (the run changing under it each time means attempts are failing fast around it).
const claimRetries = 5

// throttled reports whether the phone number's password attempts are being delayed. When the
// next failure would start or extend a delay, it claims this attempt, so that parallel attempts
// cannot all slip through; when no delay is due, there is nothing to claim. A claim that loses
// a race (the run changed since it was read) is retried on a fresh read, not counted as
// throttled: concurrent sign-ins with the right password, on any number of instances, are not
// refused for it.
func (a *Authenticator) throttled(ctx context.Context, e164 string, now time.Time) (bool, error) {
	subject := limits.PhoneSubject(e164)
	for range claimRetries {
		f, err := a.store.GetFailures(ctx, subject, FactorPassword)
		if err != nil {
			return false, fmt.Errorf("auth: get failures: %w", err)
		}
		if now.Before(f.BlockedUntil) {
			return true, nil
		}
		n := f.Count
		if !f.LastFailureAt.IsZero() && !f.LastFailureAt.After(now.Add(-a.cfg.Limits.FailureReset)) {
			n = 0
		}
		delay := a.cfg.Limits.LoginDelayAfter(n + 1)
		if delay <= 0 {
			return false, nil
		}
		err = a.store.ClaimAttempt(ctx, subject, FactorPassword, f, now.Add(delay), now)
		if errors.Is(err, storage.ErrConflict) {
			continue // someone else's attempt changed the run: read it again
		}
		if err != nil {
			return false, fmt.Errorf("auth: claim attempt: %w", err)
		}
		return false, nil
	}
	return true, nil
}

// passwordFailed records a failed password for the number (known or not) and reports whether
// it started a delay.
func (a *Authenticator) passwordFailed(ctx context.Context, e164 string, now time.Time) {
	n, err := a.store.RecordFailure(ctx, limits.PhoneSubject(e164), FactorPassword, now, now.Add(-a.cfg.Limits.FailureReset))
	if err != nil {
		a.log.ErrorContext(ctx, "record password failure", "error", err)
		return
	}
	if n == a.cfg.Limits.LoginThrottleAfter {
		a.audit(ctx, audit.LockoutPassword, "", e164, "", fmt.Sprintf("%d failures: sign-ins delayed", n))
	}
}

// smsFactorDisabled reports whether the user's SMS factor is disabled by wrong codes.
func (a *Authenticator) smsFactorDisabled(ctx context.Context, userID string) (bool, error) {
	f, err := a.store.GetFailures(ctx, userID, FactorSMS)
	if err != nil {
		return false, fmt.Errorf("auth: get code failures: %w", err)
	}
	return f.Count >= a.cfg.Limits.SMSFactorMaxFailures, nil
}

// codeFailed counts a wrong code against the user's SMS factor (never reset by a resend, nor
// by time: only by a right code or RestoreSMSFactor).
func (a *Authenticator) codeFailed(ctx context.Context, f storage.Flow, now time.Time) {
	if f.UserID == "" {
		return
	}
	n, err := a.store.RecordFailure(ctx, f.UserID, FactorSMS, now, time.Time{})
	if err != nil {
		a.log.ErrorContext(ctx, "record code failure", "error", err)
		return
	}
	if n == a.cfg.Limits.SMSFactorMaxFailures {
		a.log.WarnContext(ctx, "SMS factor disabled after wrong codes", "user_id", f.UserID, "failures", n)
		a.audit(ctx, audit.LockoutSMS, f.UserID, f.Phone, f.AuthRequestID, fmt.Sprintf("%d wrong codes in a row: SMS factor disabled", n))
	}
}

// RestoreSMSFactor re-enables a user's SMS factor after it was disabled by wrong codes: for an
// operator, or after a recovery code.
func (a *Authenticator) RestoreSMSFactor(ctx context.Context, userID string) error {
	return RestoreSMSFactorIn(ctx, a.store, a.auditLog, userID, "")
}

// RestoreSMSFactorIn ends the user's run of wrong SMS codes, which re-enables the SMS factor, and
// records it in the audit log with detail (such as "operator"). The Authenticator's method and
// "otpidp sms restore" both restore a factor through it.
func RestoreSMSFactorIn(ctx context.Context, store storage.LimitStore, log *audit.Log, userID, detail string) error {
	if err := store.ResetFailures(ctx, userID, FactorSMS); err != nil {
		return fmt.Errorf("auth: restore SMS factor: %w", err)
	}
	log.Record(ctx, audit.Entry{Event: audit.SMSFactorRestored, UserID: userID, Detail: detail})
	return nil
}
