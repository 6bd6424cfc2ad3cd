package main

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/reqinfo"
)

// Abuse-resistance settings (README: "Abuse resistance"). Each is optional: an unset one takes
// the default documented in the README's configuration table.
const (
	envTrustedProxies     = "OTPIDP_TRUSTED_PROXIES"
	envSMSCountries       = "OTPIDP_SMS_COUNTRIES"
	envLoginThrottleAfter = "OTPIDP_LOGIN_THROTTLE_AFTER"
	envLoginDelay         = "OTPIDP_LOGIN_DELAY"
	envLoginMaxDelay      = "OTPIDP_LOGIN_MAX_DELAY"
	envLoginFailureReset  = "OTPIDP_LOGIN_FAILURE_RESET"
	envLoginPerIP         = "OTPIDP_LOGIN_LIMIT_IP"
	envLoginGlobal        = "OTPIDP_LOGIN_LIMIT_GLOBAL"
	envResendMax          = "OTPIDP_RESEND_MAX_INTERVAL"
	envSMSFactorFailures  = "OTPIDP_SMS_FACTOR_MAX_FAILURES"
	envRecoveryFailures   = "OTPIDP_RECOVERY_MAX_FAILURES"
	envSMSPhoneHourly     = "OTPIDP_SMS_LIMIT_PHONE_HOURLY"
	envSMSPhoneDaily      = "OTPIDP_SMS_LIMIT_PHONE_DAILY"
	envSMSIP              = "OTPIDP_SMS_LIMIT_IP"
	envSMSPrefix          = "OTPIDP_SMS_LIMIT_PREFIX"
	envSMSCountry         = "OTPIDP_SMS_LIMIT_COUNTRY"
	envSMSGlobalHourly    = "OTPIDP_SMS_BUDGET_HOURLY"
	envSMSGlobalDaily     = "OTPIDP_SMS_BUDGET_DAILY"
	envSMSReserve         = "OTPIDP_SMS_RESERVE_PERCENT"
	envSMSSignInHourly    = "OTPIDP_SMS_SIGNIN_LIMIT_PHONE_HOURLY"
	envSMSSignInDaily     = "OTPIDP_SMS_SIGNIN_LIMIT_PHONE_DAILY"
	envOutboxPoll         = "OTPIDP_OUTBOX_POLL"
	envOutboxRetention    = "OTPIDP_OUTBOX_RETENTION"
	envTokenPerIP         = "OTPIDP_TOKEN_LIMIT_IP"
	envTokenPerClient     = "OTPIDP_TOKEN_LIMIT_CLIENT"
	envTokenFailedPerIP   = "OTPIDP_TOKEN_LIMIT_FAILED_IP"
	envAuthorizePerIP     = "OTPIDP_AUTHORIZE_LIMIT_IP"
	envAuthorizePending   = "OTPIDP_AUTHORIZE_PENDING_IP"
	envAuditRetention     = "OTPIDP_AUDIT_RETENTION"
)

// abuseConfigKeys are the keys above, in the order of the README's table.
func abuseConfigKeys() []string {
	return []string{
		envTrustedProxies, envSMSCountries, envLoginThrottleAfter, envLoginDelay, envLoginMaxDelay,
		envLoginFailureReset, envLoginPerIP, envLoginGlobal, envResendMax, envSMSFactorFailures,
		envRecoveryFailures, envSMSPhoneHourly, envSMSPhoneDaily, envSMSIP, envSMSPrefix, envSMSCountry,
		envSMSGlobalHourly, envSMSGlobalDaily, envSMSReserve, envSMSSignInHourly, envSMSSignInDaily,
		envOutboxPoll, envOutboxRetention, envTokenPerIP, envTokenPerClient,
		envTokenFailedPerIP, envAuthorizePerIP, envAuthorizePending, envLimits, envAuditRetention,
	}
}

// Defaults of the protocol limits: the limits table's.
var (
	defaultTokenPerIP       = defaultRate(limits.ProtocolPerIP)
	defaultTokenPerClient   = defaultRate(limits.ProtocolPerClient)
	defaultTokenFailedPerIP = defaultRate(limits.ProtocolFailedPerIP)
)

// defaultRate is the named limit's default rate.
func defaultRate(n limits.Name) limits.Rate {
	s, _ := limits.Lookup(n)
	return s.Default
}

// AbuseConfig holds the abuse-resistance settings as given; zero fields take the defaults
// (limits.Config's for the authentication core).
type AbuseConfig struct {
	TrustedProxies []netip.Prefix // OTPIDP_TRUSTED_PROXIES: believe X-Forwarded-For only from these
	// SMSCountries: OTPIDP_SMS_COUNTRIES, regions codes may be sent to; empty: the default
	// region only; ["*"]: any.
	SMSCountries []string
	Auth         limits.Config
	// The protocol limits (token, introspection, revocation, device authorization), token
	// buckets per instance: OTPIDP_TOKEN_LIMIT_IP, requests that authenticate no client per
	// client IP; OTPIDP_TOKEN_LIMIT_CLIENT, requests of one authenticated client;
	// OTPIDP_TOKEN_LIMIT_FAILED_IP, failed client authentications per client IP.
	TokenPerIP       limits.Rate
	TokenPerClient   limits.Rate
	TokenFailedPerIP limits.Rate
	// The authorization endpoint: OTPIDP_AUTHORIZE_LIMIT_IP, requests per client IP (per
	// instance); OTPIDP_AUTHORIZE_PENDING_IP, requests from one client IP not yet completed.
	AuthorizePerIP        limits.Rate
	AuthorizePendingPerIP int
	// DevLimits: OTPIDP_LIMITS, the generous development limits apply to every limit left
	// unset (devlimits.go).
	DevLimits bool
	// AuditRetention: OTPIDP_AUDIT_RETENTION, how long audit events are kept; 0: the default
	// (defaultAuditRetention), negative: forever ("off").
	AuditRetention time.Duration
	// OutboxPoll (OTPIDP_OUTBOX_POLL): how often an idle instance looks for queued texts that
	// another instance enqueued; OutboxRetention (OTPIDP_OUTBOX_RETENTION): how long sent and
	// failed outbox rows (no payload left) are kept. 0: the defaults.
	OutboxPoll, OutboxRetention time.Duration
}

// defaultAuditRetention keeps the audit log 400 days: a year and a month, enough to compare
// with the same month of the year before.
const defaultAuditRetention = 400 * 24 * time.Hour

// parseCountries parses OTPIDP_SMS_COUNTRIES: two-letter region codes, or * for any; each
// part that is neither is reported through bad.
func parseCountries(v string, bad func(why string)) []string {
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		part = strings.ToUpper(strings.TrimSpace(part))
		switch {
		case part == "":
		case part == "*":
			out = []string{"*"}
		case isRegionCode(part) && phonenumbers.GetCountryCodeForRegion(part) != 0:
			if !slices.Contains(out, "*") {
				out = append(out, part)
			}
		default:
			bad(fmt.Sprintf("%q is not a two-letter region code like US or GB (or * for any)", part))
		}
	}
	return out
}

