package storage

import (
	"context"
	"time"
)

// KeyRotationStorage rotates signing keys: a new generation is stored and the keys it
// supersedes get their expiry, in one transaction, so that the old keys stay published exactly
// as long as tokens they signed can still be presented.
type KeyRotationStorage interface {
	// RotateSigningKey stores next and sets ExpiresAt = retireAt on every key of next's
	// algorithm with a lower generation whose ExpiresAt is not set yet; keys of other
	// algorithms and keys that already expire are untouched. ErrAlreadyExists (and nothing
	// changed) when next's ID or (Algorithm, Generation) is taken: another instance rotated
	// first.
	RotateSigningKey(ctx context.Context, next SigningKey, retireAt time.Time) error
}
