package provider

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/storage"
)

// authRequest adapts a storage.AuthRequest to op.AuthRequest.
type authRequest struct{ a storage.AuthRequest }

var _ op.AuthRequest = authRequest{}

func (r authRequest) GetID() string { return r.a.ID }

// GetACR is the OpenID PAPE multi-factor policy after a password and an SMS code (amr says
// which); empty otherwise.
func (r authRequest) GetACR() string {
	if slices.Contains(r.a.AMR, "mfa") {
		return ACRMultiFactor
	}
	return ""
}

// ACRMultiFactor is the acr of a sign-in with more than one factor.
const ACRMultiFactor = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"

func (r authRequest) GetAMR() []string                   { return r.a.AMR }
func (r authRequest) GetAudience() []string              { return []string{r.a.ClientID} }
func (r authRequest) GetAuthTime() time.Time             { return r.a.AuthTime }
func (r authRequest) GetClientID() string                { return r.a.ClientID }
func (r authRequest) GetNonce() string                   { return r.a.Nonce }
func (r authRequest) GetRedirectURI() string             { return r.a.RedirectURI }
func (r authRequest) GetScopes() []string                { return r.a.Scopes }
func (r authRequest) GetState() string                   { return r.a.State }
func (r authRequest) GetSubject() string                 { return r.a.UserID }
func (r authRequest) Done() bool                         { return r.a.Done() }
func (r authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(r.a.ResponseType) }

func (r authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(r.a.ResponseMode)
}

func (r authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if r.a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{
		Challenge: r.a.CodeChallenge,
		Method:    oidc.CodeChallengeMethod(r.a.CodeChallengeMethod),
	}
}

// refreshRequest adapts a storage.RefreshToken to op.RefreshTokenRequest.
type refreshRequest struct {
	t      storage.RefreshToken
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return r.t.AMR }
func (r *refreshRequest) GetAudience() []string       { return r.t.Audience }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.t.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.t.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.t.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }
