package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/storage"
)

// checkCurrentPassword checks the password a signed-in user types to change it, under the
// same limits as a sign-in (SECURITY.md RL-06): the attempt counts against the per-IP and
// overall failed sign-in limits (given back when it is right), a wrong one counts in the
// phone number's failure run, so the same growing waits apply here and at sign-in, and while
// the number is being delayed no password is checked (the same hash is spent on the dummy).
// Errors: a *FieldError for FieldCurrentPassword, ReasonWrongCurrent or ReasonThrottled.
func (a *Authenticator) checkCurrentPassword(ctx context.Context, u storage.User, password string) error {
	wrong := &FieldError{Field: FieldCurrentPassword, Reason: ReasonWrongCurrent}
	throttledErr := &FieldError{Field: FieldCurrentPassword, Reason: ReasonThrottled}
	if len(password) > MaxPasswordBytes || password == "" {
		return wrong
	}
	now := a.clock()
	hits := a.loginLimits(ctx)
	refusal, err := a.limiter.Take(ctx, now, hits...)
	if err != nil {
		return fmt.Errorf("auth: change password: count attempt: %w", err)
	}
	if refusal != nil {
		scope := loginScopes[refusal.Name]
		a.log.WarnContext(ctx, "password change refused", "reason", scope, "user_id", u.ID)
		a.audit(ctx, EventLoginRateLimited, u.ID, u.Phone, "", scope)
		return throttledErr
	}
	throttled, err := a.throttled(ctx, u.Phone, now)
	if err != nil {
		return fmt.Errorf("auth: change password: %w", err)
	}
	hash := u.PasswordHash
	if throttled {
		hash = a.dummyHash
	}
	ok, err := a.VerifyPassword(ctx, password, hash)
	if err != nil && !errors.Is(err, ErrMalformedHash) {
		return fmt.Errorf("auth: change password: %w", err)
	}
	if throttled {
		a.log.InfoContext(ctx, "password change refused", "reason", "throttled", "user_id", u.ID, "phone", phone.MaskForLog(u.Phone))
		a.audit(ctx, EventLoginThrottled, u.ID, u.Phone, "", "password change: throttled")
		return throttledErr
	}
	if !ok {
		a.passwordFailed(ctx, u.Phone, now)
		a.log.InfoContext(ctx, "password change refused", "reason", "wrong_current", "user_id", u.ID)
		a.audit(ctx, EventPasswordChangeFailed, u.ID, u.Phone, "", "wrong_current")
		return wrong
	}
	if err := a.store.ResetFailures(ctx, "phone:"+u.Phone, FactorPassword); err != nil {
		return fmt.Errorf("auth: change password: reset failures: %w", err)
	}
	if err := a.limiter.Untake(ctx, now, hits...); err != nil {
		a.log.ErrorContext(ctx, "give back password attempt", "error", err)
	}
	return nil
}
