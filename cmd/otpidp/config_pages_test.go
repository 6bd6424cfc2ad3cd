package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestPagesConfig(t *testing.T) {
	ok := map[string]string{
		"OTPIDP_SESSION_TTL": "12h", "OTPIDP_SESSION_IDLE_TTL": "30m", "OTPIDP_LOGO_URL": "https://cdn.example/logo.svg",
		"OTPIDP_ACCENT_COLOR": "#7A1FA2", "OTPIDP_RESET_SMS_ONLY": "true",
	}
	c, err := loadConfig(nil, mapEnv(ok), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := PagesConfig{SessionTTL: 12 * time.Hour, SessionIdleTTL: 30 * time.Minute, LogoURL: "https://cdn.example/logo.svg", AccentColor: "#7a1fa2", ResetSMSOnly: true}
	if c.Pages != want {
		t.Fatalf("Pages = %+v, want %+v", c.Pages, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OTPIDP_SESSION_TTL": "a day"}, "OTPIDP_SESSION_TTL=\"a day\": must be a duration"},
		{map[string]string{"OTPIDP_SESSION_TTL": "30s"}, "OTPIDP_SESSION_TTL=30s: must be between 1m and 720h"},
		{map[string]string{"OTPIDP_SESSION_TTL": "1000h"}, "must be between 1m and 720h"},
		{map[string]string{"OTPIDP_SESSION_TTL": "2h", "OTPIDP_SESSION_IDLE_TTL": "3h"}, "OTPIDP_SESSION_IDLE_TTL=3h0m0s: must be at least 1m and at most OTPIDP_SESSION_TTL"},
		{map[string]string{"OTPIDP_LOGO_URL": "http://cdn.example/logo.png"}, "OTPIDP_LOGO_URL: logo URL"},
		{map[string]string{"OTPIDP_ACCENT_COLOR": "#ffff00"}, "OTPIDP_ACCENT_COLOR: accent colour #ffff00: contrast"},
		{map[string]string{"OTPIDP_ACCENT_COLOR": "blue"}, "want #rrggbb"},
		{map[string]string{"OTPIDP_RESET_SMS_ONLY": "sometimes"}, "OTPIDP_RESET_SMS_ONLY=\"sometimes\": must be true or false"},
	} {
		c, err := loadConfig(nil, mapEnv(tt.env), io.Discard)
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.env, err, tt.want)
		}
	}
}
