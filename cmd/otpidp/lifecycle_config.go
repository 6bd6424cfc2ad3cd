package main

import (
	"fmt"
	"strings"
	"time"
)

// Deadline and shutdown settings (README "Deadlines, shutdown and health").
const (
	envDBTimeout     = "OTPIDP_DB_TIMEOUT"
	envShutdownDrain = "OTPIDP_SHUTDOWN_DRAIN"
	envShutdownGrace = "OTPIDP_SHUTDOWN_GRACE"

	defaultDBTimeout     = 3 * time.Second
	defaultShutdownDrain = 5 * time.Second
	defaultShutdownGrace = 20 * time.Second

	maxDBTimeout = time.Minute
)

// LifecycleConfig bounds the database calls and the shutdown.
type LifecycleConfig struct {
	DBTimeout     time.Duration // OTPIDP_DB_TIMEOUT: each database call; 100ms–1m
	ShutdownDrain time.Duration // OTPIDP_SHUTDOWN_DRAIN: /readyz answers 503 this long before the listener closes
	ShutdownGrace time.Duration // OTPIDP_SHUTDOWN_GRACE: from SIGTERM to exit, at most
}

func lifecycleConfigKeys() []string {
	return []string{envDBTimeout, envShutdownDrain, envShutdownGrace}
}

// resolveLifecycle reads the deadline and shutdown settings into c.
func resolveLifecycle(c *Config, get func(key, def string) string) []string {
	var p []string
	read := func(key string, def time.Duration, dst *time.Duration) {
		v := strings.TrimSpace(get(key, def.String()))
		d, err := time.ParseDuration(v)
		if err != nil {
			p = append(p, fmt.Sprintf("%s=%q: must be a duration such as %v", key, v, def))
			return
		}
		*dst = d
	}
	read(envDBTimeout, defaultDBTimeout, &c.Lifecycle.DBTimeout)
	read(envShutdownDrain, defaultShutdownDrain, &c.Lifecycle.ShutdownDrain)
	read(envShutdownGrace, defaultShutdownGrace, &c.Lifecycle.ShutdownGrace)
	return p
}

// lifecycleProblems checks the settings. Zero values (a Config built by a test) take the
// defaults (withDefaults).
func (c *Config) lifecycleProblems() []string {
	l := c.Lifecycle
	var p []string
	if l.DBTimeout != 0 && (l.DBTimeout < 100*time.Millisecond || l.DBTimeout > maxDBTimeout) {
		p = append(p, fmt.Sprintf("%s=%v: must be between 100ms and %v", envDBTimeout, l.DBTimeout, maxDBTimeout))
	}
	if l.ShutdownDrain < 0 {
		p = append(p, envShutdownDrain+" must not be negative")
	}
	if l.ShutdownGrace < 0 {
		p = append(p, envShutdownGrace+" must not be negative")
	} else if l.ShutdownGrace != 0 && l.ShutdownGrace <= l.ShutdownDrain {
		p = append(p, fmt.Sprintf("%s (%v) must be longer than %s (%v): requests need time to finish after the drain", envShutdownGrace, l.ShutdownGrace, envShutdownDrain, l.ShutdownDrain))
	}
	return p
}

// withDefaults fills the zero settings.
func (l LifecycleConfig) withDefaults() LifecycleConfig {
	if l.DBTimeout == 0 {
		l.DBTimeout = defaultDBTimeout
	}
	if l.ShutdownGrace == 0 {
		l.ShutdownGrace = defaultShutdownGrace
	}
	return l
}
