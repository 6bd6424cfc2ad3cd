package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// Rate is at most Max events per Per. The zero Rate takes the default of its field; a negative
// Max turns the limit off.
type Rate struct {
	Max int
	Per time.Duration
}

func (r Rate) String() string {
	if r.Max < 0 {
		return "off"
	}
	return strconv.Itoa(r.Max) + "/" + shortDuration(r.Per)
}

// ParseRate parses "N/DURATION" ("5/1h", "10/24h", "30/15m") or "off".
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Rate{Max: -1, Per: time.Hour}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, errors.New(`must be COUNT/DURATION like "5/1h", or "off"`)
	}
	max, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || max < 1 {
		return Rate{}, errors.New("the count must be a whole number of at least 1")
	}
	per, err := time.ParseDuration(strings.TrimSpace(d))
	if err != nil || per < time.Second {
		return Rate{}, errors.New(`the duration must be like "1m", "1h" or "24h", at least 1s`)
	}
	return Rate{Max: max, Per: per}, nil
}

func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

// Limits are the abuse limits (SECURITY.md §1–6). Every counter lives in the store, so any
// number of instances enforce one limit. Zero fields take the defaults beside them.
type Limits struct {
	// Sign-in: from LoginThrottleAfter consecutive password failures of one phone number on,
	// each attempt must wait LoginDelay, doubling with every further failure up to
	// LoginMaxDelay. A run ends with a success or FailureReset after its last failure.
	LoginThrottleAfter int           // 5
	LoginDelay         time.Duration // 30s
	LoginMaxDelay      time.Duration // 15m
	FailureReset       time.Duration // 12h
	LoginPerIP         Rate          // 30/15m failed sign-ins per client IP (IPv6: per /64)
	LoginGlobal        Rate          // 600/1m failed sign-ins overall

	// Codes: the resend wait is Config.ResendInterval, doubling with each code sent in the
	// flow, up to ResendMaxInterval. SMSFactorMaxFailures wrong codes in a row (resends do not
	// end the run) disable the account's SMS factor until it is restored.
	ResendMaxInterval    time.Duration // 30m
	SMSFactorMaxFailures int           // 100

	// Recovery codes: RecoveryMaxFailures wrong ones in a row for one account stop all checks
	// of its recovery codes until FailureReset after the last (recoverylimits.go).
	RecoveryMaxFailures int // 10

	// SMS pumping. SMSCountries are the ISO 3166 regions codes may be sent to (empty: any).
	SMSCountries      []string
	SMSPhoneHourly    Rate // 5/1h per phone number
	SMSPhoneDaily     Rate // 10/24h per phone number
	SMSIPHourly       Rate // 10/1h per client IP
	SMSPrefixHourly   Rate // 10/1h per number without its last 4 digits
	SMSCountryDaily   Rate // 1000/24h per destination region
	SMSGlobalHourly   Rate // 300/1h overall
	SMSGlobalDaily    Rate // 3000/24h overall
	SMSReservePercent int  // 20: the share of the global budget kept for sign-ins of existing users
}

