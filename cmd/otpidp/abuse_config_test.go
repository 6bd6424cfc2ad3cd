package main

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

func TestAbuseConfigValues(t *testing.T) {
	inTempDir(t)
	var stderr bytes.Buffer
	cfg, err := loadConfig(nil, mapEnv(map[string]string{
		"OTPIDP_TRUSTED_PROXIES":         "10.0.0.0/8, 192.0.2.7",
		"OTPIDP_SMS_COUNTRIES":           "us, gb",
		"OTPIDP_LOGIN_THROTTLE_AFTER":    "3",
		"OTPIDP_LOGIN_DELAY":             "10s",
		"OTPIDP_LOGIN_MAX_DELAY":         "5m",
		"OTPIDP_LOGIN_LIMIT_IP":          "20/10m",
		"OTPIDP_SMS_LIMIT_PHONE_HOURLY":  "3/1h",
		"OTPIDP_SMS_LIMIT_PREFIX":        "off",
		"OTPIDP_SMS_RESERVE_PERCENT":     "30",
		"OTPIDP_SMS_FACTOR_MAX_FAILURES": "50",
		"OTPIDP_RECOVERY_MAX_FAILURES":   "3",
		"OTPIDP_TOKEN_LIMIT_CLIENT":      "100/1m",
		"OTPIDP_TOKEN_LIMIT_FAILED_IP":   "5/1m",
	}), &stderr)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
	l := cfg.authLimits()
	if len(cfg.Abuse.TrustedProxies) != 2 || !slices.Equal(l.SMSCountries, []string{"US", "GB"}) ||
		l.LoginThrottleAfter != 3 || l.LoginDelay != 10*time.Second || l.LoginMaxDelay != 5*time.Minute ||
		l.LoginPerIP != (auth.Rate{Max: 20, Per: 10 * time.Minute}) || l.SMSPhoneHourly != (auth.Rate{Max: 3, Per: time.Hour}) ||
		l.SMSPrefixHourly.Max >= 0 || l.SMSReservePercent != 30 || l.SMSFactorMaxFailures != 50 ||
		l.RecoveryMaxFailures != 3 {
		t.Fatalf("abuse settings not read: %+v", cfg.Abuse)
	}
	ip, failed, client := cfg.tokenLimits()
	if ip != defaultTokenPerIP || failed != (auth.Rate{Max: 5, Per: time.Minute}) || client != (auth.Rate{Max: 100, Per: time.Minute}) {
		t.Fatalf("token limits: %v %v %v", ip, failed, client)
	}
}

func TestAbuseConfigDefaults(t *testing.T) {
	inTempDir(t)
	cfg, err := loadConfig(nil, mapEnv(map[string]string{"OTPIDP_DEFAULT_REGION": "gb"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.authLimits().SMSCountries; !slices.Equal(got, []string{"GB"}) {
		t.Fatalf("default SMS countries = %v, want the default region's", got)
	}
	cfg, err = loadConfig(nil, mapEnv(map[string]string{"OTPIDP_SMS_COUNTRIES": "*"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.authLimits().SMSCountries; got != nil {
		t.Fatalf("* = %v, want any country", got)
	}
}

func TestAbuseConfigRefusals(t *testing.T) {
	for key, value := range map[string]string{
		"OTPIDP_TRUSTED_PROXIES":         "10.0.0.0/33",
		"OTPIDP_SMS_COUNTRIES":           "US,XX1",
		"OTPIDP_LOGIN_THROTTLE_AFTER":    "0",
		"OTPIDP_LOGIN_DELAY":             "-1s",
		"OTPIDP_LOGIN_LIMIT_IP":          "many",
		"OTPIDP_SMS_LIMIT_PHONE_DAILY":   "10/0s",
		"OTPIDP_SMS_RESERVE_PERCENT":     "100",
		"OTPIDP_SMS_FACTOR_MAX_FAILURES": "101",
		"OTPIDP_RECOVERY_MAX_FAILURES":   "0",
		"OTPIDP_TOKEN_LIMIT_IP":          "0/1m",
	} {
		t.Run(key, func(t *testing.T) {
			inTempDir(t)
			_, err := loadConfig(nil, mapEnv(map[string]string{key: value}), &bytes.Buffer{})
			var ce *configError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), key) {
				t.Fatalf("%s=%q: err = %v, want a configuration error naming it", key, value, err)
			}
		})
	}
	for _, v := range []string{"101", "ten", "-1", "2.5"} {
		inTempDir(t)
		if _, err := loadConfig(nil, mapEnv(map[string]string{"OTPIDP_RECOVERY_MAX_FAILURES": v}), &bytes.Buffer{}); err == nil {
			t.Fatalf("OTPIDP_RECOVERY_MAX_FAILURES=%q was accepted", v)
		}
	}
	inTempDir(t)
	_, err := loadConfig(nil, mapEnv(map[string]string{"OTPIDP_LOGIN_DELAY": "10m", "OTPIDP_LOGIN_MAX_DELAY": "1m"}), &bytes.Buffer{})
	if err == nil {
		t.Fatal("a maximum delay shorter than the delay was accepted")
	}
}
