package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	zclient "github.com/zitadel/oidc/v3/pkg/client"
	zitadelrp "github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/otpidp/otpidp/provider"
)

// postForm posts form to path, with Basic credentials when id is set, and returns the status,
// the WWW-Authenticate header and the decoded JSON body.
func postForm(t *testing.T, ts *testServer, path string, form url.Values, id, secret string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %d, not JSON: %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), m
}

// TestClientCredentials: a confidential service client gets a token for itself, with scopes
// from its allowlist only, no refresh and no ID token; introspection shows sub = client_id.
func TestClientCredentials(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			ctx := t.Context()
			id, secret, err := provider.RegisterClient(ctx, ts.store, provider.ClientSpec{
				Name: "Billing service", GrantTypes: []string{provider.GrantClientCredentials},
				Scopes: []string{"orders:read", "orders:write"},
			}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			web := registerRP(t, ts, false) // a code-flow client: not allowed this grant
			cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: ts.issuer + "/oauth/token", Scopes: []string{"orders:read"}}

			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken != "" || tok.Extra("id_token") != nil {
				t.Errorf("client_credentials answered a refresh token %q or an ID token %v", tok.RefreshToken, tok.Extra("id_token"))
			}
			if got := tok.Extra("scope"); got != "orders:read" {
				t.Errorf("scope = %v, want orders:read", got)
			}
			in := web.introspect(t, ts, tok.AccessToken)
			if in["active"] != true || in["client_id"] != id || in["sub"] != id || in["scope"] != "orders:read" {
				t.Errorf("introspection = %v, want active, client_id = sub = %s, scope orders:read", in, id)
			}
			// A token without a user is refused at UserInfo.
			req, _ := http.NewRequest(http.MethodGet, ts.issuer+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("userinfo with a client_credentials token: %v %v, want 401", resp.StatusCode, err)
			}

			// No scope parameter: the whole allowlist.
			all := cc
			all.Scopes = nil
			if tok, err := all.Token(ctx); err != nil || tok.Extra("scope") != "orders:read orders:write" {
				t.Errorf("without scope: %v %v, want the allowlist", tok.Extra("scope"), err)
			}

			wantOAuthErr := func(what string, cfg clientcredentials.Config, code string) {
				t.Helper()
				_, err := cfg.Token(ctx)
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) || re.ErrorCode != code {
					t.Errorf("%s: %v, want %s", what, err, code)
				}
			}
			bad := cc
			bad.Scopes = []string{"orders:read", "admin"}
			wantOAuthErr("a scope outside the allowlist", bad, "invalid_scope")
			bad = cc
			bad.Scopes = []string{"openid"}
			wantOAuthErr("a user scope", bad, "invalid_scope")
			bad = cc
			bad.ClientSecret = "wrong"
			wantOAuthErr("a wrong secret", bad, "invalid_client")
			bad = cc
			bad.ClientID = "unknown"
			wantOAuthErr("an unknown client", bad, "invalid_client")
			bad = cc
			bad.ClientID, bad.ClientSecret = web.id, web.secret
			wantOAuthErr("a client not registered for the grant", bad, "unauthorized_client")

			// A wrong Basic secret is challenged (RFC 6749 §5.2).
			status, challenge, body := postForm(t, ts, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, id, "wrong")
			if status != http.StatusUnauthorized || body["error"] != "invalid_client" || !strings.HasPrefix(challenge, "Basic ") {
				t.Errorf("wrong Basic secret: %d %q %v", status, challenge, body)
			}
		})
	}
}

// TestClientRegistrationRules: what a service or private_key_jwt client may not register.
func TestClientRegistrationRules(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubSet, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}})
	privSet, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: "k1"}}})
	for _, c := range []struct {
		name string
		spec provider.ClientSpec
		want string
	}{
		{"public service", provider.ClientSpec{Name: "s", Public: true, GrantTypes: []string{"client_credentials"}, Scopes: []string{"a"}}, "confidential clients only"},
		{"service without scopes", provider.ClientSpec{Name: "s", GrantTypes: []string{"client_credentials"}}, "needs the scopes"},
		{"scopes without the grant", provider.ClientSpec{Name: "s", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"a"}}, "only for the client_credentials grant"},
		{"user scope", provider.ClientSpec{Name: "s", GrantTypes: []string{"client_credentials"}, Scopes: []string{"openid"}}, "about a user"},
		{"bad scope token", provider.ClientSpec{Name: "s", GrantTypes: []string{"client_credentials"}, Scopes: []string{`a"b`}}, "not a valid scope token"},
		{"private key in JWKS", provider.ClientSpec{Name: "s", GrantTypes: []string{"client_credentials"}, Scopes: []string{"a"}, JWKS: privSet}, "not a valid public key"},
		{"JWKS and URI", provider.ClientSpec{Name: "s", GrantTypes: []string{"client_credentials"}, Scopes: []string{"a"}, JWKS: pubSet, JWKSURI: "https://s.example/jwks"}, "not both"},
		{"http JWKS URI", provider.ClientSpec{Name: "s", GrantTypes: []string{"client_credentials"}, Scopes: []string{"a"}, JWKSURI: "http://s.example/jwks"}, "absolute https URL"},
		{"public with keys", provider.ClientSpec{Name: "s", Public: true, RedirectURIs: []string{"https://a.example/cb"}, JWKS: pubSet}, "cannot authenticate with keys"},
	} {
		err := c.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	ok := provider.ClientSpec{Name: "s", GrantTypes: []string{"client_credentials"}, Scopes: []string{"a"}, JWKS: pubSet}
	if err := ok.Validate(); err != nil {
		t.Errorf("a valid private_key_jwt service: %v", err)
	}
}

// assertion signs a client assertion with key.
func assertion(t *testing.T, key any, kid string, c jwt.Claims) string {
	t.Helper()
	alg := jose.ES256
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPrivateKeyJWT: client authentication by a signed assertion (RFC 7523) on the token,
// introspection and revocation endpoints, with keys inline or at a jwks_uri; every flaw is 401
// invalid_client.
func TestPrivateKeyJWT(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			ctx := t.Context()
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig", Algorithm: "ES256"}}})
			inline, secret, err := provider.RegisterClient(ctx, ts.store, provider.ClientSpec{
				Name: "Keyed service", GrantTypes: []string{provider.GrantClientCredentials}, Scopes: []string{"reports"}, JWKS: set,
			}, time.Now())
			if err != nil || secret != "" {
				t.Fatalf("register: %v, secret %q (want none)", err, secret)
			}
			jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(set)
			}))
			t.Cleanup(jwks.Close)
			byURI, _, err := provider.RegisterClient(ctx, ts.store, provider.ClientSpec{
				Name: "Keyed by URI", GrantTypes: []string{provider.GrantClientCredentials}, Scopes: []string{"reports"}, JWKSURI: jwks.URL,
			}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			web := registerRP(t, ts, false)

			now := ts.clock.now()
			claims := func(id string, edit ...func(*jwt.Claims)) jwt.Claims {
				c := jwt.Claims{Issuer: id, Subject: id, Audience: jwt.Audience{ts.issuer}, Expiry: jwt.NewNumericDate(now.Add(time.Minute)),
					IssuedAt: jwt.NewNumericDate(now), ID: rand.Text()}
				for _, e := range edit {
					e(&c)
				}
				return c
			}
			grant := func(a string) url.Values {
				return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {zoidc.ClientAssertionTypeJWTAssertion}, "client_assertion": {a}}
			}

			// zitadel's relying party, with the client's key (aud = the issuer, exp 1 h).
			for _, id := range []string{inline, byURI} {
				zrp, err := zitadelrp.NewRelyingPartyOIDC(ctx, ts.issuer, id, "", "", []string{"reports"},
					zitadelrp.WithJWTProfile(zitadelrp.SignerFromKeyAndKeyID(pemPKCS8(t, key), "k1")))
				if err != nil {
					t.Fatal(err)
				}
				assertionStr, err := zclient.SignedJWTProfileAssertion(id, []string{ts.issuer}, time.Hour, zrp.Signer())
				if err != nil {
					t.Fatal(err)
				}
				status, _, body := postForm(t, ts, "/oauth/token", grant(assertionStr), "", "")
				if status != http.StatusOK || body["access_token"] == nil {
					t.Fatalf("client %s with zitadel's assertion: %d %v", id, status, body)
				}
				// The same assertion again: its jti is spent.
				if status, _, body := postForm(t, ts, "/oauth/token", grant(assertionStr), "", ""); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
					t.Errorf("replayed assertion: %d %v", status, body)
				}
				// Introspection and revocation accept the assertion too.
				at := body["access_token"].(string)
				form := url.Values{"token": {at}, "client_assertion_type": {zoidc.ClientAssertionTypeJWTAssertion}, "client_assertion": {assertion(t, key, "k1", claims(id))}}
				if status, _, in := postForm(t, ts, "/oauth/introspect", form, "", ""); status != http.StatusOK || in["active"] != true || in["sub"] != id {
					t.Errorf("introspection by assertion: %d %v", status, in)
				}
				form.Set("client_assertion", assertion(t, key, "k1", claims(id)))
				req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/revoke", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("revocation by assertion: %v %v", resp.StatusCode, err)
				}
				if in := web.introspect(t, ts, at); in["active"] != false {
					t.Errorf("after revocation by assertion: %v", in)
				}
			}
			// aud may be the token endpoint instead of the issuer.
			if status, _, body := postForm(t, ts, "/oauth/token", grant(assertion(t, key, "k1", claims(inline, func(c *jwt.Claims) {
				c.Audience = jwt.Audience{ts.issuer + "/oauth/token"}
			}))), "", ""); status != http.StatusOK {
				t.Errorf("aud = token endpoint: %d %v", status, body)
			}

			for _, c := range []struct {
				name  string
				form  url.Values
				basic [2]string
			}{
				{"wrong key", grant(assertion(t, other, "k1", claims(inline))), [2]string{}},
				{"unknown kid", grant(assertion(t, key, "k2", claims(inline))), [2]string{}},
				{"iss differs from sub", grant(assertion(t, key, "k1", claims(inline, func(c *jwt.Claims) { c.Subject = "x" }))), [2]string{}},
				{"another client's name", grant(assertion(t, key, "k1", claims(web.id))), [2]string{}},
				{"wrong aud", grant(assertion(t, key, "k1", claims(inline, func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://elsewhere.example"} }))), [2]string{}},
				{"expired", grant(assertion(t, key, "k1", claims(inline, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute)) }))), [2]string{}},
				{"too long-lived", grant(assertion(t, key, "k1", claims(inline, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(2 * time.Hour)) }))), [2]string{}},
				{"no exp", grant(assertion(t, key, "k1", claims(inline, func(c *jwt.Claims) { c.Expiry = nil }))), [2]string{}},
				{"no jti", grant(assertion(t, key, "k1", claims(inline, func(c *jwt.Claims) { c.ID = "" }))), [2]string{}},
				{"not yet valid", grant(assertion(t, key, "k1", claims(inline, func(c *jwt.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(10 * time.Minute)) }))), [2]string{}},
				{"malformed", grant("not.a.jwt"), [2]string{}},
				{"alg none", grant(unsignedJWT(claims(inline))), [2]string{}},
				{"wrong assertion type", func() url.Values {
					v := grant(assertion(t, key, "k1", claims(inline)))
					v.Set("client_assertion_type", "urn:example")
					return v
				}(), [2]string{}},
				{"client_id differs", func() url.Values {
					v := grant(assertion(t, key, "k1", claims(inline)))
					v.Set("client_id", byURI)
					return v
				}(), [2]string{}},
				{"with Basic too", grant(assertion(t, key, "k1", claims(inline))), [2]string{web.id, web.secret}},
				{"a secret client's assertion", grant(assertion(t, key, "k1", claims(web.id))), [2]string{}},
			} {
				status, challenge, body := postForm(t, ts, "/oauth/token", c.form, c.basic[0], c.basic[1])
				if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
					t.Errorf("%s: %d %v, want 401 invalid_client", c.name, status, body)
				}
				if c.basic[0] != "" && !strings.HasPrefix(challenge, "Basic ") {
					t.Errorf("%s: no Basic challenge (%q)", c.name, challenge)
				}
			}
			// A private_key_jwt client has no secret to try; a secret client cannot use a key.
			if status, _, body := postForm(t, ts, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {inline}, "client_secret": {"guess"}}, "", ""); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
				t.Errorf("secret for a private_key_jwt client: %d %v", status, body)
			}
			// Revocation with a wrong Basic secret is challenged (RFC 6749 §5.2).
			if status, challenge, _ := postForm(t, ts, "/revoke", url.Values{"token": {"x"}}, web.id, "wrong"); status != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Basic ") {
				t.Errorf("revocation with a wrong Basic secret: %d %q", status, challenge)
			}
		})
	}
}

