package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/signin"
	"github.com/otpidp/otpidp/ui"
)

// The pages' settings: session lifetimes, branding, and the password-reset mode.
const (
	envSessionTTL     = "OTPIDP_SESSION_TTL"
	envSessionIdleTTL = "OTPIDP_SESSION_IDLE_TTL"
	envLogoURL        = "OTPIDP_LOGO_URL"
	envAccentColor    = "OTPIDP_ACCENT_COLOR"
	envResetSMSOnly   = "OTPIDP_RESET_SMS_ONLY"

	defaultSessionTTL     = signin.DefaultSessionTTL
	defaultSessionIdleTTL = signin.DefaultSessionIdleTTL
)

// pagesKeys are the keys pagesConfig reads, in the order of the README's table.
func pagesKeys() []string {
	return []string{envSessionTTL, envSessionIdleTTL, envLogoURL, envAccentColor, envResetSMSOnly}
}

// PagesConfig is the part of Config that the pages use.
type PagesConfig struct {
	SessionTTL     time.Duration // OTPIDP_SESSION_TTL: absolute lifetime of a browser session
	SessionIdleTTL time.Duration // OTPIDP_SESSION_IDLE_TTL: a session ends after this long unused
	LogoURL        string        // OTPIDP_LOGO_URL: https:// or data:image/ URL
	AccentColor    string        // OTPIDP_ACCENT_COLOR: #rrggbb
	ResetSMSOnly   bool          // OTPIDP_RESET_SMS_ONLY: password reset with the SMS code alone (weaker)
}

// loadPagesConfig reads the pages' settings through get and returns them with the problems of
// values that do not parse.
func loadPagesConfig(get func(key, def string) string) (PagesConfig, []string) {
	var c PagesConfig
	var problems []string
	duration := func(key string, def time.Duration) time.Duration {
		v := get(key, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: must be a duration such as 24h or 30m", key, v))
			return def
		}
		return d
	}
	c.SessionTTL = duration(envSessionTTL, defaultSessionTTL)
	c.SessionIdleTTL = duration(envSessionIdleTTL, defaultSessionIdleTTL)
	c.LogoURL = strings.TrimSpace(get(envLogoURL, ""))
	c.AccentColor = strings.ToLower(strings.TrimSpace(get(envAccentColor, "")))
	if v := get(envResetSMSOnly, ""); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: must be true or false", envResetSMSOnly, v))
		}
		c.ResetSMSOnly = b
	}
	return c, problems
}

// problems lists what is wrong with the pages' settings. Zero durations take the defaults.
func (c PagesConfig) problems() []string {
	var p []string
	ttl, idle := c.SessionTTL, c.SessionIdleTTL
	if ttl == 0 {
		ttl = defaultSessionTTL
	}
	if idle == 0 {
		idle = defaultSessionIdleTTL
	}
	if ttl < time.Minute || ttl > 30*24*time.Hour {
		p = append(p, fmt.Sprintf("%s=%s: must be between 1m and 720h", envSessionTTL, ttl))
	}
	if idle < time.Minute || idle > ttl {
		p = append(p, fmt.Sprintf("%s=%s: must be at least 1m and at most %s (%s)", envSessionIdleTTL, idle, envSessionTTL, ttl))
	}
	if err := ui.CheckLogoURL(c.LogoURL); err != nil {
		p = append(p, fmt.Sprintf("%s: %v", envLogoURL, err))
	}
	if err := ui.CheckAccentColor(c.AccentColor); err != nil {
		p = append(p, fmt.Sprintf("%s: %v", envAccentColor, err))
	}
	return p
}
