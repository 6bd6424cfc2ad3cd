package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider"
)

// TestJWTAccessTokens: a client registered for JWT access tokens gets RFC 9068 at+jwt tokens,
// signed ES256 by a key published in JWKS, with iss, sub, aud, exp, iat, jti, client_id and
// scope; userinfo and introspection accept them while their record is active, and a revoked,
// tampered or ID token is refused.
func TestJWTAccessTokens(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			id, secret, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{
				Name: "API app", RedirectURIs: []string{rpRedirect}, FirstParty: true, AccessTokenFormat: provider.AccessTokenJWT,
			}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			p, err := oidc.NewProvider(t.Context(), ts.issuer)
			if err != nil {
				t.Fatal(err)
			}
			rp := &relyingParty{id: id, secret: secret, provider: p, verifier: p.Verifier(&oidc.Config{ClientID: id}),
				oauth: oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect,
					Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess}}}
			a := rp.start()
			tok, idt, err := rp.exchange(t, codeFrom(t, register(t, ts, newBrowser(t), a), a), a)
			if err != nil {
				t.Fatal(err)
			}
			// go-oidc checks the ID token's at_hash against the token the client received.
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Fatalf("at_hash does not match the JWT access token: %v", err)
			}

			jws, err := jose.ParseSignedCompact(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatalf("the access token is not an ES256 JWS: %v", err)
			}
			h := jws.Signatures[0].Protected
			if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
				t.Fatalf("typ = %q, want at+jwt", typ)
			}
			keySet := oidc.NewRemoteKeySet(t.Context(), ts.issuer+"/keys")
			payload, err := keySet.VerifySignature(t.Context(), tok.AccessToken)
			if err != nil {
				t.Fatalf("the access token's key is not in JWKS: %v", err)
			}
			var c map[string]any
			if err := json.Unmarshal(payload, &c); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
				if _, ok := c[k]; !ok {
					t.Errorf("the access token lacks %q: %v", k, c)
				}
			}
			if c["iss"] != ts.issuer || c["sub"] != idt.Subject || c["client_id"] != id || c["scope"] != "openid profile offline_access" {
				t.Errorf("access token claims = %v", c)
			}

			if _, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err != nil {
				t.Fatalf("userinfo with a JWT access token: %v", err)
			}
			if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != true || got["client_id"] != id || got["sub"] != idt.Subject {
				t.Fatalf("introspection of a JWT access token = %v", got)
			}

			// The refreshed access token is a JWT too, with a new jti.
			old := *tok
			old.Expiry = time.Now().Add(-time.Hour)
			tok2, err := rp.oauth.TokenSource(t.Context(), &old).Token()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(tok2.AccessToken, ".") != 2 || tok2.AccessToken == tok.AccessToken {
				t.Fatal("the refreshed access token is not a new JWT")
			}

			// Refusals: a tampered token, an ID token, a revoked token.
			parts := strings.Split(tok2.AccessToken, ".")
			body, _ := base64.RawURLEncoding.DecodeString(parts[1])
			forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(body), `"sub":"`, `"sub":"x`, 1))) + "." + parts[2]
			for what, bad := range map[string]string{"tampered": forged, "ID token": tok2.Extra("id_token").(string)} {
				if got := rp.introspect(t, ts, bad); len(got) != 1 || got["active"] != false {
					t.Errorf("%s: introspection = %v, want exactly {active:false}", what, got)
				}
				req, _ := http.NewRequest(http.MethodGet, ts.issuer+"/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+bad)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: userinfo answered %d, want 401", what, resp.StatusCode)
				}
			}
			rp.revoke(t, ts, tok2.AccessToken, "access_token")
			if got := rp.introspect(t, ts, tok2.AccessToken); len(got) != 1 || got["active"] != false {
				t.Fatalf("a revoked JWT access token: introspection = %v", got)
			}
		})
	}
}