// resolveAbuse reads the abuse settings through lookup and returns the problems found.
func (c *Config) resolveAbuse(lookup func(string) (string, bool)) []string {
	var p []string
	bad := func(key, v string, why any) { p = append(p, fmt.Sprintf("%s=%q: %v", key, v, why)) }
	if v, ok := lookup(envTrustedProxies); ok {
		pr, err := reqinfo.ParseTrustedProxies(v)
		if err != nil {
			bad(envTrustedProxies, v, err)
		}
		c.Abuse.TrustedProxies = pr
	}
	if v, ok := lookup(envSMSCountries); ok {
		c.Abuse.SMSCountries = append(c.Abuse.SMSCountries, parseCountries(v, func(why string) { bad(envSMSCountries, v, why) })...)
		if slices.Contains(c.Abuse.SMSCountries, "*") {
			c.Abuse.SMSCountries = []string{"*"}
		}
	}
	count := func(key string, dst *int, min, max int) {
		if v, ok := lookup(key); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < min || n > max {
				bad(key, v, fmt.Sprintf("must be a whole number from %d to %d", min, max))
				return
			}
			*dst = n
		}
	}
	duration := func(key string, dst *time.Duration) {
		if v, ok := lookup(key); ok {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || d <= 0 {
				bad(key, v, `must be a positive duration like "30s", "15m" or "12h"`)
				return
			}
			*dst = d
		}
	}
	rate := func(key string, dst *limits.Rate) {
		if v, ok := lookup(key); ok {
			r, err := limits.ParseRate(v)
			if err != nil {
				bad(key, v, err)
				return
			}
			*dst = r
		}
	}
	a := &c.Abuse.Auth
	count(envLoginThrottleAfter, &a.LoginThrottleAfter, 1, 1000)
	duration(envLoginDelay, &a.LoginDelay)
	duration(envLoginMaxDelay, &a.LoginMaxDelay)
	duration(envLoginFailureReset, &a.FailureReset)
	rate(envLoginPerIP, &a.LoginPerIP)
	rate(envLoginGlobal, &a.LoginGlobal)
	duration(envResendMax, &a.ResendMaxInterval)
	count(envSMSFactorFailures, &a.SMSFactorMaxFailures, 1, 100)
	count(envRecoveryFailures, &a.RecoveryMaxFailures, 1, 100)
	rate(envSMSPhoneHourly, &a.SMSPhoneHourly)
	rate(envSMSPhoneDaily, &a.SMSPhoneDaily)
	rate(envSMSIP, &a.SMSIPHourly)
	rate(envSMSPrefix, &a.SMSPrefixHourly)
	rate(envSMSCountry, &a.SMSCountryDaily)
	rate(envSMSGlobalHourly, &a.SMSGlobalHourly)
	rate(envSMSGlobalDaily, &a.SMSGlobalDaily)
	count(envSMSReserve, &a.SMSReservePercent, 1, 99)
	rate(envSMSSignInHourly, &a.SMSSignInPhoneHourly)
	rate(envSMSSignInDaily, &a.SMSSignInPhoneDaily)
	duration(envOutboxPoll, &c.Abuse.OutboxPoll)
	duration(envOutboxRetention, &c.Abuse.OutboxRetention)
	if p := c.Abuse.OutboxPoll; p != 0 && (p < 100*time.Millisecond || p > time.Minute) {
		bad(envOutboxPoll, p.String(), "must be from 100ms to 1m")
	}
	rate(envTokenPerIP, &c.Abuse.TokenPerIP)
	rate(envTokenPerClient, &c.Abuse.TokenPerClient)
	rate(envTokenFailedPerIP, &c.Abuse.TokenFailedPerIP)
	rate(envAuthorizePerIP, &c.Abuse.AuthorizePerIP)
	count(envAuthorizePending, &c.Abuse.AuthorizePendingPerIP, 1, 100_000)
	if v, ok := lookup(envAuditRetention); ok {
		d, err := parseRetention(v)
		if err != nil {
			bad(envAuditRetention, v, err)
		}
		c.Abuse.AuditRetention = d
	}
	c.resolveLimitsProfile(lookup, bad)
	if a.LoginMaxDelay != 0 && a.LoginDelay > a.LoginMaxDelay {
		p = append(p, fmt.Sprintf("%s must not be shorter than %s", envLoginMaxDelay, envLoginDelay))
	}
	return p
}

// authLimits are the authentication core's limits: the settings, with the SMS countries
// defaulting to the default region's.
func (c Config) authLimits() limits.Config {
	l := c.Abuse.Auth
	if c.Abuse.DevLimits {
		l = withDevLimits(l)
	}
	switch {
	case len(c.Abuse.SMSCountries) == 0:
		l.SMSCountries = []string{c.DefaultRegion}
	case slices.Contains(c.Abuse.SMSCountries, "*"):
		l.SMSCountries = nil
	default:
		l.SMSCountries = slices.Clone(c.Abuse.SMSCountries)
	}
	return l
}

// parseRetention parses a retention period: "off" (keep forever, returned as -1), a number of
// days ("400d") or a duration ("720h") of at least a day.
func parseRetention(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "off" {
		return -1, nil
	}
	bad := errors.New(`must be a number of days like "400d", a duration like "720h" (at least 24h), or "off"`)
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 100*365 {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, bad
		}
	}
	if d < 24*time.Hour {
		return 0, bad
	}
	return d, nil
}

// auditRetention is how long audit events are kept; 0: forever.
func (c Config) auditRetention() time.Duration {
	switch r := c.Abuse.AuditRetention; {
	case r < 0:
		return 0
	case r == 0:
		return defaultAuditRetention
	default:
		return r
	}
}

// tokenLimits are the protocol limits with their defaults.
func (c Config) tokenLimits() (perIP, failedPerIP, perClient limits.Rate) {
	or := func(r, d limits.Rate) limits.Rate {
		if r.Max == 0 {
			return d
		}
		return r
	}
	return or(c.Abuse.TokenPerIP, defaultTokenPerIP), or(c.Abuse.TokenFailedPerIP, defaultTokenFailedPerIP),
		or(c.Abuse.TokenPerClient, defaultTokenPerClient)
}

// authorizeLimits are the authorization endpoint's limits (zero fields: the provider's defaults).
func (c Config) authorizeLimits() provider.AuthorizeLimits {
	return provider.AuthorizeLimits{PerIP: c.Abuse.AuthorizePerIP, PendingPerIP: c.Abuse.AuthorizePendingPerIP}
}
