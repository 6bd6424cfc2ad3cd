package auth

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/storage"
)

// disableSMS records wrong codes for the user until the SMS factor is disabled (the run that
// VerifyLogin's wrong codes make, without the texts).
func (e *env) disableSMS(t *testing.T, userID string) {
	t.Helper()
	for range e.a.cfg.Limits.SMSFactorMaxFailures {
		if _, err := e.store.RecordFailure(t.Context(), userID, FactorSMS, e.clock.Now(), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if disabled, err := e.a.smsFactorDisabled(t.Context(), userID); err != nil || !disabled {
		t.Fatalf("SMS factor not disabled: %v", err)
	}
}

func (e *env) auditNames(t *testing.T) []string {
	t.Helper()
	events, err := e.store.ListAudit(t.Context(), storage.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range events {
		names = append(names, ev.Event)
	}
	return names
}

// TestRecoveryRestoresSMSFactor: with the SMS factor disabled, the right password leads to a
// flow that sends no text, takes no SMS code and no resend, and that a recovery code finishes;
// that sign-in restores the SMS factor.
func TestRecoveryRestoresSMSFactor(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e, u, codes := resetEnvOn(t, newEnv(func(c *Config) { c.Limits.SMSFactorMaxFailures = 3 }))
		ctx := t.Context()
		e.disableSMS(t, u.ID)
		sent := e.sms.count()
		if _, err := e.a.StartLogin(ctx, testPhone, "wrong password 1", "", browser("a")); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong password with the factor disabled: %v", err)
		}
		v, err := e.a.StartLogin(ctx, testPhone, testPassword, "", browser("a"))
		if !errors.Is(err, ErrSMSFactorDisabled) || v.ID == "" {
			t.Fatalf("StartLogin = %+v, %v; want a flow and ErrSMSFactorDisabled", v, err)
		}
		e.clock.Advance(31 * time.Second)
		if _, err := e.a.Resend(ctx, v.ID, browser("a")); !errors.Is(err, ErrSMSFactorDisabled) {
			t.Fatalf("resend with the factor disabled: %v", err)
		}
		if e.sms.count() != sent {
			t.Fatal("a text was sent with the SMS factor disabled")
		}
		if _, err := e.a.VerifyLogin(ctx, v.ID, browser("a"), "123456"); !errors.Is(err, ErrSMSFactorDisabled) {
			t.Fatalf("SMS code with the factor disabled: %v", err)
		}
		if _, err := e.a.VerifyLoginRecovery(ctx, v.ID, browser("b"), codes[0]); !errors.Is(err, ErrFlowNotFound) {
			t.Fatalf("recovery code in another browser: %v", err)
		}
		res, err := e.a.VerifyLoginRecovery(ctx, v.ID, browser("a"), codes[0])
		if err != nil || !slices.Equal(res.AMR, amrPasswordOTP()) || res.UserID != u.ID {
			t.Fatalf("VerifyLoginRecovery = %+v, %v", res, err)
		}
		if disabled, _ := e.a.smsFactorDisabled(ctx, u.ID); disabled {
			t.Fatal("the SMS factor is still disabled after a recovery-code sign-in")
		}
		v2, code := e.login(t)
		if _, err := e.a.VerifyLogin(ctx, v2.ID, browser("a"), code); err != nil {
			t.Fatalf("SMS sign-in after the restore: %v", err)
		}
		names := e.auditNames(t)
		for _, want := range []audit.Event{EventRecoveryOK, EventSMSFactorRestore} {
			if !slices.Contains(names, string(want)) {
				t.Errorf("audit log %v lacks %s", names, want)
			}
		}
	})
}

