package limits

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Config is the authentication core's limits (SECURITY.md §1–6), as configured. Every counter
// lives in the store, so any number of instances enforce one limit. Zero fields take the
// defaults beside them (WithDefaults); the rates' defaults are the table's.
type Config struct {
	// Sign-in: from LoginThrottleAfter consecutive password failures of one phone number on,
	// each attempt must wait LoginDelay, doubling with every further failure up to
	// LoginMaxDelay. A run ends with a success or FailureReset after its last failure.
	LoginThrottleAfter int           // 5
	LoginDelay         time.Duration // 30s
	LoginMaxDelay      time.Duration // 15m
	FailureReset       time.Duration // 12h
	LoginPerIP         Rate          // 30/15m failed sign-ins per client IP (IPv6: per /64)
	LoginGlobal        Rate          // 600/1m failed sign-ins overall

	// Codes: the resend wait is the authenticator's ResendInterval, doubling with each code
	// sent in the flow, up to ResendMaxInterval. SMSFactorMaxFailures wrong codes in a row
	// (resends do not end the run) disable the account's SMS factor until it is restored.
	ResendMaxInterval    time.Duration // 30m
	SMSFactorMaxFailures int           // 100

	// Recovery codes: RecoveryMaxFailures wrong ones in a row for one account stop all checks
	// of its recovery codes until FailureReset after the last.
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

	// The sign-in budget: codes texted after a right password, per number. Resets and
	// registrations never spend it (they count against the limits above).
	SMSSignInPhoneHourly Rate // 5/1h
	SMSSignInPhoneDaily  Rate // 10/24h
}

// rates are the Config's window limits by name.
func (c *Config) rates() map[Name]*Rate {
	return map[Name]*Rate{
		LoginPerIP: &c.LoginPerIP, LoginGlobal: &c.LoginGlobal,
		SMSPhoneHourly: &c.SMSPhoneHourly, SMSPhoneDaily: &c.SMSPhoneDaily,
		SMSIPHourly: &c.SMSIPHourly, SMSPrefixHourly: &c.SMSPrefixHourly,
		SMSCountryDaily: &c.SMSCountryDaily, SMSGlobalHourly: &c.SMSGlobalHourly,
		SMSGlobalDaily:       &c.SMSGlobalDaily,
		SMSSignInPhoneHourly: &c.SMSSignInPhoneHourly, SMSSignInPhoneDaily: &c.SMSSignInPhoneDaily,
	}
}

// Rates returns the configured rates of the window limits, by name, for New.
func (c Config) Rates() map[Name]Rate {
	m := map[Name]Rate{}
	for n, r := range c.rates() {
		m[n] = *r
	}
	return m
}

// WithDefaults returns c with every zero field set to its default and the SMS countries in
// upper case.
func (c Config) WithDefaults() Config {
	orInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	orDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	orInt(&c.LoginThrottleAfter, table[LoginPerPhone].Default.Max)
	orDur(&c.LoginDelay, 30*time.Second)
	orDur(&c.LoginMaxDelay, 15*time.Minute)
	orDur(&c.FailureReset, DefaultFailureReset)
	orDur(&c.ResendMaxInterval, 30*time.Minute)
	orInt(&c.SMSFactorMaxFailures, table[SMSFactor].Default.Max)
	orInt(&c.RecoveryMaxFailures, table[Recovery].Default.Max)
	orInt(&c.SMSReservePercent, 20)
	for n, r := range c.rates() {
		*r = r.orDefault(table[n].Default)
	}
	c.SMSCountries = slices.Clone(c.SMSCountries)
	for i, s := range c.SMSCountries {
		c.SMSCountries[i] = strings.ToUpper(strings.TrimSpace(s))
	}
	return c
}

// Problems returns every problem of c (after WithDefaults).
func (c Config) Problems() []error {
	var errs []error
	if c.LoginThrottleAfter < 1 {
		errs = append(errs, fmt.Errorf("LoginThrottleAfter %d must be at least 1", c.LoginThrottleAfter))
	}
	if c.LoginDelay < 0 || c.LoginMaxDelay < c.LoginDelay {
		errs = append(errs, fmt.Errorf("LoginDelay %s and LoginMaxDelay %s must be positive, the maximum at least the delay", c.LoginDelay, c.LoginMaxDelay))
	}
	if c.FailureReset < 0 || c.ResendMaxInterval < 0 || c.SMSFactorMaxFailures < 1 || c.RecoveryMaxFailures < 1 {
		errs = append(errs, errors.New("FailureReset, ResendMaxInterval, SMSFactorMaxFailures and RecoveryMaxFailures must be positive"))
	}
	if c.SMSReservePercent < 0 || c.SMSReservePercent > 100 {
		errs = append(errs, fmt.Errorf("SMSReservePercent %d must be 0 to 100", c.SMSReservePercent))
	}
	for _, r := range []Rate{c.LoginPerIP, c.LoginGlobal, c.SMSPhoneHourly, c.SMSPhoneDaily, c.SMSIPHourly, c.SMSPrefixHourly, c.SMSCountryDaily, c.SMSGlobalHourly, c.SMSGlobalDaily, c.SMSSignInPhoneHourly, c.SMSSignInPhoneDaily} {
		if r.Per <= 0 {
			errs = append(errs, fmt.Errorf("rate %s needs a positive period", r))
		}
	}
	return errs
}

// CountryAllowed reports whether codes may be texted to region (empty SMSCountries: any).
func (c Config) CountryAllowed(region string) bool {
	if len(c.SMSCountries) == 0 {
		return true
	}
	return region != "" && slices.Contains(c.SMSCountries, region)
}

// LoginDelayAfter is the wait before the next password attempt after n consecutive failures:
// none below LoginThrottleAfter, then LoginDelay doubling up to LoginMaxDelay.
func (c Config) LoginDelayAfter(n int) time.Duration {
	if n < c.LoginThrottleAfter {
		return 0
	}
	d := c.LoginDelay
	for i := c.LoginThrottleAfter; i < n && d < c.LoginMaxDelay; i++ {
		d *= 2
	}
	return min(d, c.LoginMaxDelay)
}
