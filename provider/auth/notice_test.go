package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/sms"
)

// TestPasswordChangedNotice: a password change and a reset each text the account's phone a
// notice (no code in it), in the request's language; past the SMS limits the notice is not sent
// and the change still stands; a failed send does not undo it either.
func TestPasswordChangedNotice(t *testing.T) {
	e, u, codes := resetEnv(t, func(c *Config) { c.Limits.SMSSignInPhoneHourly = Rate{Max: 1, Per: time.Hour} })
	ctx := t.Context()
	if err := e.a.ChangePassword(WithLanguage(ctx, "es-MX,es;q=0.9"), u.ID, "", testPassword, "a brand new password", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	m := e.sms.last(t)
	want := sms.Message{To: testPhone, Body: "Se cambió la contraseña de tu cuenta de otpidp. Si no fuiste tú, restablece tu contraseña ahora y contacta con soporte.", Locale: "es-MX,es;q=0.9"}
	if m != want {
		t.Fatalf("notice = %+v, want %+v", m, want)
	}
	// The reset's code counts against the reset budget; its notice would be the second of the
	// hour in the sign-in budget (the account's own texts): refused.
	v, err := e.a.StartReset(ctx, testPhone, "", browser("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.VerifyReset(ctx, v.ID, browser("a"), e.sms.lastCode(t), codes[0]); err != nil {
		t.Fatal(err)
	}
	sent := e.sms.count()
	if _, err := e.a.CompleteReset(ctx, v.ID, browser("a"), "another new password", "another new password"); err != nil {
		t.Fatalf("CompleteReset past the SMS limit: %v", err)
	}
	if e.sms.count() != sent {
		t.Fatal("a notice went out past the per-phone limit")
	}
	// The next hour: a change sends the English notice; a failing sender does not undo a change.
	e.clock.Advance(time.Hour)
	if err := e.a.ChangePassword(ctx, u.ID, "", "another new password", "a third new password", "a third new password"); err != nil {
		t.Fatal(err)
	}
	if got := e.sms.last(t).Body; !strings.HasPrefix(got, "Your otpidp password was changed. If this wasn't you") {
		t.Fatalf("notice = %q", got)
	}
	e.sms.fail(errors.New("provider down"))
	if err := e.a.ChangePassword(ctx, u.ID, "", "a third new password", "a fourth new password", "a fourth new password"); err != nil {
		t.Fatalf("ChangePassword with a failing sender: %v", err)
	}
	after, err := e.store.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e.a.VerifyPassword(ctx, "a fourth new password", after.PasswordHash); !ok || err != nil {
		t.Fatalf("the new password does not stand: %v", err)
	}
}

// TestPasswordNoticeVerifyMode: Twilio Verify sends only codes, so a change sends no notice
// (no request reaches Twilio, nothing reaches the sender) and the audit log says why; the
// README lists this, and the taken-number registration (TestVerifyModeRegistration), as the
// known limit of that mode.
func TestPasswordNoticeVerifyMode(t *testing.T) {
	e, u, _ := resetEnv(t)
	fake := withVerify(t, e)
	before, sent := fake.Requests(), e.sms.count()
	if err := e.a.ChangePassword(t.Context(), u.ID, "", testPassword, "a brand new password", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if fake.Requests() != before || e.sms.count() != sent {
		t.Fatalf("a notice was sent in Verify mode: %d requests to Twilio, %d texts", fake.Requests()-before, e.sms.count()-sent)
	}
	if names := e.auditNames(t); !strings.Contains(strings.Join(names, " "), string(EventNoticeNotSent)) {
		t.Fatalf("audit log %v lacks %s", names, EventNoticeNotSent)
	}
}
