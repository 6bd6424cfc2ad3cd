package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

// TestLimitsProfile: the development limits apply with the console sender on a localhost
// issuer (or OTPIDP_LIMITS=dev), never otherwise; a limit set explicitly is kept; the start-up
// log says which limits apply.
func TestLimitsProfile(t *testing.T) {
	inTempDir(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		dev  bool
	}{
		{"localhost console", nil, true},
		{"public issuer", map[string]string{"OTPIDP_ISSUER": "https://id.example.com", "OTPIDP_SMS": "console"}, false},
		{"production asked for", map[string]string{"OTPIDP_LIMITS": "production"}, false},
		{"dev asked for", map[string]string{"OTPIDP_ISSUER": "https://id.example.com", "OTPIDP_SMS": "console", "OTPIDP_LIMITS": "dev"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(nil, mapEnv(tc.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			l := cfg.authLimits().WithDefaults()
			if cfg.Abuse.DevLimits != tc.dev {
				t.Fatalf("DevLimits = %v, want %v", cfg.Abuse.DevLimits, tc.dev)
			}
			wantPhone, wantAfter := auth.Rate{Max: 5, Per: time.Hour}, 5
			if tc.dev {
				wantPhone, wantAfter = devAuthLimits().SMSPhoneHourly, devAuthLimits().LoginThrottleAfter
			}
			if l.SMSPhoneHourly != wantPhone || l.LoginThrottleAfter != wantAfter {
				t.Fatalf("limits %v / %d, want %v / %d", l.SMSPhoneHourly, l.LoginThrottleAfter, wantPhone, wantAfter)
			}
			var logs bytes.Buffer
			logLimits(slog.New(slog.NewTextHandler(&logs, nil)), cfg)
			want := "profile=production"
			if tc.dev {
				want = "profile=dev"
			}
			if !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), "sms_phone_1h="+wantPhone.String()) {
				t.Fatalf("start-up log lacks %q:\n%s", want, logs.String())
			}
		})
	}
	cfg, err := loadConfig(nil, mapEnv(map[string]string{"OTPIDP_SMS_LIMIT_PHONE_HOURLY": "3/1h"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.authLimits(); !cfg.Abuse.DevLimits || l.SMSPhoneHourly != (auth.Rate{Max: 3, Per: time.Hour}) || l.SMSPhoneDaily != devAuthLimits().SMSPhoneDaily {
		t.Fatalf("an explicit limit in development: %v %v", l.SMSPhoneHourly, l.SMSPhoneDaily)
	}
	if _, err := loadConfig(nil, mapEnv(map[string]string{"OTPIDP_LIMITS": "lax"}), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "OTPIDP_LIMITS") {
		t.Fatalf("OTPIDP_LIMITS=lax: %v", err)
	}
}

// newcomer tries the demo as a newcomer does, within one hour: registers, then signs in again
// and again (mistyping the password twice each time), and starts two password resets. It
// returns the first step that did not go through, "" when every one did.
func newcomer(t *testing.T, ts *testServer) string {
	// The limits count per fixed window (an hour starts on the hour): the whole try stays
	// inside one hour, whatever the time the test runs at.
	now := ts.clock.now()
	ts.clock.advance(now.Truncate(time.Hour).Add(time.Hour + time.Second).Sub(now))
	rp := registerRP(t, ts, false)
	b := newBrowser(t)
	a := rp.start()
	register(t, ts, b, a)
	for i := range 8 {
		b := newBrowser(t)
		a := rp.start()
		login := b.get(a.url)
		for range 2 {
			if r := b.submit(login, "/login", map[string]string{"phone": testPhone, "password": "not my password"}); r.status != http.StatusUnauthorized {
				return fmt.Sprintf("mistyped password %d: %d", i+1, r.status)
			}
		}
		codePage := b.submit(login, "/login", map[string]string{"phone": testPhone, "password": testPassword})
		if codePage.url.Path != "/code" {
			return fmt.Sprintf("sign-in %d: %d %s", i+1, codePage.status, codePage.url.Path)
		}
		done := b.submit(codePage, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
		if done.location == "" || !strings.Contains(done.location, "code=") {
			return fmt.Sprintf("sign-in %d, code: %d %s", i+1, done.status, done.url)
		}
		ts.clock.advance(3 * time.Minute)
		if i%4 == 3 {
			page := b.submit(b.get(ts.issuer+"/forgot"), "/forgot", map[string]string{"phone": testPhone})
			if page.url.Path != "/forgot/verify" {
				return fmt.Sprintf("reset after sign-in %d: %d %s", i+1, page.status, page.url.Path)
			}
		}
	}
	return ""
}

// TestNewcomerNotLockedOut (issue 9): with the development limits a newcomer trying every page
// many times is never locked out; with the production limits the same hour is refused (which
// is why development has its own).
func TestNewcomerNotLockedOut(t *testing.T) {
	dev := startServer(t, stores(t)["sqlite"](t), func(c *Config) { c.Abuse = AbuseConfig{DevLimits: true} })
	if step := newcomer(t, dev); step != "" {
		t.Fatalf("development limits: the newcomer was refused at %s", step)
	}
	if !strings.Contains(dev.logs.String(), "profile=dev") {
		t.Errorf("the start-up log does not say the development limits apply:\n%.2000s", dev.logs.String())
	}
	prod := startServer(t, stores(t)["sqlite"](t), func(c *Config) { c.Abuse = AbuseConfig{} })
	step := newcomer(t, prod)
	t.Logf("production limits refused the newcomer at %s", step)
	if step == "" {
		t.Fatal("production limits let the whole hour through: the test no longer shows what the development limits change")
	}
	if !strings.Contains(prod.logs.String(), "profile=production") {
		t.Errorf("the start-up log does not say the production limits apply")
	}
}
