package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mapEnv is a getenv over a map.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// inTempDir runs the test in an empty working directory, so that no ./.env is read but the
// test's own.
func inTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	inTempDir(t)
	var stderr bytes.Buffer
	got, err := loadConfig(nil, mapEnv(nil), &stderr)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	want := Config{
		Issuer:        "http://localhost:8080",
		Addr:          "127.0.0.1:8080", // a localhost issuer listens on loopback only
		DatabaseURL:   "sqlite:otpidp.db",
		SMS:           "console",
		DefaultRegion: "US",
		ProductName:   "otpidp",
		Dev:           true,
		LogLevel:      "info",
		KeyRotation:   30 * 24 * time.Hour,
		KeyLeadTime:   24 * time.Hour,
		RefreshGrace:  30 * time.Second,
		Pages:         PagesConfig{SessionTTL: defaultSessionTTL, SessionIdleTTL: defaultSessionIdleTTL},
		Abuse:         AbuseConfig{DevLimits: true}, // the console sender on a localhost issuer (devlimits.go)
		Obs: ObsConfig{LogFormat: "text", AccessLog: true, AdminAddr: "127.0.0.1:9090", ServiceName: "otpidp",
			BreakerFailures: 5, BreakerCoolDown: 30 * time.Second},
		Lifecycle: LifecycleConfig{DBTimeout: defaultDBTimeout, ShutdownDrain: defaultShutdownDrain, ShutdownGrace: defaultShutdownGrace},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if got.SlogLevel() != slog.LevelInfo {
		t.Errorf("SlogLevel = %v, want info", got.SlogLevel())
	}
	if got.OriginHost() != "localhost" {
		t.Errorf("OriginHost = %q, want localhost", got.OriginHost())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", stderr.String())
	}
}

