package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/provider/phone"
	"github.com/otpidp/otpidp/storage"
)

// A password reset (SECURITY.md RST-01..RST-09) is a storage.FlowReset flow in three steps:
//
//  1. StartReset: the phone number. A number with an account gets an SMS code; any other number
//     gets a flow that looks the same and accepts no code, and a notice that no account uses
//     it (RST-01). Both count against the SMS limits alike, as registrations (no share of the
//     sign-in reserve), and both texts go through the outbox when there is one (WithOutbox).
//  2. VerifyReset: the SMS code and, unless Config.ResetSMSOnly, one of the user's recovery
//     codes (the second factor, RST-09). Both are spent; the flow then allows one thing only,
//     setting a new password, until it expires (RST-04). Nothing about the account changes
//     before this step (RST-05).
//  3. CompleteReset: the new password, typed twice, under the same policy as registration
//     (RST-06). Every session of the user ends and every access and refresh token is revoked;
//     the user is not signed in (RST-07).

// Audit events of password resets and changes.
const (
	EventResetRequested       = audit.ResetRequested // for any number; the user when it has an account
	EventResetVerified        = audit.ResetVerified  // the codes were right
	EventResetFailed          = audit.ResetFailed    // refused after the right code
	EventPasswordReset        = audit.PasswordReset
	EventPasswordChanged      = audit.PasswordChanged
	EventPasswordChangeFailed = audit.PasswordChangeFailed
)

// ResetNeedsRecoveryCode reports whether a reset asks for a recovery code besides the SMS code.
func (a *Authenticator) ResetNeedsRecoveryCode() bool { return !a.cfg.ResetSMSOnly }

// resetText is the SMS carrying a reset code.
func (a *Authenticator) resetText(ctx context.Context, code string) string {
	return a.codeText(ctx, code)
}

// resetMessage returns the code hash and the SMS of a reset flow. A number without an account
// costs the same: a code is drawn, hashed and written into its text all the same, then the
// flow keeps a hash that no code matches (the HMAC under another label, ":none" after the flow
// ID, which no typed code of digits can produce) and the number gets a notice that no account
// uses it instead of the code (RST-01): one text either way, so the provider sees the same
// requests for both.
func (a *Authenticator) resetMessage(ctx context.Context, flowID string, known bool) ([]byte, string, error) {
	label := flowID
	if !known {
		label = flowID + ":none"
	}
	code, hash, err := a.newCode(label)
	if err != nil {
		return nil, "", err
	}
	text := a.resetText(ctx, code)
	if !known {
		return hash, a.texts.NoAccount(Language(ctx)), nil
	}
	return hash, text, nil
}

