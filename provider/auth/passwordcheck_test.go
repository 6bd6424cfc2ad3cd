package auth

import (
	"errors"
	"testing"
	"time"
)

// TestChangePasswordThrottled (issue 9, RL-06): wrong current passwords at a password change
// count in the phone number's failure run with the sign-in's growing waits: 30 wrong ones in a
// row are throttled from the LoginThrottleAfter-th on, the right one is refused during the wait
// (and without the hash of the user's password being checked), and the run delays sign-ins
// too. Before, every try was checked at once and none counted.
func TestChangePasswordThrottled(t *testing.T) {
	// The per-IP limit off: this is the account's run (TestChangePasswordPerIP is the other).
	e, u, _ := resetEnv(t, func(c *Config) { c.Limits.LoginPerIP = Rate{Max: -1} })
	ctx := t.Context()
	after := e.a.cfg.Limits.LoginThrottleAfter
	wrong, throttled := 0, 0
	for range 30 {
		err := e.a.ChangePassword(ctx, u.ID, "s1", "wrong password here", "a brand new password", "a brand new password")
		var fe *FieldError
		switch {
		case errors.As(err, &fe) && fe.Reason == ReasonWrongCurrent:
			wrong++
		case errors.As(err, &fe) && fe.Reason == ReasonThrottled:
			throttled++
		default:
			t.Fatalf("wrong current password: %v", err)
		}
	}
	if wrong != after || throttled != 30-after {
		t.Fatalf("%d refused as wrong and %d throttled, want %d and %d", wrong, throttled, after, 30-after)
	}
	checkErr(t, e.a.ChangePassword(ctx, u.ID, "s1", testPassword, "a brand new password", "a brand new password"),
		&FieldError{Field: FieldCurrentPassword, Reason: ReasonThrottled})
	// The same run delays sign-ins: the right password is refused while it lasts.
	if err := e.tryLogin(ctx, testPassword); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("sign-in during the wait: %v, want ErrInvalidCredentials", err)
	}
	e.clock.Advance(e.a.cfg.Limits.LoginMaxDelay + time.Second)
	if err := e.a.ChangePassword(ctx, u.ID, "s1", testPassword, "a brand new password", "a brand new password"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	// A right password ends the run: a wrong one is again just wrong.
	checkErr(t, e.a.ChangePassword(ctx, u.ID, "s1", "wrong password here", "another new password", "another new password"),
		&FieldError{Field: FieldCurrentPassword, Reason: ReasonWrongCurrent})
}

// TestChangePasswordPerIP: wrong current passwords count against the failed sign-in limit of
// the client IP, which then refuses sign-ins from there as well; another address is not
// refused.
func TestChangePasswordPerIP(t *testing.T) {
	e, u, _ := resetEnv(t, func(c *Config) {
		c.Limits = Limits{LoginThrottleAfter: 1000, LoginPerIP: Rate{Max: 3, Per: 15 * time.Minute}}
	})
	ctx := from(t.Context(), "192.0.2.50")
	for range 3 {
		checkErr(t, e.a.ChangePassword(ctx, u.ID, "s1", "wrong password here", "a brand new password", "a brand new password"),
			&FieldError{Field: FieldCurrentPassword, Reason: ReasonWrongCurrent})
	}
	checkErr(t, e.a.ChangePassword(ctx, u.ID, "s1", testPassword, "a brand new password", "a brand new password"),
		&FieldError{Field: FieldCurrentPassword, Reason: ReasonThrottled})
	var le *LimitError
	if err := e.tryLogin(ctx, testPassword); !errors.As(err, &le) || le.Scope != ScopeLoginIP {
		t.Fatalf("sign-in from the same address: %v, want the per-IP limit", err)
	}
	if err := e.a.ChangePassword(from(t.Context(), "192.0.2.51"), u.ID, "s1", testPassword, "a brand new password", "a brand new password"); err != nil {
		t.Fatalf("from another address: %v", err)
	}
}
