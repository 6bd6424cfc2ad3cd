package main

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider/sms"
)

// Observability settings: logs, the admin listener (metrics, pprof), trace export and the SMS
// circuit breaker.
const (
	envLogFormat       = "OTPIDP_LOG_FORMAT"
	envAccessLog       = "OTPIDP_ACCESS_LOG"
	envAdminAddr       = "OTPIDP_ADMIN_ADDR"
	envOTLPEndpoint    = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTelServiceName = "OTEL_SERVICE_NAME"
	envBreakerFailures = "OTPIDP_SMS_BREAKER_FAILURES"
	envBreakerCoolDown = "OTPIDP_SMS_BREAKER_COOLDOWN"

	logFormatJSON    = "json"
	logFormatText    = "text"
	defaultAdminAddr = "127.0.0.1:9090"
	adminOff         = "off"
)

// obsConfigKeys are the keys loadObsConfig reads, in the order of the README's table.
func obsConfigKeys() []string {
	return []string{envLogFormat, envAccessLog, envAdminAddr, envOTLPEndpoint, envOTelServiceName, envBreakerFailures, envBreakerCoolDown}
}

// ObsConfig is how otpidp can be watched.
type ObsConfig struct {
	LogFormat       string        // OTPIDP_LOG_FORMAT: json or text
	AccessLog       bool          // OTPIDP_ACCESS_LOG: one line per request
	AdminAddr       string        // OTPIDP_ADMIN_ADDR: /metrics and /debug/pprof; "" when off
	OTLPEndpoint    string        // OTEL_EXPORTER_OTLP_ENDPOINT: trace export over OTLP/HTTP; "" off
	ServiceName     string        // OTEL_SERVICE_NAME: service.name of the spans
	BreakerFailures int           // OTPIDP_SMS_BREAKER_FAILURES: SMS provider failures in a row that open the breaker
	BreakerCoolDown time.Duration // OTPIDP_SMS_BREAKER_COOLDOWN: how long it stays open before a probe
}

// loadObsConfig reads the observability settings through get, with the problems of values
// that do not parse or make no sense.
func loadObsConfig(get func(key, def string) string) (ObsConfig, []string) {
	var p []string
	c := ObsConfig{
		LogFormat:    strings.ToLower(strings.TrimSpace(get(envLogFormat, logFormatText))),
		AdminAddr:    strings.TrimSpace(get(envAdminAddr, defaultAdminAddr)),
		OTLPEndpoint: strings.TrimSpace(get(envOTLPEndpoint, "")),
		ServiceName:  strings.TrimSpace(get(envOTelServiceName, "otpidp")),
	}
	if c.LogFormat != logFormatJSON && c.LogFormat != logFormatText {
		p = append(p, fmt.Sprintf("%s=%q: must be json or text", envLogFormat, c.LogFormat))
	}
	switch v := strings.ToLower(strings.TrimSpace(get(envAccessLog, "on"))); v {
	case "on", "true":
		c.AccessLog = true
	case "off", "false":
	default:
		p = append(p, fmt.Sprintf("%s=%q: must be on or off", envAccessLog, v))
	}
	if strings.EqualFold(c.AdminAddr, adminOff) {
		c.AdminAddr = ""
	} else if err := checkAddr(c.AdminAddr); err != nil {
		p = append(p, fmt.Sprintf("%s=%q: %v (or off)", envAdminAddr, c.AdminAddr, err))
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, fmt.Sprintf("%s=%q: must be an http:// or https:// URL (OTLP over HTTP), such as http://localhost:4318", envOTLPEndpoint, c.OTLPEndpoint))
		}
	}
	c.BreakerFailures = sms.DefaultBreakerFailures
	if v := get(envBreakerFailures, ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			p = append(p, fmt.Sprintf("%s=%q: must be a number from 1 to 1000", envBreakerFailures, v))
		}
		c.BreakerFailures = n
	}
	c.BreakerCoolDown = sms.DefaultBreakerCoolDown
	if v := get(envBreakerCoolDown, ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			p = append(p, fmt.Sprintf("%s=%q: must be a duration from 1s to 1h", envBreakerCoolDown, v))
		}
		c.BreakerCoolDown = d
	}
	return c, p
}

// adminIsLoopback reports whether the admin listener only takes local connections.
func (c ObsConfig) adminIsLoopback() bool {
	host, _, err := net.SplitHostPort(c.AdminAddr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
