package provider

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/storage"
)

// opClient adapts a storage.Client to op.Client.
type opClient struct {
	c          storage.Client
	p          storage.ClientProfile
	asserted   bool // this request authenticated the client with a verified assertion
	loginPath  string
	idTokenTTL time.Duration
}

var _ op.Client = (*opClient)(nil)

func (c *opClient) GetID() string                    { return c.c.ID }
func (c *opClient) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType: confidential clients are web apps; public clients are native apps when any
// redirect URI is a loopback or private-use one (RFC 8252: any port on loopback), else
// browser (single-page) apps.
func (c *opClient) ApplicationType() op.ApplicationType {
	if !c.c.Public {
		return op.ApplicationTypeWeb
	}
	for _, u := range c.c.RedirectURIs {
		if _, loopback := op.HTTPLoopbackOrLocalhost(u); loopback || !strings.HasPrefix(u, "https://") {
			return op.ApplicationTypeNative
		}
	}
	return op.ApplicationTypeUserAgent
}

// AuthMethod and AccessTokenType are the zitadel seam's (zitadel_seam.go, 3 and 4).

func (c *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *opClient) GrantTypes() []oidc.GrantType {
	gs := make([]oidc.GrantType, 0, len(c.c.GrantTypes))
	for _, g := range c.c.GrantTypes {
		gs = append(gs, oidc.GrantType(g))
	}
	return gs
}

func (c *opClient) LoginURL(authRequestID string) string {
	return c.loginPath + "?authRequestID=" + url.QueryEscape(authRequestID)
}

func (c *opClient) IDTokenLifetime() time.Duration { return c.idTokenTTL }

// DevMode is never on: redirect URIs are checked at registration instead.
func (c *opClient) DevMode() bool { return false }

func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed allows only the standard scopes otpidp knows (ValidateAuthReqScopes drops
// the rest).
func (c *opClient) IsScopeAllowed(scope string) bool {
	return slices.Contains(supportedScopes, scope)
}

// IDTokenUserinfoClaimsAssertion: a client registered for ID token claims gets every claim
// the granted scopes allow in its ID tokens (the library then keeps the profile and phone
// scopes when it fills the ID token); the others only what their claims parameter asked for.
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return c.p.IDTokenClaims }
func (c *opClient) ClockSkew() time.Duration             { return 0 }

// supportedScopes are the scopes otpidp grants.
var supportedScopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopePhone, oidc.ScopeOfflineAccess}
