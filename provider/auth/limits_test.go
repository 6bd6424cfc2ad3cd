package auth

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/postgres/pgtest"
)

// limitStores are the backends every limit is tested on: SQLite always, PostgreSQL when
// OTPIDP_TEST_DATABASE_URL is set (it must be when CI is).
func limitStores(t *testing.T) map[string]func(t *testing.T) storage.Storage {
	t.Helper()
	m := map[string]func(t *testing.T) storage.Storage{"sqlite": openStore}
	base := os.Getenv("OTPIDP_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but OTPIDP_TEST_DATABASE_URL is not")
		}
		return m
	}
	m["postgres"] = func(t *testing.T) storage.Storage {
		ctx := t.Context()
		s, err := postgres.Open(ctx, pgtest.SchemaURL(t, base, "auth_"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return m
}

// eachStore runs fn on a fresh environment on every backend.
func eachStore(t *testing.T, fn func(t *testing.T, newEnv func(edit ...func(*Config)) *env)) {
	for name, open := range limitStores(t) {
		t.Run(name, func(t *testing.T) {
			fn(t, func(edit ...func(*Config)) *env {
				return newEnvOn(t, &spyStore{Storage: open(t)}, t.Name(), edit...)
			})
		})
	}
}

// from is a request context from ip.
func from(ctx context.Context, ip string) context.Context {
	return reqinfo.With(ctx, reqinfo.Info{IP: netip.MustParseAddr(ip), RequestID: "req-" + ip})
}

func (e *env) tryLogin(ctx context.Context, password string) error {
	_, err := e.a.StartLogin(ctx, testPhone, password, "", browser("a"))
	return err
}

// TestLoginThrottle: from 5 failures on, each attempt waits 30 s, then 1 min, 2 min …; while it
// waits, even the right password gets the wrong-password answer, at the cost of a hash.
func TestLoginThrottle(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv()
		e.addUser(t)
		ctx := from(t.Context(), "192.0.2.1")
		// Four failures: still no delay, the right password works at once (just under).
		for range 4 {
			if err := e.tryLogin(ctx, "wrong password 1"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
		}
		if err := e.tryLogin(ctx, testPassword); err != nil {
			t.Fatalf("after 4 failures the right password: %v", err)
		}
		// The success ended the run: five more failures start the delay.
		for range 5 {
			if err := e.tryLogin(ctx, "wrong password 1"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
		}
		sent := e.sms.count()
		for _, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
			e.clock.Advance(wait - time.Second)
			before := e.a.hashCalls.Load()
			err := e.tryLogin(ctx, testPassword)
			if err != ErrInvalidCredentials {
				t.Fatalf("throttled right password: err = %v, want exactly ErrInvalidCredentials", err)
			}
			if e.a.hashCalls.Load() != before+1 {
				t.Fatal("a throttled attempt must cost the same hash as any other")
			}
			e.clock.Advance(time.Second)
			// The delay is over: one attempt may run; it fails and doubles the delay.
			if err := e.tryLogin(ctx, "wrong password 1"); err != ErrInvalidCredentials {
				t.Fatalf("after the delay: %v", err)
			}
		}
		if e.sms.count() != sent {
			t.Fatal("a throttled sign-in sent a code")
		}
		e.clock.Advance(4 * time.Minute)
		if err := e.tryLogin(ctx, testPassword); err != nil {
			t.Fatalf("after the last delay the right password: %v", err)
		}
		var events []string
		all, _ := e.store.ListAudit(t.Context(), storage.AuditQuery{})
		for _, ev := range all {
			events = append(events, ev.Event)
		}
		joined := strings.Join(events, " ")
		for _, want := range []audit.Event{EventPasswordFailed, EventLoginThrottled, "lockout.password", EventPasswordOK, EventCodeSent} {
			if !strings.Contains(joined, string(want)) {
				t.Errorf("audit log lacks %s: %v", want, events)
			}
		}
	})
}

// TestLoginThrottleMaxDelay: the delay stops growing at LoginMaxDelay.
func TestLoginThrottleMaxDelay(t *testing.T) {
	e := newEnvOn(t, &spyStore{Storage: openStore(t)}, t.Name())
	for n, want := range map[int]time.Duration{0: 0, 4: 0, 5: 30 * time.Second, 6: time.Minute, 8: 4 * time.Minute, 10: 15 * time.Minute, 50: 15 * time.Minute} {
		if got := e.a.cfg.Limits.LoginDelayAfter(n); got != want {
			t.Errorf("loginDelay(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestLoginThrottleConcurrent: after 4 failures, of 20 parallel attempts only one runs; the
// others are refused without a hash of the real password.
func TestLoginThrottleConcurrent(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv()
		e.addUser(t)
		ctx := from(t.Context(), "192.0.2.1")
		for range 4 {
			_ = e.tryLogin(ctx, "wrong password 1")
		}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { _ = e.tryLogin(ctx, "wrong password 2") })
		}
		wg.Wait()
		f, err := e.store.GetFailures(t.Context(), "phone:"+testPhone, FactorPassword)
		if err != nil {
			t.Fatal(err)
		}
		if f.Count != 5 {
			t.Fatalf("%d failures counted after 4 + 20 parallel, want 5 (one attempt ran)", f.Count)
		}
	})
}

// TestUnknownPhoneThrottled: guessing at a number with no account is throttled the same way.
func TestUnknownPhoneThrottled(t *testing.T) {
	e := newEnvOn(t, &spyStore{Storage: openStore(t)}, t.Name())
	for range 5 {
		if err := e.tryLogin(t.Context(), "whatever 12345"); err != ErrInvalidCredentials {
			t.Fatal(err)
		}
	}
	f, _ := e.store.GetFailures(t.Context(), "phone:"+testPhone, FactorPassword)
	if f.Count != 5 || !f.BlockedUntil.After(e.clock.Now()) {
		t.Fatalf("failures of an unknown number: %+v", f)
	}
}

// TestLoginPerIP: failed sign-ins per client IP; right passwords do not count; another IP is
// not affected.
func TestLoginPerIP(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv(func(c *Config) { c.Limits.LoginPerIP = Rate{Max: 3, Per: 15 * time.Minute} })
		e.addUser(t)
		ctx := from(t.Context(), "203.0.113.9")
		for range 3 {
			if err := e.tryLogin(ctx, testPassword); err != nil {
				t.Fatalf("right password: %v", err)
			}
		}
		// Other numbers, so that the account throttle does not interfere.
		for i := range 3 {
			if _, err := e.a.StartLogin(ctx, "+1415555010"+string(rune('0'+i)), "wrong password 1", "", browser("a")); err != ErrInvalidCredentials {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		var le *LimitError
		err := e.tryLogin(ctx, testPassword)
		if !errors.As(err, &le) || le.Scope != ScopeLoginIP || !errors.Is(err, ErrRateLimited) || le.RetryAfter <= 0 || le.RetryAfter > 15*time.Minute {
			t.Fatalf("fourth failure's next attempt: err = %v, want a login_ip LimitError", err)
		}
		if err := e.tryLogin(from(t.Context(), "203.0.113.10"), testPassword); err != nil {
			t.Fatalf("another IP: %v", err)
		}
		e.clock.Advance(le.RetryAfter)
		if err := e.tryLogin(ctx, testPassword); err != nil {
			t.Fatalf("after Retry-After: %v", err)
		}
	})
}

// TestLoginGlobal: failed sign-ins overall.
func TestLoginGlobal(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv(func(c *Config) { c.Limits.LoginGlobal = Rate{Max: 4, Per: time.Minute} })
		e.addUser(t)
		for i := range 4 {
			ip := "198.51.100." + string(rune('1'+i))
			if _, err := e.a.StartLogin(from(t.Context(), ip), "+1415555010"+string(rune('0'+i)), "wrong password 1", "", browser("a")); err != ErrInvalidCredentials {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		var le *LimitError
		if err := e.tryLogin(from(t.Context(), "198.51.100.99"), testPassword); !errors.As(err, &le) || le.Scope != ScopeLoginGlobal {
			t.Fatalf("over the global limit: %v", err)
		}
	})
}

// TestResendBackoff: 30 s, 1 min, 2 min … up to 30 min.
func TestResendBackoff(t *testing.T) {
	e := newEnvOn(t, &spyStore{Storage: openStore(t)}, t.Name(), func(c *Config) {
		c.Limits.SMSSignInPhoneHourly, c.Limits.SMSSignInPhoneDaily = Rate{Max: -1}, Rate{Max: -1}
		c.FlowTTL = 24 * time.Hour
	})
	e.addUser(t)
	v, _ := e.login(t)
	for i, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute} {
		e.clock.Advance(wait - time.Second)
		var soon *TooSoonError
		if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); !errors.As(err, &soon) || soon.RetryAfter != time.Second {
			t.Fatalf("resend %d one second early: err = %v, want TooSoonError{1s}", i+1, err)
		}
		e.clock.Advance(time.Second)
		nv, err := e.a.Resend(t.Context(), v.ID, browser("a"))
		if err != nil {
			t.Fatalf("resend %d after %s: %v", i+1, wait, err)
		}
		if next := nv.ResendAt.Sub(e.clock.Now()); next != min(2*wait, 30*time.Minute) {
			t.Fatalf("after resend %d the view's wait is %s", i+1, next)
		}
	}
}