// TestRecoveryCodeThrottle: wrong recovery codes are counted per account, across flows; at the
// limit even a right one is not checked (nor spent) until FailureReset after the last wrong
// one; one under the limit, a right one works and ends the run.
func TestRecoveryCodeThrottle(t *testing.T) {
	eachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *env) {
		e, u, codes := resetEnvOn(t, newEnv(func(c *Config) {
			c.Limits.RecoveryMaxFailures = 3
			c.Limits.SMSPhoneHourly, c.Limits.SMSPhoneDaily = Rate{Max: -1}, Rate{Max: -1}
		}))
		ctx := t.Context()
		wrong := func(v FlowView) {
			t.Helper()
			if _, err := e.a.VerifyLoginRecovery(ctx, v.ID, browser("a"), "0000-0000-0000-0000"); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("wrong recovery code: %v", err)
			}
		}
		// Two wrong, in two flows (just under), then a right one works and ends the run.
		v, _ := e.login(t)
		wrong(v)
		v, _ = e.login(t)
		wrong(v)
		if _, err := e.a.VerifyLoginRecovery(ctx, v.ID, browser("a"), codes[0]); err != nil {
			t.Fatalf("right recovery code after 2 wrong ones: %v", err)
		}
		// Three wrong in a row, in three flows: the account's recovery codes are locked.
		for range 3 {
			v, _ = e.login(t)
			wrong(v)
		}
		v, _ = e.login(t)
		var le *LimitError
		if _, err := e.a.VerifyLoginRecovery(ctx, v.ID, browser("a"), codes[1]); !errors.As(err, &le) || le.Scope != ScopeRecovery || le.RetryAfter != 12*time.Hour {
			t.Fatalf("right recovery code at the limit: %v, want recovery for 12h", err)
		}
		if n, _ := e.a.RecoveryCodesLeft(ctx, u.ID); n != 9 {
			t.Fatalf("RecoveryCodesLeft = %d, want 9: a refused check must spend nothing", n)
		}
		// The reset's recovery code is behind the same lock.
		rv, err := e.a.StartReset(ctx, testPhone, "", browser("a"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.a.VerifyReset(ctx, rv.ID, browser("a"), e.sms.lastCode(t), codes[1]); !errors.As(err, &le) || le.Scope != ScopeRecovery {
			t.Fatalf("reset at the limit: %v", err)
		}
		e.clock.Advance(12 * time.Hour)
		v, _ = e.login(t)
		if _, err := e.a.VerifyLoginRecovery(ctx, v.ID, browser("a"), codes[1]); err != nil {
			t.Fatalf("right recovery code after the wait: %v", err)
		}
		names := e.auditNames(t)
		if !slices.Contains(names, string(EventRecoveryLocked)) || !slices.Contains(names, string(EventRecoveryFailed)) {
			t.Fatalf("audit log %v lacks the recovery events", names)
		}
	})
}

// TestResetWithSMSFactorDisabled: by default a reset (texted code + recovery code) still works
// and restores the SMS factor; an SMS-only reset is refused after the right code, and answers
// a wrong code as usual.
func TestResetWithSMSFactorDisabled(t *testing.T) {
	t.Run("sms+recovery", func(t *testing.T) {
		e, u, codes := resetEnv(t, func(c *Config) { c.Limits.SMSFactorMaxFailures = 3 })
		ctx := t.Context()
		e.disableSMS(t, u.ID)
		v, err := e.a.StartReset(ctx, testPhone, "", browser("a"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.a.VerifyReset(ctx, v.ID, browser("a"), e.sms.lastCode(t), codes[0]); err != nil {
			t.Fatalf("VerifyReset: %v", err)
		}
		if disabled, _ := e.a.smsFactorDisabled(ctx, u.ID); disabled {
			t.Fatal("the SMS factor is still disabled after a reset with a recovery code")
		}
	})
	t.Run("sms-only", func(t *testing.T) {
		e, u, _ := resetEnv(t, func(c *Config) { c.ResetSMSOnly = true; c.Limits.SMSFactorMaxFailures = 3 })
		ctx := t.Context()
		e.disableSMS(t, u.ID)
		v, err := e.a.StartReset(ctx, testPhone, "", browser("a"))
		if err != nil {
			t.Fatal(err)
		}
		code := e.sms.lastCode(t)
		if err := e.a.VerifyReset(ctx, v.ID, browser("a"), otherCode(code), ""); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("wrong code: %v", err)
		}
		if err := e.a.VerifyReset(ctx, v.ID, browser("a"), code, ""); !errors.Is(err, ErrSMSFactorDisabled) {
			t.Fatalf("SMS-only reset with the factor disabled: %v", err)
		}
		if _, err := e.a.ResetReady(ctx, v.ID, browser("a")); !errors.Is(err, ErrFlowNotFound) {
			t.Fatalf("the refused reset may set a password: %v", err)
		}
	})
}

// TestResetAndChangeAudited: a reset and a password change leave their events.
func TestResetAndChangeAudited(t *testing.T) {
	e, u, codes := resetEnv(t)
	e.clock.Advance(time.Second) // past the setup's events
	ctx := from(t.Context(), "192.0.2.7")
	v, err := e.a.StartReset(ctx, testPhone, "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.VerifyReset(ctx, v.ID, browser("a"), e.sms.lastCode(t), codes[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.CompleteReset(ctx, v.ID, browser("a"), "a brand new password", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	_ = e.a.ChangePassword(ctx, u.ID, "", "wrong password 1", "another new password", "another new password")
	if err := e.a.ChangePassword(ctx, u.ID, "", "a brand new password", "another new password", "another new password"); err != nil {
		t.Fatal(err)
	}
	events, err := e.store.ListAudit(t.Context(), storage.AuditQuery{UserID: u.ID, Since: testStart.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range events {
		names = append(names, ev.Event)
		if ev.IP != "192.0.2.7" || ev.UserID != u.ID {
			t.Errorf("event %+v lacks IP or user", ev)
		}
	}
	for _, want := range []audit.Event{EventResetRequested, EventRecoveryOK, EventResetVerified, EventPasswordReset, EventPasswordChangeFailed, EventPasswordChanged} {
		if !slices.Contains(names, string(want)) {
			t.Errorf("audit log %v lacks %s", names, want)
		}
	}
}
