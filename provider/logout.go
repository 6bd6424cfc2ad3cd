package provider

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// LogoutRequest is a validated RP-initiated logout request.
type LogoutRequest struct {
	Subject     string // the id_token_hint's sub; empty without a hint
	ClientID    string
	ClientName  string
	RedirectURI string // registered post_logout_redirect_uri with state; empty: none
}

// ValidateLogout checks an end_session request (OpenID Connect RP-Initiated Logout 1.0 §2–3):
// the id_token_hint must be one of otpidp's ID tokens (an expired one is accepted), a
// client_id must match its azp, and a post_logout_redirect_uri must be registered for the
// client, which must be known from the hint or client_id. The request must run inside
// IssuerInterceptor.
func (p *Provider) ValidateLogout(r *http.Request) (LogoutRequest, error) {
	ctx := r.Context()
	req, err := op.ParseEndSessionRequest(r, p.op.Decoder())
	if err != nil {
		return LogoutRequest{}, err
	}
	var out LogoutRequest
	clientID := req.ClientID
	if req.IdTokenHint != "" {
		claims, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](ctx, req.IdTokenHint, p.op.IDTokenHintVerifier(ctx))
		if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
			return LogoutRequest{}, errors.New("id_token_hint is not a valid ID token of this provider")
		}
		azp := claims.GetAuthorizedParty()
		if azp == "" && len(claims.GetAudience()) == 1 {
			azp = claims.GetAudience()[0]
		}
		if clientID != "" && clientID != azp {
			return LogoutRequest{}, errors.New("client_id does not match the id_token_hint")
		}
		clientID, out.Subject = azp, claims.GetSubject()
	}
	if clientID != "" {
		c, err := p.storage.client(ctx, clientID)
		if err != nil {
			return LogoutRequest{}, errors.New("unknown client")
		}
		out.ClientID, out.ClientName = c.ID, c.Name
	}
	if req.PostLogoutRedirectURI != "" {
		if out.ClientID == "" {
			return LogoutRequest{}, errors.New("post_logout_redirect_uri without id_token_hint or client_id")
		}
		client, err := p.op.Storage().GetClientByClientID(ctx, out.ClientID)
		if err != nil {
			return LogoutRequest{}, err
		}
		if err := op.ValidateEndSessionPostLogoutRedirectURI(req.PostLogoutRedirectURI, client); err != nil {
			return LogoutRequest{}, errors.New("post_logout_redirect_uri is not registered for the client")
		}
		u, err := url.Parse(req.PostLogoutRedirectURI)
		if err != nil {
			return LogoutRequest{}, err
		}
		if req.State != "" {
			q := u.Query()
			q.Set("state", req.State)
			u.RawQuery = q.Encode()
		}
		out.RedirectURI = u.String()
	}
	return out, nil
}
