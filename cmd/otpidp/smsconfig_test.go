package main

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/sms"
)

const (
	cfgAccount   = "AC0123456789abcdef0123456789abcdef"
	cfgToken     = "T0kenSecretValue0123456789abcdef"
	cfgKey       = "SK0123456789abcdef0123456789abcdef"
	cfgSecret    = "KeySecretValue0123456789abcdefAB"
	cfgMessaging = "MG0123456789abcdef0123456789abcdef"
	cfgVerify    = "VA0123456789abcdef0123456789abcdef"
)

// TestSwitchToTwilioIsThreeVariables: the README's promise. On a public issuer, the three
// variables of Twilio's tutorials are all it takes to send real SMS.
func TestSwitchToTwilioIsThreeVariables(t *testing.T) {
	inTempDir(t)
	env := map[string]string{
		"OTPIDP_ISSUER":       "https://id.example.com",
		"TWILIO_ACCOUNT_SID":  cfgAccount,
		"TWILIO_AUTH_TOKEN":   cfgToken,
		"TWILIO_PHONE_NUMBER": "+15005550006",
	}
	// Without them the same deployment refuses to start.
	if _, err := loadConfig(nil, mapEnv(map[string]string{"OTPIDP_ISSUER": "https://id.example.com"}), &bytes.Buffer{}); err == nil {
		t.Fatal("a public issuer started without an SMS provider")
	}
	c, err := loadConfig(nil, mapEnv(env), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSender(c, nil, slog.New(slog.DiscardHandler), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("newSender: %v", err)
	}
	if _, ok := s.(*sms.Twilio); !ok || c.SMS != "twilio" {
		t.Fatalf("sender %T, SMS %q; want the Twilio Messages API", s, c.SMS)
	}
}

func TestSMSConfig(t *testing.T) {
	base := map[string]string{"OTPIDP_ISSUER": "https://id.example.com", "TWILIO_ACCOUNT_SID": cfgAccount, "TWILIO_AUTH_TOKEN": cfgToken}
	messages := with(base, "TWILIO_PHONE_NUMBER", "+15005550006")
	tests := []struct {
		name   string
		env    map[string]string
		check  func(t *testing.T, c Config)
		sender string // the sender's type, %T
	}{
		{"messaging service", with(base, "TWILIO_MESSAGING_SERVICE_SID", cfgMessaging), func(t *testing.T, c Config) {
			if c.SMS != "twilio" || c.TwilioMessagingServiceSID != cfgMessaging {
				t.Errorf("SMS %q, service %q", c.SMS, c.TwilioMessagingServiceSID)
			}
		}, "*sms.Twilio"},
		{"API key instead of the auth token", with(messages, "TWILIO_AUTH_TOKEN", "", "TWILIO_API_KEY", cfgKey, "TWILIO_API_SECRET", cfgSecret), func(t *testing.T, c Config) {
			if tc := twilioConfig(c, nil, nil); tc.APIKey != cfgKey || tc.APISecret != cfgSecret || tc.AuthToken != "" {
				t.Errorf("sender credentials %+v", tc)
			}
		}, "*sms.Twilio"},
		{"API key and auth token: the key sends, the token checks callbacks", with(messages, "TWILIO_API_KEY", cfgKey, "TWILIO_API_SECRET", cfgSecret, "OTPIDP_TWILIO_STATUS_CALLBACK", "true"), func(t *testing.T, c Config) {
			tc := twilioConfig(c, nil, nil)
			if tc.APIKey != cfgKey || tc.AuthToken != "" || tc.StatusCallback != "https://id.example.com/twilio/status" {
				t.Errorf("sender config %+v", tc)
			}
		}, "*sms.Twilio"},
		{"twilio-verify inferred from the Verify service", with(base, "TWILIO_VERIFY_SERVICE_SID", cfgVerify), func(t *testing.T, c Config) {
			if c.SMS != "twilio-verify" || c.SMSExplicit {
				t.Errorf("SMS %q explicit %v", c.SMS, c.SMSExplicit)
			}
		}, "*sms.TwilioVerify"},
		{"twilio-verify asked for, with a leftover phone number", with(messages, "OTPIDP_SMS", "twilio-verify", "TWILIO_VERIFY_SERVICE_SID", cfgVerify), func(t *testing.T, c Config) {
			if tc := twilioConfig(c, nil, nil); tc.From != "" || tc.VerifyServiceSID != cfgVerify {
				t.Errorf("sender config %+v", tc)
			}
		}, "*sms.TwilioVerify"},
		{"timeout and template", with(messages, "OTPIDP_SMS_TIMEOUT", "1500ms", "OTPIDP_SMS_TEMPLATE", `{code} is your {product} code\n`), func(t *testing.T, c Config) {
			if c.SMSTimeout != 1500*time.Millisecond || c.SMSTemplate != `{code} is your {product} code\n` {
				t.Errorf("timeout %v template %q", c.SMSTimeout, c.SMSTemplate)
			}
			if tc := twilioConfig(c, nil, nil); tc.Timeout != 1500*time.Millisecond {
				t.Errorf("the sender's timeout is %v", tc.Timeout)
			}
		}, "*sms.Twilio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			var stderr bytes.Buffer
			c, err := loadConfig(nil, mapEnv(tt.env), &stderr)
			if err != nil {
				t.Fatal(err)
			}
			if stderr.Len() > 0 {
				t.Errorf("warnings: %s", stderr.String())
			}
			tt.check(t, c)
			s, err := newSender(c, nil, slog.New(slog.DiscardHandler), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("newSender: %v", err)
			}
			if got := typeName(s); got != tt.sender {
				t.Fatalf("sender %s, want %s", got, tt.sender)
			}
			_, verifier := s.(auth.CodeVerifier)
			if verifier != (c.SMS == "twilio-verify") {
				t.Fatalf("sender %T is a CodeVerifier: %v", s, verifier)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *sms.Twilio:
		return "*sms.Twilio"
	case *sms.TwilioVerify:
		return "*sms.TwilioVerify"
	}
	return "other"
}

func TestSMSConfigInvalid(t *testing.T) {
	base := map[string]string{"OTPIDP_ISSUER": "https://id.example.com", "TWILIO_ACCOUNT_SID": cfgAccount, "TWILIO_AUTH_TOKEN": cfgToken, "TWILIO_PHONE_NUMBER": "+15005550006"}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"phone and messaging service", with(base, "TWILIO_MESSAGING_SERVICE_SID", cfgMessaging), "not both"},
		{"messaging service of the wrong kind", with(base, "TWILIO_PHONE_NUMBER", "", "TWILIO_MESSAGING_SERVICE_SID", "PN123"), "must start with MG"},
		{"API key without secret", with(base, "TWILIO_AUTH_TOKEN", "", "TWILIO_API_KEY", cfgKey), "TWILIO_API_SECRET is required"},
		{"API secret without key", with(base, "TWILIO_API_SECRET", cfgSecret), "TWILIO_API_KEY is required"},
		{"no credentials", with(base, "TWILIO_AUTH_TOKEN", ""), "TWILIO_AUTH_TOKEN is required to send SMS with Twilio (or TWILIO_API_KEY and TWILIO_API_SECRET)"},
		{"verify without service", with(base, "OTPIDP_SMS", "twilio-verify"), "TWILIO_VERIFY_SERVICE_SID is required with OTPIDP_SMS=twilio-verify"},
		{"verify service of the wrong kind", with(base, "OTPIDP_SMS", "twilio-verify", "TWILIO_VERIFY_SERVICE_SID", cfgMessaging), "must start with VA"},
		{"timeout unparsable", with(base, "OTPIDP_SMS_TIMEOUT", "3"), `OTPIDP_SMS_TIMEOUT="3": must be a duration`},
		{"timeout negative", with(base, "OTPIDP_SMS_TIMEOUT", "-1s"), "OTPIDP_SMS_TIMEOUT=-1s: must be more than 0"},
		{"timeout too long", with(base, "OTPIDP_SMS_TIMEOUT", "1m"), "at most 30s"},
		{"template without code", with(base, "OTPIDP_SMS_TEMPLATE", "Your code"), "OTPIDP_SMS_TEMPLATE: template must contain {code}"},
		{"template with an unknown placeholder", with(base, "OTPIDP_SMS_TEMPLATE", "{code} {name}"), `unknown placeholder "{name}"`},
		{"status callback not a boolean", with(base, "OTPIDP_TWILIO_STATUS_CALLBACK", "yes please"), "must be true or false"},
		{"status callback without the auth token", with(base, "TWILIO_AUTH_TOKEN", "", "TWILIO_API_KEY", cfgKey, "TWILIO_API_SECRET", cfgSecret, "OTPIDP_TWILIO_STATUS_CALLBACK", "true"), "needs TWILIO_AUTH_TOKEN"},
		{"status callback with Verify", with(base, "TWILIO_PHONE_NUMBER", "", "TWILIO_VERIFY_SERVICE_SID", cfgVerify, "OTPIDP_TWILIO_STATUS_CALLBACK", "true"), "needs OTPIDP_SMS=twilio"},
		{"status callback with the console", with(base, "OTPIDP_SMS", "console", "OTPIDP_TWILIO_STATUS_CALLBACK", "true"), "needs OTPIDP_SMS=twilio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			_, err := loadConfig(nil, mapEnv(tt.env), &bytes.Buffer{})
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *configError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
			for _, secret := range []string{cfgToken, cfgSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

// TestSMSConfigFromEnvFile: the new settings come from the .env file too, with no "unknown
// setting" warning, and the logged configuration holds no secret.
func TestSMSConfigFromEnvFile(t *testing.T) {
	dir := inTempDir(t)
	writeFile(t, filepath.Join(dir, ".env"), `TWILIO_ACCOUNT_SID=`+cfgAccount+`
TWILIO_AUTH_TOKEN=`+cfgToken+`
TWILIO_API_KEY=`+cfgKey+`
TWILIO_API_SECRET=`+cfgSecret+`
TWILIO_MESSAGING_SERVICE_SID=`+cfgMessaging+`
OTPIDP_SMS_TIMEOUT=2s
OTPIDP_TWILIO_STATUS_CALLBACK=true
OTPIDP_SMS_TEMPLATE="{product}: {code}"
`)
	var stderr bytes.Buffer
	c, err := loadConfig(nil, mapEnv(map[string]string{"OTPIDP_ISSUER": "https://id.example.com"}), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if stderr.Len() != 0 {
		t.Errorf("warnings: %s", stderr.String())
	}
	if c.SMS != "twilio" || c.SMSTimeout != 2*time.Second || !c.TwilioStatusCallback || c.SMSTemplate != "{product}: {code}" || c.TwilioAPISecret != cfgSecret {
		t.Fatalf("config = %+v", c)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c)
	for _, secret := range []string{cfgToken, cfgSecret} {
		if strings.Contains(logged.String(), secret) {
			t.Errorf("the logged configuration shows a secret: %s", logged.String())
		}
	}
	for _, want := range []string{"config.sms=twilio", "twilio_credentials=api_key", "twilio_status_callback=true", "sms_timeout=2s"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("the logged configuration lacks %s: %s", want, logged.String())
		}
	}
}

// TestREADMEListsEverySetting: every setting otpidp reads has a row in the README's
// configuration table.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range configKeys() {
		if !strings.Contains(string(b), "| `"+k+"` |") {
			t.Errorf("README.md has no row for %s", k)
		}
	}
}
