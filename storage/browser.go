package storage

import "context"

// BrowserStorage moves what one browser has started over to a new value of its binding cookie.
// The pages give the browser a new value after the password step and again after the code
// (SES-02), so that a value copied or planted earlier is worth nothing afterwards.
type BrowserStorage interface {
	// RebindBrowser re-binds every flow and authorization request whose BrowserHash is oldHash
	// to newHash, in one transaction. When flowID is not empty, that flow must be one of them:
	// when it is not bound to oldHash (another request re-bound it first) the error is
	// ErrConflict and nothing changes; when it does not exist, ErrNotFound. An empty oldHash or
	// newHash, or equal ones, is refused with an error.
	RebindBrowser(ctx context.Context, oldHash, newHash []byte, flowID string) error
}
