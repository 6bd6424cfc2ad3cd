package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestRefreshGraceConfig: OTPIDP_REFRESH_GRACE takes a duration up to 5m, or 0/off for none
// (< 0 for the provider); anything else is a configuration error naming the variable.
func TestRefreshGraceConfig(t *testing.T) {
	for _, c := range []struct {
		value string
		want  time.Duration
		bad   bool
	}{
		{"", 30 * time.Second, false},
		{"10s", 10 * time.Second, false},
		{"5m", 5 * time.Minute, false},
		{"0", -1, false},
		{"0s", -1, false},
		{"off", -1, false},
		{"6m", 0, true},
		{"-1s", 0, true},
		{"soon", 0, true},
	} {
		inTempDir(t)
		env := map[string]string{}
		if c.value != "" {
			env["OTPIDP_REFRESH_GRACE"] = c.value
		}
		var stderr bytes.Buffer
		got, err := loadConfig(nil, mapEnv(env), &stderr)
		if c.bad {
			if err == nil || !strings.Contains(err.Error(), "OTPIDP_REFRESH_GRACE") {
				t.Errorf("%q: err = %v, want a problem naming OTPIDP_REFRESH_GRACE", c.value, err)
			}
			continue
		}
		if err != nil || got.RefreshGrace != c.want {
			t.Errorf("%q: RefreshGrace %v (err %v), want %v", c.value, got.RefreshGrace, err, c.want)
		}
	}
}
