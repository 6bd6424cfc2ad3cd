package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/authflow"
	"github.com/otpidp/otpidp/storage"
)

// resetEnv has the test user with recovery codes, a live session and a live refresh token.
func resetEnv(t *testing.T, edit ...func(*Config)) (*env, storage.User, []string) {
	t.Helper()
	return resetEnvOn(t, newEnv(t, edit...))
}

// resetEnvOn is resetEnv on a given environment.
func resetEnvOn(t *testing.T, e *env) (*env, storage.User, []string) {
	t.Helper()
	u := e.addUser(t)
	codes, err := e.a.GenerateRecoveryCodes(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	ctx := t.Context()
	if err := e.store.CreateSession(ctx, storage.Session{ID: "s1", TokenHash: browser("s1"), UserID: u.ID, AuthTime: now,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour), IdleExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateClient(ctx, storage.Client{ID: "c1", Name: "App", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateRefreshToken(ctx, storage.RefreshToken{ID: "r1", TokenHash: browser("r1"), FamilyID: "f1", ClientID: "c1",
		UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), IdleExpiresAt: now.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return e, u, codes
}

func TestReset(t *testing.T) {
	e, u, codes := resetEnv(t)
	ctx := t.Context()
	v, err := e.a.StartReset(ctx, testNational, "ar-1", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	smsCode := e.sms.lastCode(t)
	if v.Kind != authflow.FlowReset || v.MaskedPhone == "" {
		t.Fatalf("view = %+v", v)
	}
	// Before the codes: no password step (RST-04), and the account is unchanged (RST-05).
	if _, err := e.a.ResetReady(ctx, v.ID, browser("a")); !errors.Is(err, ErrFlowNotFound) {
		t.Fatalf("ResetReady before verification: err = %v", err)
	}
	if _, err := e.a.CompleteReset(ctx, v.ID, browser("a"), "a brand new password", "a brand new password"); !errors.Is(err, ErrFlowNotFound) {
		t.Fatalf("CompleteReset before verification: err = %v", err)
	}
	if _, err := e.a.StartLogin(ctx, testPhone, testPassword, "", browser("a")); err != nil {
		t.Fatalf("the old password stopped working before the reset: %v", err)
	}

	// The SMS code alone is not enough; a wrong recovery code leaves the SMS code usable.
	if err := e.a.VerifyReset(ctx, v.ID, browser("a"), smsCode, ""); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("no recovery code: err = %v, want ErrInvalidCode", err)
	}
	if err := e.a.VerifyReset(ctx, v.ID, browser("a"), smsCode, "0000-0000-0000-0000"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("wrong recovery code: err = %v, want ErrInvalidCode", err)
	}
	// A right recovery code with a wrong SMS code is not spent.
	wrongSMS := fmt.Sprintf("%06d", (mustAtoi(smsCode)+1)%codeSpace)
	if err := e.a.VerifyReset(ctx, v.ID, browser("a"), wrongSMS, codes[0]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("wrong SMS code: err = %v, want ErrInvalidCode", err)
	}
	if n, _ := e.a.RecoveryCodesLeft(ctx, u.ID); n != 10 {
		t.Fatalf("RecoveryCodesLeft = %d, want 10", n)
	}
	if err := e.a.VerifyReset(ctx, v.ID, browser("b"), smsCode, codes[0]); !errors.Is(err, ErrFlowNotFound) {
		t.Fatalf("another browser: err = %v", err)
	}
	if err := e.a.VerifyReset(ctx, v.ID, browser("a"), smsCode, codes[0]); err != nil {
		t.Fatalf("VerifyReset: %v", err)
	}
	if n, _ := e.a.RecoveryCodesLeft(ctx, u.ID); n != 9 {
		t.Fatalf("RecoveryCodesLeft = %d, want 9: the recovery code must be spent", n)
	}
	if err := e.a.VerifyReset(ctx, v.ID, browser("a"), smsCode, codes[1]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("codes used twice: err = %v", err)
	}
	if _, err := e.a.ResetReady(ctx, v.ID, browser("a")); err != nil {
		t.Fatalf("ResetReady: %v", err)
	}
	if _, err := e.a.ResetReady(ctx, v.ID, browser("b")); !errors.Is(err, ErrFlowNotFound) {
		t.Fatalf("ResetReady in another browser: err = %v", err)
	}

	// The new password: same policy as registration, typed twice.
	_, err = e.a.CompleteReset(ctx, v.ID, browser("a"), "short", "short")
	checkErr(t, err, &FieldError{Field: FieldPassword, Reason: ReasonTooShort})
	_, err = e.a.CompleteReset(ctx, v.ID, browser("a"), testName, testName)
	checkErr(t, err, &FieldError{Field: FieldPassword, Reason: ReasonIsName})
	_, err = e.a.CompleteReset(ctx, v.ID, browser("a"), "a brand new password", "a brand new passwort")
	checkErr(t, err, &FieldError{Field: FieldPasswordConfirm, Reason: ReasonMismatch})
	ar, err := e.a.CompleteReset(ctx, v.ID, browser("a"), "a brand new password", "a brand new password")
	if err != nil {
		t.Fatalf("CompleteReset: %v", err)
	}
	if ar != "ar-1" {
		t.Fatalf("CompleteReset returned %q, want the flow's authorization request", ar)
	}
	if _, err := e.a.CompleteReset(ctx, v.ID, browser("a"), "another new password", "another new password"); !errors.Is(err, ErrFlowNotFound) {
		t.Fatalf("second CompleteReset: err = %v", err)
	}

	// RST-07: sessions and tokens end; the old password fails, the new one works.
	if ss, _ := e.store.ListUserSessions(ctx, u.ID, e.clock.Now()); len(ss) != 0 {
		t.Fatalf("%d sessions survived the reset", len(ss))
	}
	if rt, _ := e.store.GetRefreshTokenByHash(ctx, browser("r1")); rt.RevokedAt.IsZero() {
		t.Fatal("the refresh token survived the reset")
	}
	if _, err := e.a.StartLogin(ctx, testPhone, testPassword, "", browser("a")); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("old password after the reset: err = %v", err)
	}
	if _, err := e.a.StartLogin(ctx, testPhone, "a brand new password", "", browser("a")); err != nil {
		t.Fatalf("new password after the reset: %v", err)
	}
}

func TestResetUnknownNumber(t *testing.T) {
	e, _, _ := resetEnv(t)
	ctx := t.Context()
	before := e.sms.count()
	v, err := e.a.StartReset(ctx, "+14155550199", "", browser("a"))
	if err != nil {
		t.Fatalf("StartReset for an unknown number: %v", err)
	}
	if e.sms.count() != before+1 || !strings.Contains(e.sms.last(t).Body, "no account uses it") || strings.Contains(e.sms.last(t).Body, "#") {
		t.Fatalf("a number without an account got %d texts, the last %q; want one notice without a code", e.sms.count()-before, e.sms.last(t).Body)
	}
	known, err := e.a.StartReset(ctx, testPhone, "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	// The two views differ only in the number and the ID.
	if v.Kind != known.Kind || v.ResendAt != known.ResendAt || v.ExpiresAt != known.ExpiresAt || v.MaskedPhone == "" {
		t.Fatalf("views differ: %+v vs %+v", v, known)
	}
	for _, code := range []string{"000000", "123456", e.sms.lastCode(t)} {
		if err := e.a.VerifyReset(ctx, v.ID, browser("a"), code, ""); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("code %s on an unknown number: err = %v, want ErrInvalidCode", code, err)
		}
	}
	// A resend after the interval sends the notice again, as a known number's sends a code.
	e.clock.Advance(31 * time.Second)
	if _, err := e.a.Resend(ctx, v.ID, browser("a")); err != nil {
		t.Fatalf("Resend: %v", err)
	}
	if e.sms.count() != before+3 {
		t.Fatalf("SMS count = %d, want %d (notice, code, notice)", e.sms.count(), before+3)
	}
	if _, err := e.a.StartReset(ctx, "not a number", "", browser("a")); !errors.Is(err, ErrInvalidPhone) {
		t.Fatalf("not a number: err = %v", err)
	}
	if _, err := e.a.StartReset(ctx, testPhone, "", nil); err == nil {
		t.Fatal("a reset without a browser started")
	}
}

func TestResetResendKnownNumber(t *testing.T) {
	e, _, codes := resetEnv(t)
	ctx := t.Context()
	v, err := e.a.StartReset(ctx, testPhone, "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	first := e.sms.lastCode(t)
	e.clock.Advance(31 * time.Second)
	if _, err := e.a.Resend(ctx, v.ID, browser("a")); err != nil {
		t.Fatal(err)
	}
	second := e.sms.lastCode(t)
	if first != second {
		if err := e.a.VerifyReset(ctx, v.ID, browser("a"), first, codes[0]); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("replaced code: err = %v", err)
		}
	}
	if err := e.a.VerifyReset(ctx, v.ID, browser("a"), second, codes[0]); err != nil {
		t.Fatalf("new code: %v", err)
	}
}

func TestResetSMSOnly(t *testing.T) {
	e, u, _ := resetEnv(t, func(c *Config) { c.ResetSMSOnly = true })
	ctx := t.Context()
	if e.a.ResetNeedsRecoveryCode() {
		t.Fatal("ResetNeedsRecoveryCode with ResetSMSOnly")
	}
	v, err := e.a.StartReset(ctx, testPhone, "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.VerifyReset(ctx, v.ID, browser("a"), e.sms.lastCode(t), ""); err != nil {
		t.Fatalf("VerifyReset SMS only: %v", err)
	}
	if n, _ := e.a.RecoveryCodesLeft(ctx, u.ID); n != 10 {
		t.Fatalf("RecoveryCodesLeft = %d, want 10", n)
	}
	if _, err := e.a.CompleteReset(ctx, v.ID, browser("a"), "a brand new password", "a brand new password"); err != nil {
		t.Fatal(err)
	}
}

func TestChangePassword(t *testing.T) {
	e, u, _ := resetEnv(t)
	ctx := t.Context()
	now := e.clock.Now()
	if err := e.store.CreateSession(ctx, storage.Session{ID: "s2", TokenHash: browser("s2"), UserID: u.ID, AuthTime: now,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour), IdleExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	before, _ := e.store.GetUser(ctx, u.ID)
	for _, tt := range []struct {
		current, next, confirm string
		want                   error
	}{
		{"", "a brand new password", "a brand new password", &FieldError{Field: FieldCurrentPassword, Reason: ReasonWrongCurrent}},
		{"wrong password here", "a brand new password", "a brand new password", &FieldError{Field: FieldCurrentPassword, Reason: ReasonWrongCurrent}},
		{testPassword, "short", "short", &FieldError{Field: FieldPassword, Reason: ReasonTooShort}},
		{testPassword, "a brand new password", "something else", &FieldError{Field: FieldPasswordConfirm, Reason: ReasonMismatch}},
	} {
		checkErr(t, e.a.ChangePassword(ctx, u.ID, "s2", tt.current, tt.next, tt.confirm), tt.want)
	}
	if after, _ := e.store.GetUser(ctx, u.ID); after.PasswordHash != before.PasswordHash {
		t.Fatal("a refused change changed the password hash")
	}
	if err := e.a.ChangePassword(ctx, u.ID, "s2", testPassword, "a brand new password", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	ss, _ := e.store.ListUserSessions(ctx, u.ID, e.clock.Now())
	if len(ss) != 1 || ss[0].ID != "s2" {
		t.Fatalf("sessions after the change = %+v, want s2 only", ss)
	}
	if rt, _ := e.store.GetRefreshTokenByHash(ctx, browser("r1")); rt.RevokedAt.IsZero() {
		t.Fatal("the refresh token survived the password change")
	}
	if _, err := e.a.StartLogin(ctx, testPhone, "a brand new password", "", browser("a")); err != nil {
		t.Fatalf("new password: %v", err)
	}
}
