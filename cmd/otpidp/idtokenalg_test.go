package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	zclient "github.com/zitadel/oidc/v3/pkg/client"
	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider"
)

// algRP registers a first-party confidential client whose ID tokens are signed alg (empty: the
// default), with JWT access tokens, and returns it with a go-oidc verifier that accepts only
// want.
func algRP(t *testing.T, ts *testServer, alg, want string) *relyingParty {
	t.Helper()
	id, secret, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{
		Name: "Alg app " + alg, RedirectURIs: []string{rpRedirect}, FirstParty: true,
		AccessTokenFormat: provider.AccessTokenJWT, IDTokenAlg: alg,
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := oidc.NewProvider(t.Context(), ts.issuer)
	if err != nil {
		t.Fatal(err)
	}
	return &relyingParty{
		id: id, secret: secret, provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: id, SupportedSigningAlgs: []string{want}}),
		oauth: oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess}},
	}
}

// jwsAlg returns the alg of a compact JWS's header.
func jwsAlg(t *testing.T, token string) string {
	t.Helper()
	h, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	var header struct{ Alg, Kid string }
	if err := json.Unmarshal(b, &header); err != nil {
		t.Fatal(err)
	}
	return header.Alg
}

// TestIDTokenSigningAlg: each client's ID tokens are signed with the algorithm it registered
// (id_token_signed_response_alg), verified by go-oidc restricted to that algorithm, through the
// code flow and a refresh; JWT access tokens are ES256 at+jwt; an RS256 client still gets RS256; and
// discovery lists every algorithm.
func TestIDTokenSigningAlg(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			var user *browser
			for _, tc := range []struct{ alg, want string }{{"ES256", "ES256"}, {"EdDSA", "EdDSA"}, {"", "RS256"}, {"RS256", "RS256"}} {
				t.Run(tc.want+"/"+tc.alg, func(t *testing.T) {
					rp := algRP(t, ts, tc.alg, tc.want)
					if user == nil {
						user = signedIn(t, ts, rp)
					}
					a := rp.start()
					tok, idt, err := rp.exchange(t, codeFrom(t, user.get(a.url), a), a)
					if err != nil {
						t.Fatalf("exchange: %v", err)
					}
					if got := jwsAlg(t, tok.Extra("id_token").(string)); got != tc.want {
						t.Fatalf("ID token alg = %s, want %s", got, tc.want)
					}
					// JWT access tokens are ES256 at+jwt whatever the client's ID token
					// algorithm (jwtaccess_test.go checks them in full).
					if got := jwsAlg(t, tok.AccessToken); got != "ES256" {
						t.Fatalf("JWT access token alg = %s, want ES256", got)
					}
					// A verifier that accepts only another algorithm refuses the token.
					other := "RS256"
					if tc.want == "RS256" {
						other = "ES256"
					}
					if _, err := rp.provider.Verifier(&oidc.Config{ClientID: rp.id, SupportedSigningAlgs: []string{other}}).Verify(t.Context(), tok.Extra("id_token").(string)); err == nil {
						t.Fatalf("a verifier for %s accepted a %s ID token", other, tc.want)
					}
					// The refreshed ID token has the same algorithm and subject.
					next, err := rp.oauth.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
					if err != nil {
						t.Fatalf("refresh: %v", err)
					}
					again, err := rp.verifier.Verify(t.Context(), next.Extra("id_token").(string))
					if err != nil || again.Subject != idt.Subject {
						t.Fatalf("refreshed ID token: %v (sub %v, want %s)", err, again, idt.Subject)
					}
					// The ID token works as id_token_hint at logout, whatever its algorithm.
					end := user.get(ts.issuer + "/end_session?id_token_hint=" + tok.Extra("id_token").(string))
					if end.status >= 400 {
						t.Fatalf("end_session with a %s id_token_hint: %d\n%.500s", tc.want, end.status, end.body)
					}
					user = nil // logged out (or asked to confirm): the next client signs in again
				})
			}
			d, err := zclient.Discover(t.Context(), ts.issuer, newBrowser(t).client)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(d.IDTokenSigningAlgValuesSupported, " "); got != "RS256 ES256 EdDSA" {
				t.Fatalf("id_token_signing_alg_values_supported = %s", got)
			}
		})
	}
}

// TestClientAddIDTokenAlg: client add --id-token-alg registers the algorithm and publishes a key
// of it before the client's first token; a device-grant client needs no redirect URI.
func TestClientAddIDTokenAlg(t *testing.T) {
	c := newCLI(t)
	out := c.ok("", "client", "add", "--name", "TV", "--public", "--id-token-alg", "EdDSA", "--json",
		"--grant", "urn:ietf:params:oauth:grant-type:device_code,refresh_token")
	var got clientJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.IDTokenAlg != "EdDSA" {
		t.Fatalf("client add --json: %v\n%s", err, out)
	}
	s := c.store()
	p, err := s.GetClientProfile(t.Context(), got.ClientID)
	if err != nil || p.IDTokenAlg != "EdDSA" {
		t.Fatalf("profile: %+v %v", p, err)
	}
	keys, err := s.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range keys {
		found = found || k.Algorithm == "EdDSA"
	}
	if !found {
		t.Fatal("no EdDSA signing key after registering an EdDSA client")
	}
	var web clientJSON
	if err := json.Unmarshal([]byte(c.ok("", "client", "add", "--name", "Web", "--redirect-uri", "https://w.example.com/cb", "--json")), &web); err != nil || web.IDTokenAlg != "RS256" {
		t.Fatalf("default id_token_signed_response_alg = %q (%v), want RS256", web.IDTokenAlg, err)
	}
}
