package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider"
)

// envRefreshGrace is the refresh token grace period (SECURITY.md OP-07).
const envRefreshGrace = "OTPIDP_REFRESH_GRACE"

// maxRefreshGrace bounds the grace period: it is a window in which a stolen, rotated token
// still works, meant for concurrent requests of one client, not for clients that keep old
// tokens.
const maxRefreshGrace = 5 * time.Minute

// resolveTokenSettings reads OTPIDP_REFRESH_GRACE into c: a Go duration from 0 ("0" or "off":
// no grace, every second use revokes the family) to 5m; default 30s.
func resolveTokenSettings(c *Config, get func(key, def string) string) []string {
	v := strings.ToLower(strings.TrimSpace(get(envRefreshGrace, provider.DefaultRefreshGrace.String())))
	if v == "off" || v == "0" {
		c.RefreshGrace = -1
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > maxRefreshGrace {
		return []string{fmt.Sprintf("%s=%q: must be a duration from 0 to %v, like 30s, or off", envRefreshGrace, v, maxRefreshGrace)}
	}
	if d == 0 {
		c.RefreshGrace = -1
	} else {
		c.RefreshGrace = d
	}
	return nil
}
