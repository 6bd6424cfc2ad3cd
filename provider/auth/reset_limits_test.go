package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// unknownPhone is a valid mobile-capable number of the test region without an account, in the
// same prefix as testPhone.
const unknownPhone = "+14155552672"

// TestResetFloodThrottled: password resets count against the per-phone SMS limits, their
// resends too; a flood of resets sends no more texts than the limit (counted at the sender).
func TestResetFloodThrottled(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv()
		e.addUser(t)
		var views []FlowView
		for i := range 5 { // 5 per hour: just under
			v, err := e.a.StartReset(from(t.Context(), "192.0.2."+itoa(i+1)), testPhone, "", browser("a"))
			if err != nil {
				t.Fatalf("reset %d of 5: %v", i+1, err)
			}
			views = append(views, v)
		}
		for i := range 20 { // the flood, from many addresses
			var le *LimitError
			if _, err := e.a.StartReset(from(t.Context(), "198.51.100."+itoa(i+1)), testPhone, "", browser("a")); !errors.As(err, &le) || le.Scope != ScopeSMSPhone {
				t.Fatalf("reset %d past the limit: err = %v, want sms_phone", i+6, err)
			}
		}
		e.clock.Advance(31 * time.Second)
		var le *LimitError
		if _, err := e.a.Resend(t.Context(), views[0].ID, browser("a")); !errors.As(err, &le) || le.Scope != ScopeSMSPhone {
			t.Fatalf("resend past the limit: err = %v, want sms_phone", err)
		}
		if n := e.sms.count(); n != 5 {
			t.Fatalf("%d texts sent, want 5 (the per-phone limit)", n)
		}
	})
}

// TestResetLimitsSameForUnknownNumbers: a number without an account counts against the SMS
// limits exactly as one with an account, so both get the same answers under the limits; only
// the known number gets texts.
func TestResetLimitsSameForUnknownNumbers(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv(func(c *Config) { c.Limits.SMSPhoneHourly = Rate{Max: 3, Per: time.Hour} })
		e.addUser(t)
		type answer struct {
			ok          bool
			scope       string
			retryAfter  time.Duration
			resendDelay time.Duration
		}
		run := func(number string) []answer {
			var as []answer
			for i := range 5 {
				v, err := e.a.StartReset(from(t.Context(), "192.0.2."+itoa(i+1)), number, "", browser("a"))
				a := answer{ok: err == nil}
				var le *LimitError
				if errors.As(err, &le) {
					a.scope, a.retryAfter = le.Scope, le.RetryAfter
				} else if err != nil {
					t.Fatalf("reset %d of %s: %v", i+1, number, err)
				} else {
					a.resendDelay = v.ResendAt.Sub(e.clock.Now())
				}
				as = append(as, a)
			}
			return as
		}
		before := e.sms.count()
		known := run(testPhone)
		if e.sms.count() != before+3 {
			t.Fatalf("%d texts to the known number, want 3", e.sms.count()-before)
		}
		before = e.sms.count()
		unknown := run(unknownPhone)
		if e.sms.count() != before+3 {
			t.Fatalf("%d notices to the number without an account, want 3 (one text each, as for the known number)", e.sms.count()-before)
		}
		if body := e.sms.last(t).Body; !strings.Contains(body, "no account uses it") {
			t.Fatalf("text to a number without an account: %q", body)
		}
		for i := range known {
			if known[i] != unknown[i] {
				t.Fatalf("answer %d differs: known %+v, unknown %+v", i+1, known[i], unknown[i])
			}
		}
		if !known[2].ok || known[3].ok || known[3].scope != ScopeSMSPhone {
			t.Fatalf("answers = %+v, want 3 accepted then sms_phone", known)
		}
	})
}

// TestResetBudgetReserve: resets, like registrations, stop at the global budget less the
// reserve kept for sign-ins; the reserve still serves a sign-in; a pause stops resets.
func TestResetBudgetReserve(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv(func(c *Config) { c.Limits.SMSGlobalHourly = Rate{Max: 5, Per: time.Hour} }) // resets get 4
		e.addUser(t)
		for i := range 4 {
			if _, err := e.a.StartReset(from(t.Context(), "192.0.2."+itoa(i+1)), "+1"+areaCodes[i]+"5552671", "", browser("a")); err != nil {
				t.Fatalf("reset %d of 4: %v", i+1, err)
			}
		}
		var le *LimitError
		if _, err := e.a.StartReset(from(t.Context(), "192.0.2.9"), testPhone, "", browser("a")); !errors.As(err, &le) || le.Scope != ScopeSMSBudget {
			t.Fatalf("fifth reset: err = %v, want sms_budget", err)
		}
		if _, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); err != nil {
			t.Fatalf("sign-in within the reserve: %v", err)
		}
		if err := e.store.SetSwitch(t.Context(), SwitchSMSPaused, true, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
		for _, number := range []string{testPhone, unknownPhone} {
			if _, err := e.a.StartReset(t.Context(), number, "", browser("a")); !errors.Is(err, ErrSMSPaused) {
				t.Fatalf("reset of %s while paused: err = %v", number, err)
			}
		}
	})
}
