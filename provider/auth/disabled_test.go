package auth

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDisabledUser: a disabled account's right password is refused like a wrong one, with no
// text and no flow; a reset for its number gets what a number without an account gets;
// enabled again, it signs in.
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
	// A disabled account is reset like a number without one (ACC-01): it gets the same single
	// notice, never a code, so that the count of texts tells nobody which it is (RST-01).
	if n := e.sms.count(); n != 1 {
		t.Fatalf("%d texts sent to a disabled account, want the one notice a number without an account gets", n)
	}
	if body := e.sms.last(t).Body; !strings.Contains(body, "no account uses it") || regexp.MustCompile(`\d{6}`).MatchString(body) {
		t.Fatalf("a disabled account's reset texted %q, want the notice without a code", body)
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