// twilioEnv is a complete Twilio configuration.
func twilioEnv() map[string]string {
	return map[string]string{
		"TWILIO_ACCOUNT_SID":  "AC00000000000000000000000000000000",
		"TWILIO_AUTH_TOKEN":   "tok-secret-value",
		"TWILIO_PHONE_NUMBER": "+15005550006",
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestLoadConfigValues checks that each setting is read, normalized, and that derived defaults
// follow it.
func TestLoadConfigValues(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"issuer trailing slash stripped", nil, map[string]string{"OTPIDP_ISSUER": "https://id.example.com/", "OTPIDP_SMS": "console"}, func(t *testing.T, c Config) {
			if c.Issuer != "https://id.example.com" {
				t.Errorf("Issuer = %q", c.Issuer)
			}
		}},
		{"issuer with path", nil, map[string]string{"OTPIDP_ISSUER": "https://example.com/idp", "OTPIDP_SMS": "console"}, func(t *testing.T, c Config) {
			if c.Issuer != "https://example.com/idp" || c.OriginHost() != "example.com" {
				t.Errorf("Issuer = %q, OriginHost = %q", c.Issuer, c.OriginHost())
			}
		}},
		{"dev defaults to false for a public issuer", nil, map[string]string{"OTPIDP_ISSUER": "https://id.example.com", "OTPIDP_SMS": "console"}, func(t *testing.T, c Config) {
			if c.Dev {
				t.Error("Dev = true")
			}
		}},
		{"dev defaults to true for 127.0.0.1", nil, map[string]string{"OTPIDP_ISSUER": "http://127.0.0.1:9000"}, func(t *testing.T, c Config) {
			if !c.Dev {
				t.Error("Dev = false")
			}
		}},
		{"dev defaults to true for [::1]", nil, map[string]string{"OTPIDP_ISSUER": "http://[::1]:9000"}, func(t *testing.T, c Config) {
			if !c.Dev {
				t.Error("Dev = false")
			}
		}},
		{"dev false on localhost", nil, map[string]string{"OTPIDP_DEV": "false", "OTPIDP_SMS": "console"}, func(t *testing.T, c Config) {
			if c.Dev {
				t.Error("Dev = true")
			}
		}},
		{"dev true on a public issuer allows http", nil, map[string]string{"OTPIDP_DEV": "true", "OTPIDP_ISSUER": "http://test.internal:8080"}, func(t *testing.T, c Config) {
			if !c.Dev || c.Issuer != "http://test.internal:8080" {
				t.Errorf("Dev = %v, Issuer = %q", c.Dev, c.Issuer)
			}
		}},
		{"sms defaults to twilio when the account SID is set", nil, twilioEnv(), func(t *testing.T, c Config) {
			if c.SMS != "twilio" || c.SMSExplicit {
				t.Errorf("SMS = %q, SMSExplicit = %v", c.SMS, c.SMSExplicit)
			}
			if c.TwilioAccountSID != "AC00000000000000000000000000000000" || c.TwilioAuthToken != "tok-secret-value" || c.TwilioPhoneNumber != "+15005550006" {
				t.Errorf("Twilio settings = %q %q %q", c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioPhoneNumber)
			}
		}},
		{"explicit console despite Twilio settings", nil, with(twilioEnv(), "OTPIDP_SMS", "console"), func(t *testing.T, c Config) {
			if c.SMS != "console" || !c.SMSExplicit {
				t.Errorf("SMS = %q, SMSExplicit = %v", c.SMS, c.SMSExplicit)
			}
		}},
		{"explicit console on a public issuer", nil, map[string]string{"OTPIDP_ISSUER": "https://id.example.com", "OTPIDP_SMS": "Console"}, func(t *testing.T, c Config) {
			if c.SMS != "console" || !c.SMSExplicit || c.Dev {
				t.Errorf("SMS = %q, SMSExplicit = %v, Dev = %v", c.SMS, c.SMSExplicit, c.Dev)
			}
		}},
		{"twilio API URL", nil, with(twilioEnv(), "TWILIO_API_URL", "http://127.0.0.1:4010"), func(t *testing.T, c Config) {
			if c.TwilioAPIURL != "http://127.0.0.1:4010" {
				t.Errorf("TwilioAPIURL = %q", c.TwilioAPIURL)
			}
		}},
		{"region upper-cased", nil, map[string]string{"OTPIDP_DEFAULT_REGION": "gb"}, func(t *testing.T, c Config) {
			if c.DefaultRegion != "GB" {
				t.Errorf("DefaultRegion = %q", c.DefaultRegion)
			}
		}},
		{"product name trimmed", nil, map[string]string{"OTPIDP_PRODUCT_NAME": "  Acme ID "}, func(t *testing.T, c Config) {
			if c.ProductName != "Acme ID" {
				t.Errorf("ProductName = %q", c.ProductName)
			}
		}},
		{"log level", nil, map[string]string{"OTPIDP_LOG_LEVEL": "DEBUG"}, func(t *testing.T, c Config) {
			if c.LogLevel != "debug" || c.SlogLevel() != slog.LevelDebug {
				t.Errorf("LogLevel = %q, SlogLevel = %v", c.LogLevel, c.SlogLevel())
			}
		}},
		{"log level warn", nil, map[string]string{"OTPIDP_LOG_LEVEL": "warn"}, func(t *testing.T, c Config) {
			if c.SlogLevel() != slog.LevelWarn {
				t.Errorf("SlogLevel = %v", c.SlogLevel())
			}
		}},
		{"postgres URL", nil, map[string]string{"OTPIDP_DATABASE_URL": "postgresql://u:p@db:5432/otpidp?sslmode=disable"}, func(t *testing.T, c Config) {
			if c.DatabaseURL != "postgresql://u:p@db:5432/otpidp?sslmode=disable" {
				t.Errorf("DatabaseURL = %q", c.DatabaseURL)
			}
		}},
		{"addr port 0", []string{"--addr", "127.0.0.1:0"}, nil, func(t *testing.T, c Config) {
			if c.Addr != "127.0.0.1:0" {
				t.Errorf("Addr = %q", c.Addr)
			}
		}},
		{"bare --dev", []string{"--dev"}, map[string]string{"OTPIDP_ISSUER": "https://id.example.com", "OTPIDP_DEV": "false", "OTPIDP_SMS": "console"}, func(t *testing.T, c Config) {
			if !c.Dev {
				t.Error("Dev = false")
			}
		}},
		{"--dev=false", []string{"--dev=false", "--sms", "console"}, nil, func(t *testing.T, c Config) {
			if c.Dev {
				t.Error("Dev = true")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			c, err := loadConfig(tt.args, mapEnv(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			tt.check(t, c)
		})
	}
}

// TestLoadConfigPrecedence checks, for every setting that has a flag, that a flag beats the
// environment, which beats the .env file, which beats the default. Each layer's value differs
// from the one below it, so the winner shows.
func TestLoadConfigPrecedence(t *testing.T) {
	tests := []struct {
		key   string
		flag  string
		vals  [4]string         // flag, env, .env, default
		env   map[string]string // more environment for this row
		field func(Config) string
	}{
		{"OTPIDP_ISSUER", "--issuer", [4]string{"http://localhost:1", "http://localhost:2", "http://localhost:3", "http://localhost:8080"}, nil, func(c Config) string { return c.Issuer }},
		{"OTPIDP_ADDR", "--addr", [4]string{":1", ":2", ":3", "127.0.0.1:8080"}, nil, func(c Config) string { return c.Addr }},
		{"OTPIDP_DATABASE_URL", "--database-url", [4]string{"sqlite:1.db", "sqlite:2.db", "sqlite:3.db", "sqlite:otpidp.db"}, nil, func(c Config) string { return c.DatabaseURL }},
		{"OTPIDP_SMS", "--sms", [4]string{"console", "twilio", "console", "twilio"}, twilioEnv(), func(c Config) string { return c.SMS }},
		{"OTPIDP_DEFAULT_REGION", "--default-region", [4]string{"GB", "DE", "FR", "US"}, nil, func(c Config) string { return c.DefaultRegion }},
		{"OTPIDP_DEV", "--dev", [4]string{"true", "false", "true", "false"}, map[string]string{"OTPIDP_ISSUER": "https://id.example.com"}, func(c Config) string { return fmt.Sprint(c.Dev) }},
		{"OTPIDP_LOG_LEVEL", "--log-level", [4]string{"debug", "warn", "error", "info"}, nil, func(c Config) string { return c.LogLevel }},
	}
	layers := []string{"flag", "env", "dotenv", "default"}
	for _, tt := range tests {
		for top, layer := range layers {
			t.Run(tt.key+"/"+layer, func(t *testing.T) {
				dir := inTempDir(t)
				env := with(tt.env)
				var args []string
				dotenv := ""
				// Set this layer and every layer below it.
				for i := top; i < 3; i++ {
					switch i {
					case 0:
						args = []string{tt.flag + "=" + tt.vals[0]}
					case 1:
						env[tt.key] = tt.vals[1]
					case 2:
						dotenv = tt.key + "=" + tt.vals[2] + "\n"
					}
				}
				writeFile(t, filepath.Join(dir, ".env"), dotenv)
				c, problems := resolveConfig(mustFlags(t, args), mapEnv(env), &bytes.Buffer{})
				if len(problems) > 0 {
					t.Fatalf("problems: %q", problems)
				}
				if got, want := tt.field(c), tt.vals[top]; got != want {
					t.Errorf("%s from %s: got %q, want %q", tt.key, layer, got, want)
				}
			})
		}
	}
}

// mustFlags parses serve's configuration flags.
func mustFlags(t *testing.T, args []string) *configFlags {
	t.Helper()
	fs := newFlagSet("serve", serveUsage, &bytes.Buffer{})
	cf := addConfigFlags(fs, serveFlagKeys()...)
	if err := parseFlags(fs, args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return cf
}

// TestLoadConfigSecretsFromEnvFile: Twilio's settings (which have no flags) come from the .env
// file when the environment lacks them, and the environment wins.
func TestLoadConfigSecretsFromEnvFile(t *testing.T) {
	dir := inTempDir(t)
	writeFile(t, filepath.Join(dir, ".env"), `# Twilio, as in the tutorial
export TWILIO_ACCOUNT_SID="AC11111111111111111111111111111111"
TWILIO_AUTH_TOKEN='from-file'
TWILIO_PHONE_NUMBER=+15005550006 # the sender
`)
	c, err := loadConfig(nil, mapEnv(map[string]string{"TWILIO_AUTH_TOKEN": "from-env"}), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if c.SMS != "twilio" || c.TwilioAccountSID != "AC11111111111111111111111111111111" || c.TwilioAuthToken != "from-env" || c.TwilioPhoneNumber != "+15005550006" {
		t.Errorf("got SMS %q, SID %q, token %q, phone %q", c.SMS, c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioPhoneNumber)
	}
	if c.EnvFile != ".env" {
		t.Errorf("EnvFile = %q, want .env", c.EnvFile)
	}
}

func TestLoadConfigEnvFileFlag(t *testing.T) {
	dir := inTempDir(t)
	writeFile(t, filepath.Join(dir, ".env"), "OTPIDP_ADDR=:1111\n")
	other := filepath.Join(dir, "other.env")
	writeFile(t, other, "OTPIDP_ADDR=:2222\n")
	c, err := loadConfig([]string{"--env-file", other}, mapEnv(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if c.Addr != ":2222" || c.EnvFile != other {
		t.Errorf("Addr = %q, EnvFile = %q; want :2222 from %s", c.Addr, c.EnvFile, other)
	}

	_, err = loadConfig([]string{"--env-file", filepath.Join(dir, "missing.env")}, mapEnv(nil), &bytes.Buffer{})
	var ce *configError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "missing.env") {
		t.Errorf("a missing --env-file: err = %v, want a configError naming it", err)
	}
}

func TestLoadConfigWarnsOfUnknownSetting(t *testing.T) {
	dir := inTempDir(t)
	writeFile(t, filepath.Join(dir, ".env"), "OTPIDP_ISUER=https://typo.example.com\nOTHER=ignored\n")
	var stderr bytes.Buffer
	if _, err := loadConfig(nil, mapEnv(nil), &stderr); err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if !strings.Contains(stderr.String(), "OTPIDP_ISUER") || strings.Contains(stderr.String(), "OTHER") {
		t.Errorf("stderr = %q, want a warning about OTPIDP_ISUER only", stderr.String())
	}
}

// TestLoadConfigInvalid: each bad value is refused with a message that names the setting.
func TestLoadConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // in the message
	}{
		{"issuer not a URL", map[string]string{"OTPIDP_ISSUER": "localhost:8080"}, "OTPIDP_ISSUER"},
		{"issuer relative", map[string]string{"OTPIDP_ISSUER": "/idp"}, "absolute http:// or https://"},
		{"issuer ftp", map[string]string{"OTPIDP_ISSUER": "ftp://example.com"}, "absolute http:// or https://"},
		{"issuer without host", map[string]string{"OTPIDP_ISSUER": "https://"}, "has no host"},
		{"issuer with query", map[string]string{"OTPIDP_ISSUER": "https://example.com/?a=b", "OTPIDP_SMS": "console"}, "must not have a query"},
		{"issuer with fragment", map[string]string{"OTPIDP_ISSUER": "https://example.com/#x", "OTPIDP_SMS": "console"}, "must not have a fragment"},
		{"issuer with user", map[string]string{"OTPIDP_ISSUER": "https://u:p@example.com", "OTPIDP_SMS": "console"}, "user information"},
		{"issuer with two trailing slashes", map[string]string{"OTPIDP_ISSUER": "https://example.com//", "OTPIDP_SMS": "console"}, "must not end with /"},
		{"issuer http on a public host", map[string]string{"OTPIDP_ISSUER": "http://id.example.com", "OTPIDP_SMS": "console"}, "http is only allowed for localhost"},
		{"addr without port", map[string]string{"OTPIDP_ADDR": "8080"}, "OTPIDP_ADDR"},
		{"addr port not a number", map[string]string{"OTPIDP_ADDR": ":http"}, "the port must be a number"},
		{"addr port too big", map[string]string{"OTPIDP_ADDR": ":70000"}, "the port must be a number"},
		{"database URL scheme", map[string]string{"OTPIDP_DATABASE_URL": "mysql://db/otpidp"}, "must be sqlite:PATH or a postgres:// URL"},
		{"database URL bare path", map[string]string{"OTPIDP_DATABASE_URL": "otpidp.db"}, "must be sqlite:PATH"},
		{"database URL empty sqlite path", map[string]string{"OTPIDP_DATABASE_URL": "sqlite:"}, "needs a file path"},
		{"database URL sqlite://", map[string]string{"OTPIDP_DATABASE_URL": "sqlite:///var/x.db"}, "not sqlite://"},
		{"database URL postgres without host", map[string]string{"OTPIDP_DATABASE_URL": "postgres:///otpidp"}, "needs a host"},
		{"database URL postgres unparsable", map[string]string{"OTPIDP_DATABASE_URL": "postgres://db:port/x"}, "not a valid PostgreSQL URL"},
		{"sms unknown", map[string]string{"OTPIDP_SMS": "carrier-pigeon"}, "must be console, twilio or twilio-verify"},
		{"twilio without settings", map[string]string{"OTPIDP_SMS": "twilio"}, "TWILIO_ACCOUNT_SID is required"},
		{"twilio without token", with(twilioEnv(), "TWILIO_AUTH_TOKEN", ""), "TWILIO_AUTH_TOKEN is required"},
		{"twilio without phone", with(twilioEnv(), "TWILIO_PHONE_NUMBER", ""), "TWILIO_PHONE_NUMBER is required"},
		{"twilio phone not E.164", with(twilioEnv(), "TWILIO_PHONE_NUMBER", "(500) 555-0006"), "E.164"},
		{"twilio phone leading zero", with(twilioEnv(), "TWILIO_PHONE_NUMBER", "+05005550006"), "E.164"},
		{"twilio API URL not absolute", with(twilioEnv(), "TWILIO_API_URL", "localhost:4010"), "TWILIO_API_URL"},
		{"implicit console on a public issuer", map[string]string{"OTPIDP_ISSUER": "https://id.example.com"}, "no SMS provider is configured"},
		{"region three letters", map[string]string{"OTPIDP_DEFAULT_REGION": "USA"}, "OTPIDP_DEFAULT_REGION"},
		{"region unknown", map[string]string{"OTPIDP_DEFAULT_REGION": "XX"}, "OTPIDP_DEFAULT_REGION"},
		{"region digits", map[string]string{"OTPIDP_DEFAULT_REGION": "U1"}, "OTPIDP_DEFAULT_REGION"},
		{"product name blank", map[string]string{"OTPIDP_PRODUCT_NAME": "   "}, "OTPIDP_PRODUCT_NAME must not be empty"},
		{"product name too long", map[string]string{"OTPIDP_PRODUCT_NAME": strings.Repeat("x", 51)}, "longer than 50"},
		{"product name control character", map[string]string{"OTPIDP_PRODUCT_NAME": "a\x1bb"}, "control characters"},
		{"dev not a boolean", map[string]string{"OTPIDP_DEV": "yes please"}, "OTPIDP_DEV"},
		{"log level unknown", map[string]string{"OTPIDP_LOG_LEVEL": "verbose"}, "must be debug, info, warn or error"},
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
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if exitCode(err, &bytes.Buffer{}) != 2 {
				t.Errorf("exit code for %v is not 2", err)
			}
		})
	}
}

func TestLoadConfigListsEveryProblem(t *testing.T) {
	dir := inTempDir(t)
	writeFile(t, filepath.Join(dir, ".env"), "GOOD=1\nnot a setting\n")
	env := map[string]string{
		"OTPIDP_ISSUER":         "ftp://x",
		"OTPIDP_ADDR":           "nope",
		"OTPIDP_DATABASE_URL":   "mysql://x",
		"OTPIDP_SMS":            "twilio",
		"TWILIO_PHONE_NUMBER":   "12",
		"OTPIDP_DEFAULT_REGION": "ZZZ",
		"OTPIDP_PRODUCT_NAME":   " ",
		"OTPIDP_DEV":            "sometimes",
		"OTPIDP_LOG_LEVEL":      "loud",
	}
	_, err := loadConfig(nil, mapEnv(env), &bytes.Buffer{})
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *configError", err)
	}
	for _, want := range []string{
		".env line 2", "OTPIDP_ISSUER", "OTPIDP_ADDR", "OTPIDP_DATABASE_URL", "TWILIO_ACCOUNT_SID is required",
		"TWILIO_AUTH_TOKEN is required", "TWILIO_PHONE_NUMBER=\"12\"", "OTPIDP_DEFAULT_REGION", "OTPIDP_PRODUCT_NAME",
		"OTPIDP_DEV", "OTPIDP_LOG_LEVEL",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%s", want, err)
		}
	}
	if len(ce.Problems) != 11 {
		t.Errorf("%d problems, want 11:\n%s", len(ce.Problems), err)
	}
	if !strings.HasPrefix(err.Error(), "invalid configuration:\n  - ") {
		t.Errorf("message = %q, want one problem a line", err)
	}
}