// wantTextless fails the test unless a sign-in with the right password reached the code step
// without a text: no error, a flow whose view says TextNotSent, and no new SMS.
func (e *env) wantTextless(t *testing.T, what string, v FlowView, err error, sentBefore int) {
	t.Helper()
	if err != nil || v.ID == "" || !v.TextNotSent {
		t.Fatalf("%s: view %+v, err = %v; want the code step with TextNotSent", what, v, err)
	}
	if n := e.sms.count(); n != sentBefore {
		t.Fatalf("%s: %d texts sent, want none", what, n-sentBefore)
	}
}

// TestSMSPerPhone: sign-in codes have their own budget, 5 per hour and 10 per day to one
// number, resends included; past it the right password still reaches the code step, without
// a text (the recovery code finishes it).
func TestSMSPerPhone(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv()
		e.addUser(t)
		hourStart := storage.WindowStart(e.clock.Now(), time.Hour)
		for i := range 5 {
			if v, err := e.a.StartLogin(from(t.Context(), "192.0.2."+string(rune('1'+i))), testPhone, testPassword, "", browser("a")); err != nil || v.TextNotSent {
				t.Fatalf("code %d of 5: %v (%+v)", i+1, err, v)
			}
		}
		v, err := e.a.StartLogin(from(t.Context(), "192.0.2.9"), testPhone, testPassword, "", browser("a"))
		e.wantTextless(t, "sixth code in the hour", v, err, 5)
		// The next hour: 5 more, then the day's 10 are spent.
		e.clock.Advance(hourStart.Add(time.Hour).Sub(e.clock.Now()))
		for i := range 5 {
			if v, err := e.a.StartLogin(from(t.Context(), "192.0.2."+string(rune('1'+i))), testPhone, testPassword, "", browser("a")); err != nil || v.TextNotSent {
				t.Fatalf("code %d of the second hour: %v", i+1, err)
			}
		}
		e.clock.Advance(time.Hour)
		v, err = e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		e.wantTextless(t, "eleventh code in the day", v, err, 10)
	})
}

