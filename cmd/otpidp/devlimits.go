package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/limits"
)

// Development limits. With the console sender on a localhost issuer (or OTPIDP_LIMITS=dev),
// the sign-in and SMS limits are generous enough to try every page many times: a newcomer who
// registers, signs in, resets the password and signs in again, over and over, is never locked
// out. Production defaults (OTPIDP_LIMITS=production, or any other sender or issuer) stay as
// documented. A limit set explicitly is kept either way.
const envLimits = "OTPIDP_LIMITS"

// Limit profiles (OTPIDP_LIMITS).
const (
	limitsAuto       = "auto"
	limitsDev        = "dev"
	limitsProduction = "production"
)

// devAuthLimits are the development values of the authentication core's limits; a zero field
// keeps the production default.
func devAuthLimits() limits.Config {
	return limits.Config{
		LoginThrottleAfter:   20,
		LoginDelay:           2 * time.Second,
		LoginMaxDelay:        30 * time.Second,
		FailureReset:         10 * time.Minute,
		LoginPerIP:           limits.Rate{Max: 1000, Per: 15 * time.Minute},
		ResendMaxInterval:    2 * time.Minute,
		SMSPhoneHourly:       limits.Rate{Max: 100, Per: time.Hour},
		SMSPhoneDaily:        limits.Rate{Max: 500, Per: 24 * time.Hour},
		SMSSignInPhoneHourly: limits.Rate{Max: 100, Per: time.Hour},
		SMSSignInPhoneDaily:  limits.Rate{Max: 500, Per: 24 * time.Hour},
		SMSIPHourly:          limits.Rate{Max: 500, Per: time.Hour},
		SMSPrefixHourly:      limits.Rate{Max: 500, Per: time.Hour},
		RecoveryMaxFailures:  50,
	}
}

// resolveLimitsProfile reads OTPIDP_LIMITS: "auto" (the default) is "dev" with the console
// sender on a localhost issuer, else "production".
func (c *Config) resolveLimitsProfile(lookup func(string) (string, bool), bad func(key, v string, why any)) {
	v, ok := lookup(envLimits)
	v = strings.ToLower(strings.TrimSpace(v))
	if !ok || v == "" {
		v = limitsAuto
	}
	switch v {
	case limitsAuto:
		c.Abuse.DevLimits = c.SMS == smsConsole && isLoopbackURL(c.Issuer)
	case limitsDev:
		c.Abuse.DevLimits = true
	case limitsProduction:
		c.Abuse.DevLimits = false
	default:
		bad(envLimits, v, `must be "auto", "dev" or "production"`)
	}
}

// withDevLimits fills every limit l leaves unset with its development value.
func withDevLimits(l limits.Config) limits.Config {
	d := devAuthLimits()
	orInt := func(v *int, dv int) {
		if *v == 0 {
			*v = dv
		}
	}
	orDur := func(v *time.Duration, dv time.Duration) {
		if *v == 0 {
			*v = dv
		}
	}
	orRate := func(v *limits.Rate, dv limits.Rate) {
		if v.Max == 0 && dv.Max != 0 {
			*v = dv
		}
	}
	orInt(&l.LoginThrottleAfter, d.LoginThrottleAfter)
	orDur(&l.LoginDelay, d.LoginDelay)
	orDur(&l.LoginMaxDelay, d.LoginMaxDelay)
	orDur(&l.FailureReset, d.FailureReset)
	orRate(&l.LoginPerIP, d.LoginPerIP)
	orDur(&l.ResendMaxInterval, d.ResendMaxInterval)
	orRate(&l.SMSPhoneHourly, d.SMSPhoneHourly)
	orRate(&l.SMSPhoneDaily, d.SMSPhoneDaily)
	orRate(&l.SMSSignInPhoneHourly, d.SMSSignInPhoneHourly)
	orRate(&l.SMSSignInPhoneDaily, d.SMSSignInPhoneDaily)
	orRate(&l.SMSIPHourly, d.SMSIPHourly)
	orRate(&l.SMSPrefixHourly, d.SMSPrefixHourly)
	orInt(&l.RecoveryMaxFailures, d.RecoveryMaxFailures)
	return l
}

// logLimits says at start-up which limits apply.
func logLimits(log *slog.Logger, c Config) {
	l := c.authLimits().WithDefaults()
	perIP, failed, perClient := c.tokenLimits()
	profile := limitsProduction
	if c.Abuse.DevLimits {
		profile = limitsDev
		log.Warn(fmt.Sprintf("development limits: generous sign-in and SMS limits for trying the pages (console sender on a localhost issuer); set %s=production to try the production ones", envLimits))
	}
	log.Info("limits", "profile", profile,
		"login_throttle_after", l.LoginThrottleAfter, "login_delay", l.LoginDelay.String(), "login_max_delay", l.LoginMaxDelay.String(),
		"login_ip", l.LoginPerIP.String(), "sms_phone_1h", l.SMSPhoneHourly.String(), "sms_phone_24h", l.SMSPhoneDaily.String(),
		"sms_signin_phone_1h", l.SMSSignInPhoneHourly.String(), "sms_signin_phone_24h", l.SMSSignInPhoneDaily.String(),
		"sms_ip_1h", l.SMSIPHourly.String(), "sms_global_1h", l.SMSGlobalHourly.String(),
		"protocol_ip", perIP.String(), "protocol_failed_ip", failed.String(), "protocol_client", perClient.String(),
		"protocol_limits", "per instance")
}
