package auth

import (
	"errors"
	"testing"
	"time"
)

// TestDisabledUser: a disabled account's right password is refused like a wrong one, with no
// text and no flow; a reset for its number sends nothing either; enabled again, it signs in.
func TestDisabledUser(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(t)
	if err := e.store.SetUserDisabled(t.Context(), u.ID, e.clock.Now(), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	_, err := e.a.StartLogin(t.Context(), testNational, testPassword, "ar-1", browser("a"))
	if !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("StartLogin of a disabled user: err = %v, want ErrInvalidCredentials", err)
	}
	_, wrong := e.a.StartLogin(t.Context(), testNational, "not the password at all", "ar-1", browser("a"))
	if !errors.Is(wrong, ErrInvalidCredentials) || err.Error() != wrong.Error() {
		t.Errorf("a disabled account answers %v, a wrong password %v: want the same", err, wrong)
	}
	if _, err := e.a.StartReset(t.Context(), testNational, "", browser("a")); err != nil {
		t.Fatalf("StartReset: %v", err)
	}
	if n := e.sms.count(); n != 0 {
		t.Fatalf("%d texts sent to a disabled account, want none", n)
	}
	names := e.auditNames(t)
	if len(names) == 0 || names[0] != string(EventPasswordFailed) {
		t.Errorf("audit = %v, want password.failed first", names)
	}

	e.clock.Advance(time.Minute)
	if err := e.store.SetUserDisabled(t.Context(), u.ID, time.Time{}, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.login(t) // fails the test unless a code is sent
}