// TestSignInBudgetApartFromResets: five resets for a victim's number from one address (no
// account needed: they could be anyone's) spend the reset budget of that number, and the
// victim's sign-in still gets a texted code, within the sign-in budget; the reset budget
// refuses the next reset.
func TestSignInBudgetApartFromResets(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv()
		e.addUser(t)
		attacker := from(t.Context(), "198.51.100.7")
		for i := range 5 {
			if _, err := e.a.StartReset(attacker, testPhone, "", browser("attacker")); err != nil {
				t.Fatalf("reset %d of 5: %v", i+1, err)
			}
		}
		var le *LimitError
		if _, err := e.a.StartReset(attacker, testPhone, "", browser("attacker")); !errors.As(err, &le) || le.Scope != ScopeSMSPhone {
			t.Fatalf("sixth reset: %v, want the per-phone limit", err)
		}
		sent := e.sms.count()
		v, err := e.a.StartLogin(from(t.Context(), "203.0.113.5"), testPhone, testPassword, "", browser("victim"))
		if err != nil || v.TextNotSent || e.sms.count() != sent+1 {
			t.Fatalf("the victim's sign-in after 5 resets: %+v, %v, %d texts", v, err, e.sms.count()-sent)
		}
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("victim"), e.sms.lastCode(t)); err != nil {
			t.Fatalf("the victim's code: %v", err)
		}
	})
}

