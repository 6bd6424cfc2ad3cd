package storage

import (
	"context"
	"time"
)

// UserQuery selects users for an operator's listing: all when its fields are zero.
type UserQuery struct {
	Disabled *bool // only disabled (true) or only enabled (false) users; nil: both
	Limit    int   // 0: no limit
}

// SessionQuery selects live sessions for an operator's listing.
type SessionQuery struct {
	UserID string // only this user's; empty: everyone's
	Limit  int    // 0: no limit
}

// UserAdminStorage is what operators (the command line) and the account's own deletion need
// beyond the sign-in: disabling, listing and deleting users, and every live session.
type UserAdminStorage interface {
	// SetUserDisabled sets the user's DisabledAt (the zero time enables it again) and
	// UpdatedAt = now. Disabling also deletes, in the same transaction, the user's flows (a
	// sign-in past its password step, a reset), its authorization requests whose code is not
	// redeemed and its device authorizations, so that none can still end in a session or a
	// token. ErrNotFound when absent.
	SetUserDisabled(ctx context.Context, id string, disabledAt, now time.Time) error
	// ListUsers returns matching users ordered by CreatedAt, then ID. Deleted users are gone.
	ListUsers(ctx context.Context, q UserQuery) ([]User, error)
	// DeleteUser removes the user's personal data in one transaction: the user record (name,
	// phone, password hash), its recovery codes, sessions, consents, flows, device
	// authorizations and unredeemed authorization requests; it revokes every
	// access and refresh token of the user (the token records stay, keyed by the pseudonymous
	// ID, until they expire) and remembers the ID as deleted, so CreateUser and
	// CompleteRegistration never give it out again (ErrAlreadyExists). The phone number is free
	// to register afterwards. ErrNotFound when no such user exists (deleted already or never).
	DeleteUser(ctx context.Context, id string, now time.Time) error
	// UserDeleted reports whether id belonged to a user that was deleted.
	UserDeleted(ctx context.Context, id string) (bool, error)
	// GetSession returns the session with that ID whatever its state; ErrNotFound when absent.
	GetSession(ctx context.Context, id string) (Session, error)
	// ListSessions returns the sessions valid at now (ExpiresAt and IdleExpiresAt after now)
	// that match q, ordered by CreatedAt, then ID.
	ListSessions(ctx context.Context, q SessionQuery, now time.Time) ([]Session, error)
	// UpdateClient runs update on the client and its profile (a client without one gets
	// ClientProfile{ClientID: id}) and stores what it returns, in one transaction: both or
	// neither. The ID and CreatedAt never change. ErrNotFound when absent; an error of update
	// is returned as it is and nothing changes.
	UpdateClient(ctx context.Context, id string, update func(Client, ClientProfile) (Client, ClientProfile, error)) error
}
