package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/storage"
)

// Recovery codes have 80 bits each, so guessing one is hopeless; still, the endpoints that take
// them must not be free oracles. Wrong recovery codes are counted per account (the "recovery"
// failure run, storage.LimitStore): at Limits.RecoveryMaxFailures in a row, no recovery code of
// the account is checked until Limits.FailureReset after the last wrong one. A right one ends
// the run. Besides, each wrong one is a wrong try of its flow (5 per code).
//
// A recovery code is also the way back for an account whose SMS factor was disabled by wrong
// SMS codes (NIST SP 800-63B §3.2.2: a disabled authenticator is restored by another one): a
// sign-in with a recovery code, or a reset with the texted code and a recovery code, restores
// the SMS factor.

// FactorRecovery is the failure run of wrong recovery codes, kept per user ID.
const FactorRecovery = limits.FactorRecovery

// Audit events of recovery codes (provider/audit's names).
const (
	EventRecoveryOK       = audit.RecoveryCodeOK
	EventRecoveryFailed   = audit.RecoveryCodeFailed
	EventRecoveryIssued   = audit.RecoveryCodesIssued
	EventRecoveryLocked   = audit.LockoutRecovery
	EventSMSFactorRestore = audit.SMSFactorRestored
)

// recoveryCheckHold is how long a claimed recovery-code check holds the account's run: the
// check releases it as soon as it is over, so this is only the wait after an instance died in
// the middle of one.
const recoveryCheckHold = 30 * time.Second

// claimRecoveryCheck lets one recovery-code check of the user start, or returns a *LimitError:
// while the account's recovery codes are locked, and while another check of them runs (on any
// instance). The claim is the failure run's atomic ClaimAttempt, so the count checked against
// the limit is the count the check's result is recorded on: concurrent wrong codes cannot
// overshoot it. release ends the claim with the run's new count.
func (a *Authenticator) claimRecoveryCheck(ctx context.Context, userID string) (release func(count int), err error) {
	run, err := a.store.GetFailures(ctx, userID, FactorRecovery)
	if err != nil {
		return nil, fmt.Errorf("auth: get recovery failures: %w", err)
	}
	now := a.clock()
	if until := run.LastFailureAt.Add(a.cfg.Limits.FailureReset); run.Count >= a.cfg.Limits.RecoveryMaxFailures && now.Before(until) {
		return nil, &LimitError{Scope: ScopeRecovery, RetryAfter: retryAfter(until, now)}
	}
	hold := now.Add(recoveryCheckHold)
	err = a.store.ClaimAttempt(ctx, userID, FactorRecovery, run, hold, now)
	if errors.Is(err, storage.ErrConflict) {
		// Another check holds the run, or has just changed it: this one waits its turn.
		return nil, &LimitError{Scope: ScopeRecovery, RetryAfter: time.Second}
	}
	if err != nil {
		return nil, fmt.Errorf("auth: claim recovery check: %w", err)
	}
	return func(count int) {
		// The same atomic claim, as of the moment the hold ends, sets the run's block back to
		// now: it matches only while the run still has count and our hold (nobody else's).
		err := a.store.ClaimAttempt(ctx, userID, FactorRecovery, storage.Failures{Count: count}, a.clock(), hold)
		if err != nil && !errors.Is(err, storage.ErrConflict) {
			a.log.ErrorContext(ctx, "release recovery check", "error", err)
		}
	}, nil
}

// checkRecoveryCode spends one of the flow user's recovery codes, under the per-account limit.
// A wrong one is counted (and audited); a right one ends the run of wrong ones. ok is false for
// a wrong code; err is a *LimitError while the account's recovery codes are locked (or another
// check of them is running).
func (a *Authenticator) checkRecoveryCode(ctx context.Context, f storage.Flow, input, purpose string) (bool, error) {
	release, err := a.claimRecoveryCheck(ctx, f.UserID)
	if err != nil {
		a.audit(ctx, EventRecoveryFailed, f.UserID, f.Phone, f.AuthRequestID, purpose+": locked")
		return false, err
	}
	ok, err := a.spendRecoveryCode(ctx, f.UserID, input)
	if err != nil {
		if run, gerr := a.store.GetFailures(ctx, f.UserID, FactorRecovery); gerr == nil {
			release(run.Count)
		}
		return false, err
	}
	now := a.clock()
	if !ok {
		n, err := a.store.RecordFailure(ctx, f.UserID, FactorRecovery, now, now.Add(-a.cfg.Limits.FailureReset))
		if err != nil {
			return false, fmt.Errorf("auth: record recovery failure: %w", err)
		}
		release(n)
		a.audit(ctx, EventRecoveryFailed, f.UserID, f.Phone, f.AuthRequestID, fmt.Sprintf("%s: attempt %d", purpose, n))
		if n == a.cfg.Limits.RecoveryMaxFailures {
			a.log.WarnContext(ctx, "recovery codes locked after wrong ones", "user_id", f.UserID, "failures", n)
			a.audit(ctx, EventRecoveryLocked, f.UserID, f.Phone, f.AuthRequestID, fmt.Sprintf("%d wrong recovery codes in a row", n))
		}
		return false, nil
	}
	// A right one ends the run, and with it the claim.
	if err := a.store.ResetFailures(ctx, f.UserID, FactorRecovery); err != nil {
		a.log.ErrorContext(ctx, "reset recovery failures", "error", err)
	}
	left, err := a.RecoveryCodesLeft(ctx, f.UserID)
	if err != nil {
		left = -1
	}
	a.audit(ctx, EventRecoveryOK, f.UserID, f.Phone, f.AuthRequestID, fmt.Sprintf("%s: %d left", purpose, left))
	return true, nil
}

// restoreAfterRecovery re-enables the user's SMS factor, if it was disabled, after another
// authenticator (a recovery code) was verified.
func (a *Authenticator) restoreAfterRecovery(ctx context.Context, userID string) error {
	disabled, err := a.smsFactorDisabled(ctx, userID)
	if err != nil || !disabled {
		return err
	}
	a.log.InfoContext(ctx, "SMS factor restored by a recovery code", "user_id", userID)
	return a.RestoreSMSFactor(ctx, userID)
}

// recoveryOnlyFlow starts the login flow of a user whose password is right but whose SMS factor
// is disabled: no text is sent and no SMS code matches; only a recovery code finishes it
// (VerifyLoginRecovery), which restores the SMS factor.
func (a *Authenticator) recoveryOnlyFlow(ctx context.Context, user storage.User, authRequestID string, browserHash []byte) (FlowView, error) {
	id, err := a.newFlowID()
	if err != nil {
		return FlowView{}, err
	}
	hash, err := a.randomBytes(32)
	if err != nil {
		return FlowView{}, err
	}
	now := a.clock()
	f := a.loginFlow(id, authRequestID, user, browserHash, hash, now, 1)
	if err := a.store.CreateFlow(ctx, f); err != nil {
		return FlowView{}, fmt.Errorf("auth: create flow: %w", err)
	}
	return a.view(f), nil
}