// StartReset begins a password reset for the number typed. The answer is the same whether or
// not the number has an account. Errors: ErrInvalidPhone when the input is not a phone number
// (ErrPhoneNotMobile, ErrSMSCountryNotAllowed); *LimitError or ErrSMSPaused from the SMS limits,
// for any number alike; without an outbox, ErrSMSUndeliverable or ErrSMSUnavailable when the
// text could not be sent.
func (a *Authenticator) StartReset(ctx context.Context, phoneInput, authRequestID string, browserHash []byte) (FlowView, error) {
	if len(browserHash) == 0 {
		return FlowView{}, errNoBrowser
	}
	e164, err := a.normalizePhone(phoneInput)
	if err != nil {
		return FlowView{}, err
	}
	// Every reset counts against the SMS limits as a registration does (no share of the
	// sign-in reserve), whether or not the number has an account: the answers stay the same
	// and a reset is no way around the limits (FRAUD-06, FRAUD-10, RST-02).
	if err := a.allowSMS(ctx, smsRegistration, e164); err != nil {
		return FlowView{}, err
	}
	userID := ""
	u, err := a.store.GetUserByPhone(ctx, e164)
	switch {
	case err == nil && u.PhoneVerified && !u.Disabled(): // a disabled account is reset like none (ACC-01)
		userID = u.ID
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return FlowView{}, fmt.Errorf("auth: reset: get user: %w", err)
	}
	id, err := a.newFlowID()
	if err != nil {
		return FlowView{}, err
	}
	hash, text, err := a.resetMessage(ctx, id, userID != "")
	if err != nil {
		return FlowView{}, err
	}
	a.audit(ctx, EventResetRequested, userID, e164, authRequestID, "")
	now := a.clock()
	f := storage.Flow{
		ID:            id,
		Kind:          storage.FlowReset,
		AuthRequestID: authRequestID,
		UserID:        userID,
		Phone:         e164,
		BrowserHash:   bytes.Clone(browserHash),
		CodeHash:      hash,
		CodeExpiresAt: now.Add(a.cfg.CodeTTL),
		CodeSentAt:    now,
		SendCount:     1,
		CreatedAt:     now,
		ExpiresAt:     now.Add(a.cfg.FlowTTL),
	}
	if err := a.startFlow(ctx, f, text); err != nil {
		return FlowView{}, err
	}
	if userID == "" {
		a.log.InfoContext(ctx, "reset for a number without an account: notice sent", "phone", phone.MaskForLog(e164), "flow_id", f.ID)
		return a.view(f), nil
	}
	a.log.InfoContext(ctx, "reset code sent", "user_id", userID, "phone", phone.MaskForLog(e164), "flow_id", f.ID)
	return a.view(f), nil
}

// VerifyReset checks the SMS code of a reset flow and, unless the operator allows SMS-only
// resets, a recovery code of the account. Both are spent on success, and an SMS factor disabled
// by wrong codes is restored. A wrong SMS code or a wrong recovery code counts as one wrong try
// against the flow (a wrong recovery code also against the account's recovery codes). Errors:
// ErrFlowNotFound, ErrInvalidCode (one answer for a wrong SMS code, a wrong recovery code and a
// number without an account), ErrTooManyAttempts, a *LimitError (ScopeRecovery) while the
// account's recovery codes are locked, and ErrSMSFactorDisabled for an SMS-only reset (after the
// right code) of an account whose SMS factor is disabled.
func (a *Authenticator) VerifyReset(ctx context.Context, flowID string, browserHash []byte, code, recoveryCode string) error {
	f, err := a.loadFlow(ctx, flowID, browserHash, storage.FlowReset)
	if err != nil {
		return err
	}
	now := a.clock()
	hash, err := a.checkCode(ctx, f, code, now)
	if err != nil {
		return err
	}
	if f.UserID == "" { // cannot happen: no code matches such a flow
		return ErrInvalidCode
	}
	if a.ResetNeedsRecoveryCode() {
		ok, err := a.checkRecoveryCode(ctx, f, recoveryCode, "reset")
		if err != nil {
			return err
		}
		if !ok {
			a.log.InfoContext(ctx, "reset refused: wrong recovery code", "user_id", f.UserID, "flow_id", f.ID)
			if err := a.wrongTry(ctx, f); !errors.Is(err, ErrInvalidCode) {
				return err
			}
			return ErrWrongRecoveryCode
		}
	} else if disabled, err := a.smsFactorDisabled(ctx, f.UserID); err != nil {
		return err
	} else if disabled {
		// The texted code alone cannot reset an account whose SMS factor is disabled. Only the
		// holder of the phone, who typed the right code, learns it.
		a.log.InfoContext(ctx, "reset refused: SMS factor disabled", "user_id", f.UserID, "flow_id", f.ID)
		a.audit(ctx, EventResetFailed, f.UserID, f.Phone, f.AuthRequestID, "sms_factor_disabled")
		return ErrSMSFactorDisabled
	}
	if _, err := a.store.ConsumeCode(ctx, f.ID, hash, a.cfg.MaxCodeAttempts, now); err != nil {
		return a.consumeFailed(ctx, f.ID, err)
	}
	if a.ResetNeedsRecoveryCode() {
		// The texted code and a recovery code: the SMS factor works again (recoverylimits.go).
		if err := a.restoreAfterRecovery(ctx, f.UserID); err != nil {
			a.log.ErrorContext(ctx, "restore SMS factor", "error", err)
		}
	}
	a.audit(ctx, EventResetVerified, f.UserID, f.Phone, f.AuthRequestID, map[bool]string{true: "sms+recovery_code", false: "sms"}[a.ResetNeedsRecoveryCode()])
	a.log.InfoContext(ctx, "reset verified", "user_id", f.UserID, "flow_id", f.ID, "recovery_code", a.ResetNeedsRecoveryCode())
	return nil
}