// unsignedJWT is an alg=none token.
func unsignedJWT(c jwt.Claims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(c)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "."
}

// pemPKCS8 encodes key as a PKCS #8 PEM block, as zitadel's key files hold it.
func pemPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// TestClientAddService: client add registers a private_key_jwt service client from a JWKS
// file, with its scope allowlist, and refuses a private key.
func TestClientAddService(t *testing.T) {
	c := newCLI(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dir := t.TempDir()
	pub, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1"}}})
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: "k1"}}})
	if err := os.WriteFile(dir+"/pub.json", pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/priv.json", priv, 0o600); err != nil {
		t.Fatal(err)
	}
	out := c.ok("", "client", "add", "--json", "--name", "Billing", "--grant", "client_credentials",
		"--scope", "orders:read orders:write", "--scope", "reports", "--jwks", dir+"/pub.json")
	var got clientJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.ClientSecret != "" || got.AuthMethod != "private_key_jwt" || strings.Join(got.Scopes, " ") != "orders:read orders:write reports" {
		t.Errorf("client add: %s", out)
	}
	r := c.run("", "client", "add", "--name", "Billing", "--grant", "client_credentials", "--scope", "a", "--jwks", dir+"/priv.json")
	if r.err == nil || !strings.Contains(r.stderr+r.err.Error(), "not a valid public key") {
		t.Errorf("a private key in --jwks: %v %s", r.err, r.stderr)
	}
}
