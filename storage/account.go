package storage

import (
	"context"
	"time"
)

// FlowReset is a password reset in progress: the phone number typed, the SMS code sent to it
// (when it has an account) and, once the codes are verified, the step that sets the new
// password.
const FlowReset FlowKind = "reset"

// Grant summarizes what one relying party holds for a user: its live (unrevoked, unexpired)
// access and refresh tokens.
type Grant struct {
	ClientID  string
	FirstAt   time.Time // the oldest live token's CreatedAt
	LastAt    time.Time // the newest live token's CreatedAt
	LiveCount int       // live access and refresh tokens
}

// AccountStorage keeps what the account pages manage besides the user record: recovery codes
// (look-up secrets, stored only as keyed hashes) and the apps that hold tokens.
type AccountStorage interface {
	// ReplaceRecoveryCodes removes every recovery code of the user and stores hashes as new,
	// unused ones, in one transaction. ErrAlreadyExists when hashes holds a duplicate (and
	// nothing changes).
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error
	// ConsumeRecoveryCode spends the user's unused recovery code whose hash is hash, exactly
	// once: ErrConflict when no unused code of that user has that hash.
	ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error
	// CountRecoveryCodes returns how many unused recovery codes the user has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// ListUserGrants returns one Grant per client that holds a live access token (revoked_at
	// unset, ExpiresAt after now) or a live refresh token (unused, unrevoked, ExpiresAt and
	// IdleExpiresAt after now) of the user, ordered by client ID.
	ListUserGrants(ctx context.Context, userID string, now time.Time) ([]Grant, error)
}