// verifiedReset returns the reset flow whose codes were verified, started by this browser and
// not expired; ErrFlowNotFound otherwise.
func (a *Authenticator) verifiedReset(ctx context.Context, flowID string, browserHash []byte) (storage.Flow, error) {
	if flowID == "" || len(flowID) > maxFlowIDLen {
		return storage.Flow{}, ErrFlowNotFound
	}
	f, err := a.store.GetFlow(ctx, flowID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Flow{}, ErrFlowNotFound
	}
	if err != nil {
		return storage.Flow{}, fmt.Errorf("auth: get flow: %w", err)
	}
	if subtle.ConstantTimeCompare(f.BrowserHash, browserHash) != 1 || f.Kind != storage.FlowReset ||
		f.CodeUsedAt.IsZero() || f.UserID == "" || !a.clock().Before(f.ExpiresAt) {
		return storage.Flow{}, ErrFlowNotFound
	}
	return f, nil
}

// ResetReady returns the view of a verified reset flow (its codes were accepted), ready for the
// new password; ErrFlowNotFound otherwise.
func (a *Authenticator) ResetReady(ctx context.Context, flowID string, browserHash []byte) (FlowView, error) {
	f, err := a.verifiedReset(ctx, flowID, browserHash)
	if err != nil {
		return FlowView{}, err
	}
	return a.view(f), nil
}

// CompleteReset sets the new password of a verified reset flow, ends every session of the user
// and revokes all their tokens, and ends the flow. It returns the flow's authorization request
// ID (the app the user came from) so the pages can send the user to sign in for it. Errors:
// ErrFlowNotFound; a *FieldError for the password (FieldPassword) or a confirmation that differs
// (FieldPasswordConfirm, ReasonMismatch).
func (a *Authenticator) CompleteReset(ctx context.Context, flowID string, browserHash []byte, password, confirm string) (string, error) {
	f, err := a.verifiedReset(ctx, flowID, browserHash)
	if err != nil {
		return "", err
	}
	u, err := a.store.GetUser(ctx, f.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", ErrFlowNotFound
	}
	if err != nil {
		return "", fmt.Errorf("auth: reset: get user: %w", err)
	}
	hash, err := a.newPassword(ctx, u, password, confirm)
	if err != nil {
		return "", err
	}
	// Deleting the flow is the single-use gate: of two concurrent submissions one wins.
	if err := a.store.DeleteFlow(ctx, f.ID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return "", ErrFlowNotFound
		}
		return "", fmt.Errorf("auth: reset: end flow: %w", err)
	}
	if err := a.setPasswordAndEndSessions(ctx, u.ID, hash, ""); err != nil {
		return "", err
	}
	a.log.InfoContext(ctx, "password reset", "user_id", u.ID, "flow_id", f.ID)
	a.audit(ctx, EventPasswordReset, u.ID, u.Phone, f.AuthRequestID, "sessions ended, tokens revoked")
	a.notifyPasswordChanged(ctx, u, "reset")
	return f.AuthRequestID, nil
}

// newPassword checks a new password typed twice against the policy and hashes it. Every
// refused field is reported at once (fieldErrors).
func (a *Authenticator) newPassword(ctx context.Context, u storage.User, password, confirm string) (string, error) {
	if err := fieldErrors(a.checkNewPassword(u, password, confirm)); err != nil {
		return "", err
	}
	return a.HashPassword(ctx, password)
}