// TestSMSPerIPPrefixCountry: the per-IP, per-prefix and per-country limits, each tripped just
// past its maximum on registrations of distinct numbers.
func TestSMSPerIPPrefixCountry(t *testing.T) {
	for _, tt := range []struct {
		scope string
		edit  func(*Config)
		ip    func(i int) string
		phone func(i int) string
	}{
		{ScopeSMSIP, func(c *Config) { c.Limits.SMSIPHourly = Rate{Max: 3, Per: time.Hour} },
			func(int) string { return "192.0.2.1" }, func(i int) string { return "+1" + areaCodes[i] + "5552671" }},
		{ScopeSMSPrefix, func(c *Config) { c.Limits.SMSPrefixHourly = Rate{Max: 3, Per: time.Hour} },
			func(i int) string { return "192.0.2." + itoa(i+1) }, func(i int) string { return "+1415555" + pad4(i) }},
		{ScopeSMSCountry, func(c *Config) { c.Limits.SMSCountryDaily = Rate{Max: 3, Per: 24 * time.Hour} },
			func(i int) string { return "192.0.2." + itoa(i+1) }, func(i int) string { return "+1" + areaCodes[i] + "5552671" }},
	} {
		t.Run(tt.scope, func(t *testing.T) {
			eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
				e := newEnv(tt.edit)
				for i := range 3 {
					if _, err := e.a.StartRegistration(from(t.Context(), tt.ip(i)), testName, tt.phone(i), testPassword, "", browser("a")); err != nil {
						t.Fatalf("registration %d of 3: %v", i+1, err)
					}
				}
				var le *LimitError
				if _, err := e.a.StartRegistration(from(t.Context(), tt.ip(3)), testName, tt.phone(3), testPassword, "", browser("a")); !errors.As(err, &le) || le.Scope != tt.scope {
					t.Fatalf("fourth: err = %v, want %s", err, tt.scope)
				}
				if e.sms.count() != 3 {
					t.Fatalf("%d SMS, want 3", e.sms.count())
				}
			})
		})
	}
}

// areaCodes are North American area codes in use: distinct valid numbers, distinct prefixes.
var areaCodes = []string{"201", "202", "203", "205", "206"}

func itoa(i int) string {
	return strings.TrimLeft(pad4(i), "0") + map[bool]string{true: "0", false: ""}[i == 0]
}
func pad4(i int) string {
	b := []byte("0000")
	for j := 3; j >= 0 && i > 0; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
	return string(b)
}

// TestSMSBudgetReserve: when registrations have spent the global budget less the reserve, they
// stop with a clear error while sign-ins of existing users go on, up to the whole budget.
func TestSMSBudgetReserve(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv(func(c *Config) {
			c.Limits.SMSGlobalHourly = Rate{Max: 5, Per: time.Hour} // reserve 20 %: registrations get 4
		})
		e.addUser(t)
		for i := range 4 {
			if _, err := e.a.StartRegistration(from(t.Context(), "192.0.2."+itoa(i+1)), testName, "+1"+areaCodes[i]+"5552671", testPassword, "", browser("a")); err != nil {
				t.Fatalf("registration %d of 4: %v", i+1, err)
			}
		}
		var le *LimitError
		if _, err := e.a.StartRegistration(t.Context(), testName, "+16175550100", testPassword, "", browser("a")); !errors.As(err, &le) || le.Scope != ScopeSMSBudget {
			t.Fatalf("fifth registration: err = %v, want sms_budget", err)
		}
		// A sign-in uses the reserve.
		if _, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); err != nil {
			t.Fatalf("sign-in within the reserve: %v", err)
		}
		sent := e.sms.count()
		v, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		e.wantTextless(t, "sign-in past the whole budget", v, err, sent)
	})
}

