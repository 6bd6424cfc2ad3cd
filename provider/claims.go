package provider

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The claims request parameter (OpenID Connect Core §5.5). Userinfo always answers every claim
// the granted scopes allow, so its userinfo member changes nothing; its id_token member puts
// the named claims that the granted scopes allow in the ID token of the code exchange as well.
// A claim the scopes do not allow is not released (the user consented to scopes), which §5.5.1
// permits even for essential claims. Two members have a meaning of their own: acr requested as
// essential with value(s) that exclude otpidp's (every sign-in is multi-factor) fails the
// request with access_denied (§5.5.1.1); sub with a value acts as an id_token_hint (§3.1.2.1).
// A client registered with --id-token-claims gets every granted claim in every ID token.

// maxClaimsParameter bounds the parameter's size.
const maxClaimsParameter = 4 << 10

// idTokenClaimNames are the claims the id_token member may bring into an ID token; every other
// claim of the ID token is always there, or never.
var idTokenClaimNames = []string{"name", "updated_at", "phone_number", "phone_number_verified"}

type claimRequest struct {
	Essential bool              `json:"essential"`
	Value     json.RawMessage   `json:"value"`
	Values    []json.RawMessage `json:"values"`
}

// claimsParameter is a parsed claims request parameter.
type claimsParameter struct {
	idToken []string // of idTokenClaimNames, in that order
	sub     string   // a sub value asked for; empty: none
}

// parseClaimsParameter parses and checks raw (empty: no parameter). The error is the
// authorization error to answer.
func parseClaimsParameter(raw string) (claimsParameter, *oidc.Error) {
	var out claimsParameter
	if raw == "" {
		return out, nil
	}
	invalid := oidc.ErrInvalidRequest().WithDescription("the claims parameter must be a JSON object of userinfo and id_token members (OpenID Connect Core §5.5)")
	if len(raw) > maxClaimsParameter {
		return out, invalid
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &members); err != nil || members == nil {
		return out, invalid
	}
	for _, member := range []string{"userinfo", "id_token"} {
		m, ok := members[member]
		if !ok || string(m) == "null" {
			continue
		}
		var claims map[string]*claimRequest
		if err := json.Unmarshal(m, &claims); err != nil {
			return out, invalid
		}
		for name, c := range claims {
			if member == "id_token" && slices.Contains(idTokenClaimNames, name) && !slices.Contains(out.idToken, name) {
				out.idToken = append(out.idToken, name)
			}
			if c == nil {
				continue
			}
			values := c.Values
			if len(c.Value) > 0 {
				values = append(values, c.Value)
			}
			switch name {
			case "acr":
				if c.Essential && len(values) > 0 && !slices.ContainsFunc(values, func(v json.RawMessage) bool {
					var s string
					return json.Unmarshal(v, &s) == nil && s == ACRMultiFactor
				}) {
					return out, &oidc.Error{ErrorType: oidc.AccessDenied, Description: "the essential acr asked for cannot be met: every sign-in here is " + ACRMultiFactor}
				}
			case "sub":
				var s string
				if len(c.Value) > 0 {
					if json.Unmarshal(c.Value, &s) != nil || s == "" || out.sub != "" && out.sub != s {
						return out, invalid
					}
					out.sub = s
				}
			}
		}
	}
	slices.SortFunc(out.idToken, func(a, b string) int {
		return slices.Index(idTokenClaimNames, a) - slices.Index(idTokenClaimNames, b)
	})
	return out, nil
}

// SetUserinfoFromRequest fills what an ID token carries of the user: the subject, and the
// claims its request's claims parameter asked for in the ID token that the granted scopes
// allow. (A client registered for ID token claims gets them all through the library:
// opClient.IDTokenUserinfoClaimsAssertion.)
func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	if err := s.setUserinfo(ctx, info, r.GetSubject(), scopes); err != nil {
		return err
	}
	ar, ok := r.(authRequest)
	if !ok || len(ar.a.IDTokenClaims) == 0 {
		return nil
	}
	granted := new(oidc.UserInfo)
	if err := s.setUserinfo(ctx, granted, r.GetSubject(), r.GetScopes()); err != nil {
		return err
	}
	profile, phone := slices.Contains(r.GetScopes(), oidc.ScopeProfile), slices.Contains(r.GetScopes(), oidc.ScopePhone)
	for _, c := range ar.a.IDTokenClaims {
		switch {
		case c == "name" && profile:
			info.Name = granted.Name
		case c == "updated_at" && profile:
			info.UpdatedAt = granted.UpdatedAt
		case c == "phone_number" && phone:
			info.PhoneNumber = granted.PhoneNumber
		case c == "phone_number_verified" && phone:
			info.PhoneNumberVerified = granted.PhoneNumberVerified
		}
	}
	return nil
}