// checkNewPassword returns one *FieldError per refused field of a new password typed twice, in
// the form's order: the password against the policy (FieldPassword), then a confirmation that
// differs (FieldPasswordConfirm, ReasonMismatch), which is said even when the password itself is
// refused. Nothing is hashed.
func (a *Authenticator) checkNewPassword(u storage.User, password, confirm string) []error {
	var errs []error
	if err := a.CheckPassword(password, u.Name, u.Phone); err != nil {
		errs = append(errs, err)
	}
	if subtle.ConstantTimeCompare([]byte(normalizePassword(password)), []byte(normalizePassword(confirm))) != 1 {
		errs = append(errs, &FieldError{Field: FieldPasswordConfirm, Reason: ReasonMismatch})
	}
	return errs
}

// fieldErrors joins the refused fields of a form as registration does (checkAccount): nil for
// none, the error itself for one, errors.Join of them in the form's order otherwise (errors.As
// finds the first).
func fieldErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// setPasswordAndEndSessions stores the new hash, then ends the user's sessions (all of them, or
// all but keepSessionID) and revokes every access and refresh token of the user.
func (a *Authenticator) setPasswordAndEndSessions(ctx context.Context, userID, hash, keepSessionID string) error {
	now := a.clock()
	if err := a.store.UpdateUserPassword(ctx, userID, hash, now); err != nil {
		return fmt.Errorf("auth: update password: %w", err)
	}
	if keepSessionID == "" {
		if err := a.store.DeleteUserSessions(ctx, userID); err != nil {
			return fmt.Errorf("auth: end sessions: %w", err)
		}
	} else {
		sessions, err := a.store.ListUserSessions(ctx, userID, now)
		if err != nil {
			return fmt.Errorf("auth: list sessions: %w", err)
		}
		for _, s := range sessions {
			if s.ID == keepSessionID {
				continue
			}
			if err := a.store.DeleteSession(ctx, s.ID); err != nil {
				return fmt.Errorf("auth: end session: %w", err)
			}
		}
	}
	if err := a.store.RevokeUserTokens(ctx, userID, "", now); err != nil {
		return fmt.Errorf("auth: revoke tokens: %w", err)
	}
	return nil
}

// ChangePassword changes a signed-in user's password: the current one is required (PW-11), the
// new one follows the policy and is typed twice. Every other session of the user ends
// (keepSessionID stays signed in) and every token issued to apps is revoked. Errors: every
// refused field at once, as at registration (errors.Join of *FieldError in the form's order;
// errors.As finds the first): FieldCurrentPassword (ReasonWrongCurrent, or ReasonThrottled
// when the sign-in limits refuse the attempt), FieldPassword, FieldPasswordConfirm. The
// current password is checked (and counted, RL-06) whatever the new one is; nothing is hashed
// or changed unless every field passes.
func (a *Authenticator) ChangePassword(ctx context.Context, userID, keepSessionID, current, password, confirm string) error {
	u, err := a.store.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("auth: change password: get user: %w", err)
	}
	var errs []error
	if err := a.checkCurrentPassword(ctx, u, current); err != nil { // the sign-in's limits (RL-06)
		var fe *FieldError
		if !errors.As(err, &fe) {
			return err
		}
		errs = append(errs, err)
	}
	errs = append(errs, a.checkNewPassword(u, password, confirm)...)
	if err := fieldErrors(errs); err != nil {
		return err
	}
	hash, err := a.HashPassword(ctx, password)
	if err != nil {
		return err
	}
	if err := a.setPasswordAndEndSessions(ctx, u.ID, hash, keepSessionID); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "password changed", "user_id", u.ID)
	a.audit(ctx, EventPasswordChanged, u.ID, u.Phone, "", "other sessions ended, tokens revoked")
	a.notifyPasswordChanged(ctx, u, "change")
	return nil
}