// TestSMSPause: the operator switch stops every SMS on every instance, and resume restarts.
func TestSMSPause(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv()
		e.addUser(t)
		other := newEnvOn(t, e.store, "other instance")
		if err := e.store.SetSwitch(t.Context(), SwitchSMSPaused, true, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		v, err := other.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a"))
		other.wantTextless(t, "sign-in while paused", v, err, 0)
		if _, err := e.a.StartRegistration(t.Context(), testName, "+16175550100", testPassword, "", browser("a")); !errors.Is(err, ErrSMSPaused) {
			t.Fatalf("registration while paused: %v", err)
		}
		if e.sms.count()+other.sms.count() != 0 {
			t.Fatal("an SMS went out while paused")
		}
		if err := e.store.SetSwitch(t.Context(), SwitchSMSPaused, false, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if v, err := other.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); err != nil || v.TextNotSent {
			t.Fatalf("after resume: %v", err)
		}
	})
}

// TestSMSCountries: codes go only to allowed regions; non-mobile numbers are refused.
func TestSMSCountries(t *testing.T) {
	e := newEnvOn(t, &spyStore{Storage: openStore(t)}, t.Name(), func(c *Config) { c.Limits.SMSCountries = []string{"us", "CA"} })
	if _, err := e.a.StartRegistration(t.Context(), testName, "+447400123456", testPassword, "", browser("a")); !errors.Is(err, ErrSMSCountryNotAllowed) || !errors.Is(err, ErrInvalidPhone) {
		t.Fatalf("GB mobile: err = %v, want ErrSMSCountryNotAllowed", err)
	}
	if _, err := e.a.StartRegistration(t.Context(), testName, "+16135550123", testPassword, "", browser("a")); err != nil {
		t.Fatalf("CA number: %v", err)
	}
	if _, err := e.a.StartRegistration(t.Context(), testName, "+19005550123", testPassword, "", browser("a")); !errors.Is(err, ErrPhoneNotMobile) {
		t.Fatalf("US premium-rate number: %v", err)
	}
	if e.sms.count() != 1 {
		t.Fatalf("%d SMS, want 1", e.sms.count())
	}
}

// TestSMSFactorLockout: wrong codes count per account across codes and resends; at the
// maximum in a row the SMS factor is disabled until restored; one fewer still works.
func TestSMSFactorLockout(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e := newEnv(func(c *Config) {
			c.Limits.SMSFactorMaxFailures = 7
			c.Limits.SMSSignInPhoneHourly, c.Limits.SMSSignInPhoneDaily = Rate{Max: -1}, Rate{Max: -1}
		})
		e.addUser(t)
		wrongs := func(n int) FlowView {
			v, code := e.login(t)
			for range n {
				bad := "000000"
				if code == bad {
					bad = "111111"
				}
				if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), bad); !errors.Is(err, ErrInvalidCode) && !errors.Is(err, ErrTooManyAttempts) {
					t.Fatalf("wrong code: %v", err)
				}
			}
			return v
		}
		wrongs(5)
		v := wrongs(1) // 6 in a row: one under
		e.clock.Advance(30 * time.Second)
		if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), e.sms.lastCode(t)); err != nil {
			t.Fatalf("right code after 6 wrong ones in a row: %v", err)
		}
		// The success ended the run: 7 more in a row disable the factor. A resend does not
		// end the run.
		v = wrongs(5)
		e.clock.Advance(30 * time.Second)
		if _, err := e.a.Resend(t.Context(), v.ID, browser("a")); err != nil {
			t.Fatal(err)
		}
		u, _ := e.store.GetUserByPhone(t.Context(), testPhone)
		if f, _ := e.store.GetFailures(t.Context(), u.ID, FactorSMS); f.Count != 5 {
			t.Fatalf("after a resend the run is %d, want 5", f.Count)
		}
		v = wrongs(2)
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), e.sms.lastCode(t)); !errors.Is(err, ErrSMSFactorDisabled) {
			t.Fatalf("right code after the 7th wrong one: %v", err)
		}
		if _, err := e.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); !errors.Is(err, ErrSMSFactorDisabled) {
			t.Fatalf("sign-in with the factor disabled: %v", err)
		}
		if err := e.a.RestoreSMSFactor(t.Context(), u.ID); err != nil {
			t.Fatal(err)
		}
		v, code := e.login(t)
		if _, err := e.a.VerifyLogin(t.Context(), v.ID, browser("a"), code); err != nil {
			t.Fatalf("after restore: %v", err)
		}
	})
}

