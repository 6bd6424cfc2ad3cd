package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLifecycleConfig(t *testing.T) {
	c, err := loadConfig(nil, mapEnv(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := LifecycleConfig{DBTimeout: 3 * time.Second, ShutdownDrain: 5 * time.Second, ShutdownGrace: 20 * time.Second}
	if c.Lifecycle != want {
		t.Errorf("defaults %+v, want %+v", c.Lifecycle, want)
	}
	c, err = loadConfig(nil, mapEnv(map[string]string{envDBTimeout: "750ms", envShutdownDrain: "0s", envShutdownGrace: "2s"}), &bytes.Buffer{})
	if err != nil || c.Lifecycle != (LifecycleConfig{750 * time.Millisecond, 0, 2 * time.Second}) {
		t.Errorf("set: %+v, %v", c.Lifecycle, err)
	}
	for env, wantProblem := range map[string]string{
		envDBTimeout:     "OTPIDP_DB_TIMEOUT",
		envShutdownDrain: "OTPIDP_SHUTDOWN_DRAIN",
		envShutdownGrace: "OTPIDP_SHUTDOWN_GRACE",
	} {
		for _, v := range []string{"soon", "-1s"} {
			_, err := loadConfig(nil, mapEnv(map[string]string{env: v}), &bytes.Buffer{})
			var ce *configError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), wantProblem) {
				t.Errorf("%s=%s: %v, want a configuration error naming it", env, v, err)
			}
		}
	}
	for name, env := range map[string]map[string]string{
		"timeout too short":  {envDBTimeout: "10ms"},
		"timeout too long":   {envDBTimeout: "2m"},
		"grace within drain": {envShutdownDrain: "10s", envShutdownGrace: "10s"},
	} {
		var ce *configError
		if _, err := loadConfig(nil, mapEnv(env), &bytes.Buffer{}); !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a configuration error", name, err)
		}
	}
}