// TestLoadConfigFlagErrors: a wrong flag is a usage error, printed with the usage.
func TestLoadConfigFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--verbose"}, "flag provided but not defined: -verbose"},
		{"no secrets as flags", []string{"--twilio-auth-token", "x"}, "flag provided but not defined"},
		{"bad boolean", []string{"--dev=maybe"}, "must be true or false"},
		{"missing value", []string{"--issuer"}, "flag needs an argument"},
		{"positional argument", []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inTempDir(t)
			var stderr bytes.Buffer
			_, err := loadConfig(tt.args, mapEnv(nil), &stderr)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a *usageError", err)
			}
			if !strings.Contains(stderr.String(), tt.want) || !strings.Contains(stderr.String(), "Usage: otpidp [serve]") || !strings.Contains(stderr.String(), "-database-url") {
				t.Errorf("stderr = %q, want %q and the usage", stderr.String(), tt.want)
			}
		})
	}
}

// TestConfigNeverShowsSecrets: neither the error message nor the log value holds the Twilio
// token or a database password.
func TestConfigNeverShowsSecrets(t *testing.T) {
	inTempDir(t)
	env := with(twilioEnv(),
		"TWILIO_PHONE_NUMBER", "bad",
		"OTPIDP_DATABASE_URL", "postgres://user:db-pass-word@/x",
	)
	_, err := loadConfig(nil, mapEnv(env), &bytes.Buffer{})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, secret := range []string{"tok-secret-value", "db-pass-word"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %q: %s", secret, err)
		}
	}

	env = with(twilioEnv(), "OTPIDP_DATABASE_URL", "postgres://user:db-pass-word@db/x")
	c, err := loadConfig(nil, mapEnv(env), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c)
	for _, secret := range []string{"tok-secret-value", "db-pass-word"} {
		if strings.Contains(logged.String(), secret) {
			t.Errorf("log shows %q: %s", secret, logged.String())
		}
	}
	if !strings.Contains(logged.String(), "postgres://user:xxxxx@db/x") {
		t.Errorf("log = %s, want the redacted database URL", logged.String())
	}
}

