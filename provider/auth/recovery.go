package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/otpidp/otpidp/storage"
)

// Recovery codes are look-up secrets (NIST SP 800-63B §3.1.2, SECURITY.md RST-09): ten
// single-use codes shown to the user once, after registration or when the user asks for new
// ones. Each has 80 bits from the Authenticator's random source, written as 16 characters of
// Crockford's base32 in four groups ("7KQ2-M9XD-4TRB-HC3W"). They are stored only as
// HMAC-SHA256 under a key derived from the server's code key and bound to the user, so a copy of
// the recovery_codes table alone verifies nothing; with 80 bits an offline search is out of
// reach even with the key. A recovery code replaces the SMS code at sign-in (amr "otp") and is
// the second factor of a password reset.

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

const (
	recoveryAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford's base32
	recoveryChars    = 16                                 // 80 bits
	recoveryGroup    = 4
)

// amrPasswordOTP is the authentication methods reference of a password + recovery code sign-in
// (RFC 8176 "otp": a one-time password).
func amrPasswordOTP() []string { return []string{"pwd", "otp", "mfa"} }

// NormalizeRecoveryCode returns a typed or pasted recovery code in canonical form (upper case,
// without spaces and dashes; the look-alikes O, I and L read as 0, 1 and 1) and whether it has
// the shape of one.
func NormalizeRecoveryCode(input string) (string, bool) {
	if len(input) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(input) {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\u00a0':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 127 || !strings.ContainsRune(recoveryAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != recoveryChars {
		return "", false
	}
	return b.String(), true
}

// formatRecoveryCode groups a canonical code for reading: "7KQ2-M9XD-4TRB-HC3W".
func formatRecoveryCode(code string) string {
	var parts []string
	for i := 0; i < len(code); i += recoveryGroup {
		parts = append(parts, code[i:i+recoveryGroup])
	}
	return strings.Join(parts, "-")
}

// recoveryHash is HMAC-SHA256 under a key derived from the code key, over the user ID and the
// canonical code.
func (a *Authenticator) recoveryHash(userID, code string) []byte {
	k := hmac.New(sha256.New, a.hmacKey)
	k.Write([]byte("otpidp recovery codes v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(userID))
	m.Write([]byte{':'})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// GenerateRecoveryCodes replaces the user's recovery codes with RecoveryCodeCount new ones and
// returns them, formatted for reading. They are never available again.
func (a *Authenticator) GenerateRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	return a.generateRecoveryCodes(ctx, userID, "")
}

// GenerateRecoveryCodesBy is GenerateRecoveryCodes for someone other than the user (an
// operator): actor is the audit event's detail.
func (a *Authenticator) GenerateRecoveryCodesBy(ctx context.Context, userID, actor string) ([]string, error) {
	return a.generateRecoveryCodes(ctx, userID, actor)
}

func (a *Authenticator) generateRecoveryCodes(ctx context.Context, userID, actor string) ([]string, error) {
	if userID == "" {
		return nil, errors.New("auth: recovery codes: no user")
	}
	codes := make([]string, 0, RecoveryCodeCount)
	hashes := make([][]byte, 0, RecoveryCodeCount)
	seen := map[string]bool{}
	for len(codes) < RecoveryCodeCount {
		raw, err := a.randomBytes(recoveryChars * 5 / 8)
		if err != nil {
			return nil, err
		}
		code := base32Crockford(raw)
		if seen[code] {
			continue
		}
		seen[code] = true
		codes = append(codes, formatRecoveryCode(code))
		hashes = append(hashes, a.recoveryHash(userID, code))
	}
	if err := a.store.ReplaceRecoveryCodes(ctx, userID, hashes, a.clock()); err != nil {
		return nil, fmt.Errorf("auth: store recovery codes: %w", err)
	}
	a.log.InfoContext(ctx, "recovery codes issued", "user_id", userID, "count", len(codes))
	a.audit(ctx, EventRecoveryIssued, userID, "", "", actor)
	return codes, nil
}

// base32Crockford encodes 10 bytes as 16 characters.
func base32Crockford(b []byte) string {
	var sb strings.Builder
	var acc uint64
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			sb.WriteByte(recoveryAlphabet[(acc>>bits)&31])
		}
	}
	return sb.String()
}

