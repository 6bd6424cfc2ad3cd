package provider

import (
	"context"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/storage"
)

// The client_credentials grant (RFC 6749 §4.4): a confidential service client gets an access
// token for itself, with scopes from the allowlist it registered. The token has no user: its
// record's UserID is empty, and its subject (introspection's and a JWT access token's sub) is
// the client ID, as RFC 9068 §2.2 asks for grants without a resource owner. It comes with no
// refresh token and no ID token, and UserInfo refuses it.

var _ op.ClientCredentialsStorage = (*opStorage)(nil)

// clientCredentialsRequest is the token request of the grant.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
}

func (r *clientCredentialsRequest) GetSubject() string    { return r.clientID }
func (r *clientCredentialsRequest) GetAudience() []string { return []string{r.clientID} }
func (r *clientCredentialsRequest) GetScopes() []string   { return r.scopes }

// tokenSubject is the subject an access token carries: its user, or for a token without one
// (client_credentials), its client.
func tokenSubject(t storage.AccessToken) string {
	if t.UserID == "" {
		return t.ClientID
	}
	return t.UserID
}

// ClientCredentials authenticates a confidential client by its secret, or by the assertion
// clientAssertions verified for this request. Any failure is invalid_client.
func (s *opStorage) ClientCredentials(ctx context.Context, clientID, clientSecret string) (op.Client, error) {
	if clientID == "" {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication is required")
	}
	if err := s.AuthorizeClientIDSecret(ctx, clientID, clientSecret); err != nil {
		return nil, err
	}
	c, err := s.GetClientByClientID(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("invalid client credentials").WithParent(err)
	}
	return c, nil
}

// ClientCredentialsTokenRequest grants the requested scopes if every one is in the client's
// allowlist (invalid_scope otherwise); without a scope parameter, the whole allowlist
// (RFC 6749 §3.3: a pre-defined default).
func (s *opStorage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	p, err := s.profile(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if len(scopes) == 0 {
		scopes = p.Scopes
	}
	granted := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		if !slices.Contains(p.Scopes, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not allowed for this client", sc)
		}
		if !slices.Contains(granted, sc) {
			granted = append(granted, sc)
		}
	}
	if len(granted) == 0 {
		return nil, oidc.ErrInvalidScope().WithDescription("the client may be granted no scope")
	}
	return &clientCredentialsRequest{clientID: clientID, scopes: granted}, nil
}