// TestDotEnvProblemsHideTheLine: a malformed line may hold a secret; the problem names only
// its number.
func TestDotEnvProblemsHideTheLine(t *testing.T) {
	dir := inTempDir(t)
	writeFile(t, filepath.Join(dir, ".env"), "TWILIO_AUTH_TOKEN 'hunter2-secret\n")
	_, err := loadConfig(nil, mapEnv(nil), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), ".env line 1") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v, want a problem on line 1 without the line's text", err)
	}
}

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     map[string]string
		problems []string
	}{
		{"empty", "", map[string]string{}, nil},
		{"plain", "A=1\nB=two words\n", map[string]string{"A": "1", "B": "two words"}, nil},
		{"comments and blank lines", "# c\n\n   # indented\nA=1\n", map[string]string{"A": "1"}, nil},
		{"export", "export A=1\nexport\tB=2\n", map[string]string{"A": "1", "B": "2"}, nil},
		{"export as a key", "export=1\nexports=2\n", map[string]string{"export": "1", "exports": "2"}, nil},
		{"double quotes", `A="x # not a comment"`, map[string]string{"A": "x # not a comment"}, nil},
		{"single quotes", `A='$HOME "q"'`, map[string]string{"A": `$HOME "q"`}, nil},
		{"quotes then comment", `A="v"  # c`, map[string]string{"A": "v"}, nil},
		{"inline comment", "A=v # c\nB=v\t# c\nC=v#not", map[string]string{"A": "v", "B": "v", "C": "v#not"}, nil},
		{"spaces around", "  A =  v  ", map[string]string{"A": "v"}, nil},
		{"empty value", "A=\nB=\"\"", map[string]string{"A": "", "B": ""}, nil},
		{"value with =", "URL=postgres://u@h/d?sslmode=disable", map[string]string{"URL": "postgres://u@h/d?sslmode=disable"}, nil},
		{"later wins", "A=1\nA=2", map[string]string{"A": "2"}, nil},
		{"CRLF", "A=1\r\nB='2'\r\n", map[string]string{"A": "1", "B": "2"}, nil},
		{"BOM", "\ufeffA=1", map[string]string{"A": "1"}, nil},
		{"no equals", "A=1\nJUSTAKEY\n", map[string]string{"A": "1"}, []string{"f line 2: expected KEY=VALUE"}},
		{"bad key", "1A=1\nA-B=2\n=3\n", map[string]string{}, []string{
			"f line 1: the key must be letters, digits and _, not starting with a digit",
			"f line 2: the key must be letters, digits and _, not starting with a digit",
			"f line 3: the key must be letters, digits and _, not starting with a digit",
		}},
		{"unterminated quote", "A='x\nB=\"y\n", map[string]string{}, []string{"f line 1: unterminated ' quote", "f line 2: unterminated \" quote"}},
		{"text after quote", `A="x" y`, map[string]string{}, []string{"f line 1: unexpected text after the closing quote"}},
		{"line too long", "A=" + strings.Repeat("x", maxEnvFileLine) + "\n", map[string]string{}, []string{"f line 1: bufio.Scanner: token too long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := parseEnvFile(strings.NewReader(tt.in), "f")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.problems, problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDatabaseURL(t *testing.T) {
	tests := []struct {
		in, backend, target string
		ok                  bool
	}{
		{"", "sqlite", "otpidp.db", true},
		{"sqlite:otpidp.db", "sqlite", "otpidp.db", true},
		{"sqlite:/var/lib/otpidp/x.db", "sqlite", "/var/lib/otpidp/x.db", true},
		{"postgres://u:p@h:5432/d?sslmode=disable", "postgres", "postgres://u:p@h:5432/d?sslmode=disable", true},
		{"postgresql://h/d", "postgres", "postgresql://h/d", true},
		{"postgres:///d?host=/run/postgresql", "postgres", "postgres:///d?host=/run/postgresql", true},
		{"sqlite:", "", "", false},
		{"sqlite://x.db", "", "", false},
		{"file:x.db", "", "", false},
		{"mysql://h/d", "", "", false},
		{"postgres:///d", "", "", false},
	}
	for _, tt := range tests {
		backend, target, err := parseDatabaseURL(tt.in)
		if (err == nil) != tt.ok || backend != tt.backend || target != tt.target {
			t.Errorf("parseDatabaseURL(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.in, backend, target, err, tt.backend, tt.target, tt.ok)
		}
	}
}

// TestValidateBuiltConfig: Validate works on a Config built by hand, as tests elsewhere build
// one.
func TestValidateBuiltConfig(t *testing.T) {
	good := Config{
		Issuer: "https://id.example.com", Addr: "127.0.0.1:0", DatabaseURL: "",
		SMS: "twilio", TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioPhoneNumber: "+15005550006",
		DefaultRegion: "US", ProductName: "otpidp", LogLevel: "info",
	}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", good, err)
	}
	var zero Config
	err := zero.Validate()
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("Validate(zero) = %v, want a *configError", err)
	}
	for _, want := range []string{"OTPIDP_ISSUER", "OTPIDP_ADDR", "OTPIDP_SMS", "OTPIDP_DEFAULT_REGION", "OTPIDP_PRODUCT_NAME", "OTPIDP_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(zero) lacks %s: %v", want, err)
		}
	}
	if len(ce.Problems) != 6 {
		t.Errorf("Validate(zero): %d problems, want 6: %v", len(ce.Problems), err)
	}
}