// RecoveryCodesLeft returns how many unused recovery codes the user has.
func (a *Authenticator) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	n, err := a.store.CountRecoveryCodes(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("auth: count recovery codes: %w", err)
	}
	return n, nil
}

// spendRecoveryCode spends one of the user's recovery codes; false when input is none of them
// (malformed, wrong, or used).
func (a *Authenticator) spendRecoveryCode(ctx context.Context, userID, input string) (bool, error) {
	code, ok := NormalizeRecoveryCode(input)
	if !ok || userID == "" {
		return false, nil
	}
	err := a.store.ConsumeRecoveryCode(ctx, userID, a.recoveryHash(userID, code), a.clock())
	if errors.Is(err, storage.ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: consume recovery code: %w", err)
	}
	return true, nil
}

// VerifyLoginRecovery finishes a login flow (the password is verified) with a recovery code
// instead of the SMS code: the code is spent and the flow ends, and an SMS factor disabled by
// wrong codes is restored. A wrong code counts as a wrong try against the flow, like a wrong
// SMS code, and against the account's recovery codes (recoverylimits.go). Errors as
// VerifyLogin, and a *LimitError (ScopeRecovery) while the account's recovery codes are locked.
func (a *Authenticator) VerifyLoginRecovery(ctx context.Context, flowID string, browserHash []byte, recoveryCode string) (Result, error) {
	f, err := a.loadFlow(ctx, flowID, browserHash, storage.FlowLogin)
	if err != nil {
		return Result{}, err
	}
	switch {
	case !f.CodeUsedAt.IsZero():
		return Result{}, ErrFlowNotFound
	case f.CodeAttempts >= a.cfg.MaxCodeAttempts:
		return Result{}, ErrTooManyAttempts
	}
	ok, err := a.checkRecoveryCode(ctx, f, recoveryCode, "login")
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, a.wrongTry(ctx, f)
	}
	// The flow is over: its SMS code must not sign in a second time.
	if err := a.store.DeleteFlow(ctx, f.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Result{}, fmt.Errorf("auth: end flow: %w", err)
	}
	if err := a.restoreAfterRecovery(ctx, f.UserID); err != nil {
		a.log.ErrorContext(ctx, "restore SMS factor", "error", err)
	}
	left, err := a.RecoveryCodesLeft(ctx, f.UserID)
	if err != nil {
		left = -1
	}
	a.log.InfoContext(ctx, "login verified with a recovery code", "user_id", f.UserID, "flow_id", f.ID, "recovery_codes_left", left)
	return Result{UserID: f.UserID, AuthTime: a.clock(), AMR: amrPasswordOTP(), AuthRequestID: f.AuthRequestID}, nil
}

// wrongTry counts a wrong recovery code against the flow and returns ErrInvalidCode, or
// ErrTooManyAttempts when that was the last try.
func (a *Authenticator) wrongTry(ctx context.Context, f storage.Flow) error {
	n, err := a.store.RecordWrongCode(ctx, f.ID, f.CodeHash, a.cfg.MaxCodeAttempts)
	switch {
	case errors.Is(err, storage.ErrConflict):
		return a.codeState(ctx, f.ID)
	case errors.Is(err, storage.ErrNotFound):
		return ErrFlowNotFound
	case err != nil:
		return fmt.Errorf("auth: record wrong code: %w", err)
	}
	a.log.InfoContext(ctx, "wrong recovery code", "flow_id", f.ID, "attempts", n)
	if n >= a.cfg.MaxCodeAttempts {
		return ErrTooManyAttempts
	}
	return ErrInvalidCode
}
