package storage

import (
	"context"
	"time"
)

// Consent is a user's remembered "yes" to a client for a set of scopes (OpenID Connect Core
// §3.1.2.4). A later request for scopes within Scopes needs no new question.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
}

// ConsentStorage keeps consents, one per (user, client).
type ConsentStorage interface {
	// SaveConsent records c, replacing the user's earlier consent to that client.
	SaveConsent(ctx context.Context, c Consent) error
	// GetConsent returns the user's consent to the client; ErrNotFound when there is none.
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	// DeleteConsent forgets it; ErrNotFound when there is none.
	DeleteConsent(ctx context.Context, userID, clientID string) error
}
