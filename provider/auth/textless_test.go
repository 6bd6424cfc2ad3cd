package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/sms"
)

// TestNeverLockedOutByTexts: whatever refuses the sign-in text (the sign-in budget, the
// operator's pause, the global budget, the SMS provider), a user whose password is right
// reaches the code step, told that no text was sent, and signs in with a recovery code. A
// wrong password still gets nothing.
func TestNeverLockedOutByTexts(t *testing.T) {
	refusals := []struct {
		name   string
		edit   func(*Config)
		refuse func(t *testing.T, e *env)
	}{
		{"sign-in budget", func(c *Config) { c.Limits.SMSSignInPhoneHourly = Rate{Max: 1, Per: time.Hour} }, func(t *testing.T, e *env) {
			if _, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); err != nil {
				t.Fatal(err)
			}
		}},
		{"sms pause", nil, func(t *testing.T, e *env) {
			if err := e.store.SetSwitch(t.Context(), SwitchSMSPaused, true, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{"global budget", func(c *Config) { c.Limits.SMSGlobalHourly = Rate{Max: 1, Per: time.Hour} }, func(t *testing.T, e *env) {
			if _, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); err != nil {
				t.Fatal(err)
			}
		}},
		{"provider 500", nil, func(t *testing.T, e *env) {
			e.sms.fail(fmt.Errorf("twilio 500: %w", sms.ErrUnavailable))
		}},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
				var edits []func(*Config)
				if r.edit != nil {
					edits = append(edits, r.edit)
				}
				e, _, codes := resetEnvOn(t, newEnv(edits...))
				r.refuse(t, e)
				if _, err := e.a.StartLogin(t.Context(), testPhone, "not the password", "", browser("b")); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("wrong password: %v", err)
				}
				sent := e.sms.count()
				v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("b"))
				if r.name == "provider 500" {
					sent++ // the attempt that failed
				}
				e.wantTextless(t, "right password, text refused", v, err, sent)
				if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("b"), "123456"); !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("a texted code for a flow that sent none: %v", err)
				}
				res, err := e.a.VerifyLoginRecovery(t.Context(), v.ID, browser("b"), codes[0])
				if err != nil || res.UserID == "" {
					t.Fatalf("recovery code: %+v, %v", res, err)
				}
			})
		})
	}
}