// TestRehashOnSignIn: bcrypt hashes and argon2id hashes of other parameters are replaced at
// the next successful sign-in; current ones are left alone; a wrong password changes nothing.
func TestRehashOnSignIn(t *testing.T) {
	e := newEnvOn(t, &spyStore{Storage: openStore(t)}, t.Name())
	u := e.addUser(t)
	bc, _ := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err := e.store.UpdateUserPassword(t.Context(), u.ID, string(bc), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	_ = e.tryLogin(t.Context(), "wrong password 1")
	if got, _ := e.store.GetUser(t.Context(), u.ID); got.PasswordHash != string(bc) {
		t.Fatal("a wrong password rehashed")
	}
	if err := e.tryLogin(t.Context(), testPassword); err != nil {
		t.Fatal(err)
	}
	got, _ := e.store.GetUser(t.Context(), u.ID)
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("bcrypt not upgraded: %s", got.PasswordHash[:20])
	}
	// Same parameters: untouched.
	if err := e.tryLogin(t.Context(), testPassword); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.store.GetUser(t.Context(), u.ID); again.PasswordHash != got.PasswordHash {
		t.Fatal("a current hash was rehashed")
	}
	// New parameters (another instance's configuration): upgraded at the next sign-in.
	e2 := newEnvOn(t, e.store, "new params", func(c *Config) { c.Argon2.Memory = 128; c.Argon2.Time = 2 })
	if _, err := e2.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); err != nil {
		t.Fatal(err)
	}
	if up, _ := e.store.GetUser(t.Context(), u.ID); !strings.HasPrefix(up.PasswordHash, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Fatalf("argon2id not upgraded to the new parameters: %s", up.PasswordHash[:30])
	}
	if _, err := e2.a.StartLogin(t.Context(), testPhone, testPassword, "", browser("a")); err != nil {
		t.Fatal(err)
	}
}

// TestAuditEvents: events carry the IP, request ID, masked phone and client; no secret.
func TestAuditEvents(t *testing.T) {
	e := newEnvOn(t, &spyStore{Storage: openStore(t)}, t.Name())
	e.addUser(t)
	ctx := from(t.Context(), "192.0.2.44")
	_ = e.tryLogin(ctx, "wrong password 1")
	v, err := e.a.StartLogin(ctx, testPhone, testPassword, "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	code := e.sms.lastCode(t)
	_, _ = e.a.VerifyLogin(ctx, v.ID, browser("a"), "000001")
	if _, err := e.a.VerifyLogin(ctx, v.ID, browser("a"), code); err != nil {
		t.Fatal(err)
	}
	events, err := e.store.ListAudit(t.Context(), storage.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range events {
		names = append(names, ev.Event)
		if ev.IP != "192.0.2.44" || ev.RequestID != "req-192.0.2.44" || ev.At.IsZero() {
			t.Errorf("event %s lacks IP, request ID or time: %+v", ev.Event, ev)
		}
		all := strings.Join([]string{ev.Event, ev.UserID, ev.PhoneMasked, ev.Detail}, " ")
		for _, secret := range []string{testPassword, "wrong password 1", code, "000001", testPhone, "4155552671"} {
			if strings.Contains(all, secret) {
				t.Errorf("event %s holds a secret: %+v", ev.Event, ev)
			}
		}
	}
	want := []string{string(EventPasswordFailed), string(EventPasswordOK), string(EventCodeSent), string(EventCodeFailed), string(EventCodeOK)}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("events = %v, want %v", names, want)
	}
}

// TestEveryLimitHasAScope: every SMS and sign-in window limit maps to the LimitError scope the
// pages explain, so no refusal reaches them without one.
func TestEveryLimitHasAScope(t *testing.T) {
	for _, n := range limits.Names() {
		s, _ := limits.Lookup(n)
		switch {
		case strings.HasPrefix(s.Prefix, "sms:"):
			if smsScopes[n] == "" {
				t.Errorf("SMS limit %s has no scope", n)
			}
		case strings.HasPrefix(s.Prefix, "login:"):
			if loginScopes[n] == "" {
				t.Errorf("sign-in limit %s has no scope", n)
			}
		}
	}
}
