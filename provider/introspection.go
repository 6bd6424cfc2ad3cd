package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/provider/oautherr"
)

// Introspection (RFC 7662) and UserInfo (OpenID Connect Core §5.3) are otpidp's own, on the
// library's token decoding: the library answers an unauthenticated introspection with plain
// text, takes client_secret_post nowhere there, and answers a bad userinfo token without
// WWW-Authenticate.

// handleIntrospect serves POST /oauth/introspect.
func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oautherr.Write(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("the introspection endpoint takes POST only"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oautherr.Write(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("cannot parse the form"))
		return
	}
	clientID, err := p.authenticateClient(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+p.issuer+`"`)
		oautherr.Write(w, http.StatusUnauthorized, oidc.ErrInvalidClient().WithDescription("client authentication failed"))
		return
	}
	resp := &oidc.IntrospectionResponse{}
	if tokenID, subject, ok := p.decodeAccessToken(r.Context(), r.PostForm.Get("token")); ok {
		if err := p.storage.SetIntrospectionFromToken(r.Context(), resp, tokenID, subject, clientID); err == nil {
			resp.Active = true
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if !resp.Active {
		// Expired, revoked, unknown, malformed, an ID token, a refresh token: all alike.
		_, _ = w.Write([]byte(`{"active":false}`))
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}

// authenticateClient checks client_secret_basic or client_secret_post; public clients cannot
// authenticate.
func (p *Provider) authenticateClient(r *http.Request) (string, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if r.PostForm.Get("client_secret") != "" {
			return "", errors.New("more than one client authentication method")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return "", errors.New("malformed basic credentials")
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" || secret == "" {
		return "", errors.New("no client credentials")
	}
	if err := p.storage.AuthorizeClientIDSecret(r.Context(), id, secret); err != nil {
		return "", err
	}
	return id, nil
}

// decodeAccessToken returns the token ID and subject an access token carries: opaque tokens are
// AES-GCM encrypted "id:subject"; JWT access tokens are verified against the published keys.
func (p *Provider) decodeAccessToken(ctx context.Context, token string) (string, string, bool) {
	if token == "" || len(token) > 8<<10 {
		return "", "", false
	}
	if plain, err := p.tokenCrypto(ctx).Decrypt(token); err == nil {
		id, subject, ok := strings.Cut(plain, ":")
		return id, subject, ok && id != "" && !strings.Contains(subject, ":")
	}
	claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, token, p.op.AccessTokenVerifier(ctx))
	if err != nil || claims.JWTID == "" {
		return "", "", false
	}
	return claims.JWTID, claims.Subject, true
}

// handleUserinfo serves GET and POST /userinfo, with the access token in the Authorization
// header or (POST) in the form body (RFC 6750 §2.1–2.2).
func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		oautherr.Write(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("the userinfo endpoint takes GET or POST only"))
		return
	}
	token, found := bearerToken(w, r)
	if !found {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+p.issuer+`"`)
		oautherr.Write(w, http.StatusUnauthorized, &oidc.Error{ErrorType: "invalid_token", Description: "no access token"})
		return
	}
	info := new(oidc.UserInfo)
	tokenID, subject, ok := p.decodeAccessToken(r.Context(), token)
	if ok {
		ok = p.storage.SetUserinfoFromToken(r.Context(), info, tokenID, subject, r.Header.Get("Origin")) == nil
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+p.issuer+`", error="invalid_token", error_description="the access token is invalid, expired or revoked"`)
		oautherr.Write(w, http.StatusUnauthorized, &oidc.Error{ErrorType: "invalid_token", Description: "the access token is invalid, expired or revoked"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(info)
}

// bearerToken finds the access token: the Authorization header, or the access_token field of
// a form-encoded POST body.
func bearerToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", false
		}
		return strings.TrimSpace(token), true
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err == nil {
			if t := r.PostForm.Get("access_token"); t != "" {
				return t, true
			}
		}
	}
	return "", false
}