func (l Limits) withDefaults() Limits {
	def := func(r *Rate, max int, per time.Duration) {
		if r.Max == 0 {
			r.Max = max
		}
		if r.Per == 0 {
			r.Per = per
		}
	}
	if l.LoginThrottleAfter == 0 {
		l.LoginThrottleAfter = 5
	}
	if l.LoginDelay == 0 {
		l.LoginDelay = 30 * time.Second
	}
	if l.LoginMaxDelay == 0 {
		l.LoginMaxDelay = 15 * time.Minute
	}
	if l.FailureReset == 0 {
		l.FailureReset = DefaultFailureReset
	}
	def(&l.LoginPerIP, 30, 15*time.Minute)
	def(&l.LoginGlobal, 600, time.Minute)
	if l.ResendMaxInterval == 0 {
		l.ResendMaxInterval = 30 * time.Minute
	}
	if l.SMSFactorMaxFailures == 0 {
		l.SMSFactorMaxFailures = 100
	}
	if l.RecoveryMaxFailures == 0 {
		l.RecoveryMaxFailures = 10
	}
	def(&l.SMSPhoneHourly, 5, time.Hour)
	def(&l.SMSPhoneDaily, 10, 24*time.Hour)
	def(&l.SMSIPHourly, 10, time.Hour)
	def(&l.SMSPrefixHourly, 10, time.Hour)
	def(&l.SMSCountryDaily, 1000, 24*time.Hour)
	def(&l.SMSGlobalHourly, 300, time.Hour)
	def(&l.SMSGlobalDaily, 3000, 24*time.Hour)
	if l.SMSReservePercent == 0 {
		l.SMSReservePercent = 20
	}
	l.SMSCountries = slices.Clone(l.SMSCountries)
	for i, c := range l.SMSCountries {
		l.SMSCountries[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	return l
}

func (l Limits) problems() []error {
	var errs []error
	if l.LoginThrottleAfter < 1 {
		errs = append(errs, fmt.Errorf("LoginThrottleAfter %d must be at least 1", l.LoginThrottleAfter))
	}
	if l.LoginDelay < 0 || l.LoginMaxDelay < l.LoginDelay {
		errs = append(errs, fmt.Errorf("LoginDelay %s and LoginMaxDelay %s must be positive, the maximum at least the delay", l.LoginDelay, l.LoginMaxDelay))
	}
	if l.FailureReset < 0 || l.ResendMaxInterval < 0 || l.SMSFactorMaxFailures < 1 || l.RecoveryMaxFailures < 1 {
		errs = append(errs, errors.New("FailureReset, ResendMaxInterval, SMSFactorMaxFailures and RecoveryMaxFailures must be positive"))
	}
	if l.SMSReservePercent < 0 || l.SMSReservePercent > 100 {
		errs = append(errs, fmt.Errorf("SMSReservePercent %d must be 0 to 100", l.SMSReservePercent))
	}
	for _, r := range []Rate{l.LoginPerIP, l.LoginGlobal, l.SMSPhoneHourly, l.SMSPhoneDaily, l.SMSIPHourly, l.SMSPrefixHourly, l.SMSCountryDaily, l.SMSGlobalHourly, l.SMSGlobalDaily} {
		if r.Per <= 0 {
			errs = append(errs, fmt.Errorf("rate %s needs a positive period", r))
		}
	}
	return errs
}

// SwitchSMSPaused is the operator switch that stops every SMS (otpidp sms pause|resume).
const SwitchSMSPaused = "sms_paused"

// DefaultFailureReset is Limits.FailureReset when it is not set.
const DefaultFailureReset = 12 * time.Hour

// Failure-run factors (storage.LimitStore's factor argument). The password runs are kept per
// phone number ("phone:+…"), the SMS runs per user ID.
const (
	FactorPassword = "password"
	FactorSMS      = "sms"
)

func limitOf(name string, r Rate, max int) storage.Limit {
	return storage.Limit{Key: name + "/" + r.Per.String(), Window: r.Per, Max: max}
}

// smsKind says who asks for a code: sign-ins of existing users may use the reserve of the
// global budget, registrations (and resets) may not.
type smsKind int

const (
	smsSignIn smsKind = iota
	smsRegistration
)

// allowSMS checks the kill switch, the destination and every SMS limit, and counts one SMS
// against them all (or none, when one refuses).
func (a *Authenticator) allowSMS(ctx context.Context, kind smsKind, e164 string) error {
	paused, err := a.store.Switch(ctx, SwitchSMSPaused)
	if err != nil {
		return fmt.Errorf("auth: read SMS switch: %w", err)
	}
	if paused {
		a.audit(ctx, "sms.refused", "", e164, "", "paused")
		return ErrSMSPaused
	}
	region := phone.Region(e164)
	if !a.countryAllowed(region) {
		a.audit(ctx, "sms.refused", "", e164, "", "country_not_allowed")
		return ErrSMSCountryNotAllowed
	}
	if !phone.IsMobileCapable(e164) {
		a.audit(ctx, "sms.refused", "", e164, "", "not_mobile")
		return ErrPhoneNotMobile
	}
	l := a.cfg.Limits
	budget := func(r Rate) int {
		if kind == smsRegistration && r.Max > 0 {
			return max(r.Max-r.Max*l.SMSReservePercent/100, 1)
		}
		return r.Max
	}
	prefix := strings.TrimPrefix(e164, "+")
	if len(prefix) > 4 {
		prefix = prefix[:len(prefix)-4]
	}
	ip := reqinfo.From(ctx).LimitKey()
	limits := []storage.Limit{
		limitOf("sms:phone:"+e164, l.SMSPhoneHourly, l.SMSPhoneHourly.Max),
		limitOf("sms:phone:"+e164, l.SMSPhoneDaily, l.SMSPhoneDaily.Max),
		limitOf("sms:prefix:"+prefix, l.SMSPrefixHourly, l.SMSPrefixHourly.Max),
		limitOf("sms:ip:"+ip, l.SMSIPHourly, l.SMSIPHourly.Max),
		limitOf("sms:country:"+region, l.SMSCountryDaily, l.SMSCountryDaily.Max),
		limitOf("sms:global", l.SMSGlobalHourly, budget(l.SMSGlobalHourly)),
		limitOf("sms:global", l.SMSGlobalDaily, budget(l.SMSGlobalDaily)),
	}
	scopes := []string{ScopeSMSPhone, ScopeSMSPhone, ScopeSMSPrefix, ScopeSMSIP, ScopeSMSCountry, ScopeSMSBudget, ScopeSMSBudget}
	now := a.clock()
	r, err := a.store.Take(ctx, now, limits...)
	if err != nil {
		return fmt.Errorf("auth: count SMS: %w", err)
	}
	if r == nil {
		return nil
	}
	scope := scopes[slices.IndexFunc(limits, func(x storage.Limit) bool { return x == r.Limit })]
	a.log.WarnContext(ctx, "SMS refused by a limit", "scope", scope, "phone", phone.MaskForLog(e164), "limit", r.Limit.Max, "window", r.Limit.Window.String())
	a.audit(ctx, "sms.refused", "", e164, "", scope)
	return &LimitError{Scope: scope, RetryAfter: retryAfter(r.ResetAt, now)}
}

func (a *Authenticator) countryAllowed(region string) bool {
	if len(a.cfg.Limits.SMSCountries) == 0 {
		return true
	}
	return region != "" && slices.Contains(a.cfg.Limits.SMSCountries, region)
}

// retryAfter is the whole seconds until t, at least one.
func retryAfter(t, now time.Time) time.Duration {
	d := t.Sub(now)
	if d < time.Second {
		return time.Second
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// resendWait is how long after a code is sent the next may be: ResendInterval doubling with
// every code the flow has sent, up to ResendMaxInterval (30 s, 1 min, 2 min … 30 min).
func (a *Authenticator) resendWait(sendCount int) time.Duration {
	w := a.cfg.ResendInterval
	for i := 1; i < sendCount && w < a.cfg.Limits.ResendMaxInterval; i++ {
		w *= 2
	}
	return min(w, a.cfg.Limits.ResendMaxInterval)
}

// loginDelay is the wait before the next attempt after n consecutive failures.
func (a *Authenticator) loginDelay(n int) time.Duration {
	l := a.cfg.Limits
	if n < l.LoginThrottleAfter {
		return 0
	}
	d := l.LoginDelay
	for i := l.LoginThrottleAfter; i < n && d < l.LoginMaxDelay; i++ {
		d *= 2
	}
	return min(d, l.LoginMaxDelay)
}

// loginLimits are the per-IP and overall failed-sign-in limits. An attempt takes one unit of
// each before the password is checked and gives it back when the password is right, so only
// failures stay counted, and concurrent attempts cannot overshoot.
func (a *Authenticator) loginLimits(ctx context.Context) []storage.Limit {
	l := a.cfg.Limits
	return []storage.Limit{
		limitOf("login:ip:"+reqinfo.From(ctx).LimitKey(), l.LoginPerIP, l.LoginPerIP.Max),
		limitOf("login:all", l.LoginGlobal, l.LoginGlobal.Max),
	}
}

// throttled reports whether the phone number's password attempts are being delayed; when they
// are not, it claims this attempt (so that parallel attempts cannot all slip through).
func (a *Authenticator) throttled(ctx context.Context, e164 string, now time.Time) (bool, error) {
	subject := "phone:" + e164
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
	err = a.store.ClaimAttempt(ctx, subject, FactorPassword, f, now.Add(a.loginDelay(n+1)), now)
	if errors.Is(err, storage.ErrConflict) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: claim attempt: %w", err)
	}
	return false, nil
}

// passwordFailed records a failed password for the number (known or not) and reports whether
// it started a delay.
func (a *Authenticator) passwordFailed(ctx context.Context, e164 string, now time.Time) {
	n, err := a.store.RecordFailure(ctx, "phone:"+e164, FactorPassword, now, now.Add(-a.cfg.Limits.FailureReset))
	if err != nil {
		a.log.ErrorContext(ctx, "record password failure", "error", err)
		return
	}
	if n == a.cfg.Limits.LoginThrottleAfter {
		a.audit(ctx, "lockout.password", "", e164, "", fmt.Sprintf("%d failures: sign-ins delayed", n))
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
		a.audit(ctx, "lockout.sms", f.UserID, f.Phone, f.AuthRequestID, fmt.Sprintf("%d wrong codes in a row: SMS factor disabled", n))
	}
}

// RestoreSMSFactor re-enables a user's SMS factor after it was disabled by wrong codes: for an
// operator, or after a recovery code.
func (a *Authenticator) RestoreSMSFactor(ctx context.Context, userID string) error {
	if err := a.store.ResetFailures(ctx, userID, FactorSMS); err != nil {
		return fmt.Errorf("auth: restore SMS factor: %w", err)
	}
	a.audit(ctx, EventSMSFactorRestore, userID, "", "", "")
	return nil
}
