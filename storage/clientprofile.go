package storage

import (
	"context"
	"time"
)

// ClientProfile is what a client registered beyond the basics of Client: how it authenticates,
// its public keys, the scopes a service client may be granted and the algorithm of its ID
// tokens. Clients registered before profiles existed have none (ErrNotFound), which means the
// defaults: a secret (or none, for public clients), no client_credentials scopes, RS256.
type ClientProfile struct {
	ClientID   string
	AuthMethod string   // "private_key_jwt", or empty: by Client.Public (none, or a secret)
	Scopes     []string // client_credentials: the scopes the client may be granted
	JWKS       []byte   // private_key_jwt: the client's public keys, a JWK Set (JSON); or
	JWKSURI    string   // where to fetch them (https)
	IDTokenAlg string   // id_token_signed_response_alg; empty means RS256
	// IDTokenClaims puts every profile and phone claim the granted scopes allow in the
	// client's ID tokens too, not only in userinfo (apps that read only the ID token).
	IDTokenClaims bool
}

// ClientProfileStorage keeps client profiles and the IDs of client assertions already used.
type ClientProfileStorage interface {
	// CreateClientWithProfile stores c and p (p.ClientID is c.ID) in one transaction: both or
	// neither. ErrAlreadyExists when the client ID is taken. Deleting the client deletes p.
	CreateClientWithProfile(ctx context.Context, c Client, p ClientProfile) error
	// GetClientProfile returns the client's profile; ErrNotFound when it has none.
	GetClientProfile(ctx context.Context, clientID string) (ClientProfile, error)
	// UseAssertionID records the jti of a client's assertion (RFC 7523 §3: single use), until
	// expiresAt. ErrAlreadyUsed when the same client used the same jti before and that record
	// has not expired at now: exactly one of any number of concurrent calls succeeds.
	UseAssertionID(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error
	// DeleteExpiredAssertionIDs forgets the assertion IDs that expired at or before now.
	DeleteExpiredAssertionIDs(ctx context.Context, now time.Time) error
}
