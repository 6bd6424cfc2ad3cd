package storage

import (
	"context"
	"time"
)

// ProfileStorage changes what a user may edit about themselves on the account page.
type ProfileStorage interface {
	// UpdateUserName sets the user's name and UpdatedAt = now; ErrNotFound when absent.
	UpdateUserName(ctx context.Context, id, name string, now time.Time) error
}
