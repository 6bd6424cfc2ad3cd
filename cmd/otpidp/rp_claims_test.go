package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider"
)

// idTokenClaims exchanges the code of a and returns the verified ID token's claims, and the
// token response.
func idTokenClaims(t *testing.T, rp *relyingParty, code string, a authorization) (map[string]any, *oauth2.Token) {
	t.Helper()
	tok, idt, err := rp.exchange(t, code, a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := idt.Claims(&m); err != nil {
		t.Fatal(err)
	}
	return m, tok
}

// TestRPClaimsParameter (OpenID Connect Core §5.5): the id_token member puts the named claims
// that the granted scopes allow in the ID token; a malformed parameter, or an essential acr
// otpidp cannot meet, comes back to the client as an error.
func TestRPClaimsParameter(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start()
		m, _ := idTokenClaims(t, rp, codeFrom(t, b.get(a.url), a), a)
		for _, c := range []string{"name", "phone_number", "phone_number_verified"} {
			if _, ok := m[c]; ok {
				t.Errorf("without a claims parameter the ID token has %s", c)
			}
		}

		claims := `{"id_token":{"name":null,"phone_number":{"essential":true},"email":null},"userinfo":{"name":{"essential":true}}}`
		a = rp.start(oauth2.SetAuthURLParam("claims", claims))
		m, tok := idTokenClaims(t, rp, codeFrom(t, b.get(a.url), a), a)
		if m["name"] != testName || m["phone_number"] != testPhone {
			t.Errorf("ID token with claims %s: name %v, phone_number %v", claims, m["name"], m["phone_number"])
		}
		if _, ok := m["phone_number_verified"]; ok {
			t.Error("phone_number_verified was not asked for")
		}
		if info, err := rp.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err != nil {
			t.Fatal(err)
		} else {
			var u map[string]any
			_ = info.Claims(&u)
			if u["name"] != testName || u["phone_number"] != testPhone {
				t.Errorf("userinfo: %v", u)
			}
		}

		// A claim the scopes do not grant is not released, even when asked for.
		cfg := rp.oauth
		cfg.Scopes = []string{"openid"}
		a = rp.start()
		u := cfg.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier), oauth2.SetAuthURLParam("claims", `{"id_token":{"name":{"essential":true}}}`))
		tok2, err := cfg.Exchange(t.Context(), codeFrom(t, b.get(u), a), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := rp.verifier.Verify(t.Context(), tok2.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		m = nil
		_ = idt.Claims(&m)
		if _, ok := m["name"]; ok {
			t.Error("name released without the profile scope")
		}

		// acr: essential values otpidp meets, and ones it cannot.
		a = rp.start(oauth2.SetAuthURLParam("claims", `{"id_token":{"acr":{"essential":true,"values":["`+provider.ACRMultiFactor+`"]}}}`))
		if m, _ := idTokenClaims(t, rp, codeFrom(t, b.get(a.url), a), a); m["acr"] != provider.ACRMultiFactor {
			t.Errorf("acr = %v", m["acr"])
		}
		a = rp.start(oauth2.SetAuthURLParam("claims", `{"id_token":{"acr":{"essential":true,"values":["urn:example:loa:4"]}}}`))
		wantAuthError(t, ts, b.get(a.url), "access_denied", a.state)

		for _, bad := range []string{`not json`, `[]`, `{"id_token":[]}`, `{"id_token":{"name":3}}`, `{"id_token":{"sub":{"value":7}}}`} {
			a = rp.start(oauth2.SetAuthURLParam("claims", bad))
			wantAuthError(t, ts, b.get(a.url), "invalid_request", a.state)
		}

		// sub with a value acts as id_token_hint: another user's sub under prompt=none.
		a = rp.start(oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("claims", `{"id_token":{"sub":{"value":"someone-else"}}}`))
		wantAuthError(t, ts, b.get(a.url), "login_required", a.state)

		resp, err := http.Get(ts.issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if d["claims_parameter_supported"] != true {
			t.Error("discovery must advertise claims_parameter_supported")
		}
	})
}

// TestRPIDTokenClaimsOption: a client registered with --id-token-claims gets the granted
// profile and phone claims in every ID token, at the code exchange and at refresh, so that an
// app reading only the ID token (oauth2-proxy with --oidc-email-claim=sub or phone_number)
// finds them; the claim it maps is a plain string.
func TestRPIDTokenClaimsOption(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, _ *relyingParty, b *browser) {
		id, secret, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{
			Name: "proxy", RedirectURIs: []string{rpRedirect}, FirstParty: true, IDTokenClaims: true,
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
				Scopes: []string{oidc.ScopeOpenID, "profile", "phone", oidc.ScopeOfflineAccess}}}
		a := rp.start()
		m, tok := idTokenClaims(t, rp, codeFrom(t, b.get(a.url), a), a)
		check := func(when string, m map[string]any) {
			t.Helper()
			if m["name"] != testName || m["phone_number"] != testPhone || m["phone_number_verified"] != true {
				t.Errorf("%s: ID token name %v, phone_number %v, phone_number_verified %v", when, m["name"], m["phone_number"], m["phone_number_verified"])
			}
			// oauth2-proxy's claim mapping reads a string claim by name.
			for _, claim := range []string{"sub", "phone_number"} {
				if s, ok := m[claim].(string); !ok || s == "" {
					t.Errorf("%s: %s is %v, not a string an RP can use as its email claim", when, claim, m[claim])
				}
			}
		}
		check("code exchange", m)
		status, r := tokenPost(t, ts, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, id, secret)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, r)
		}
		idt, err := rp.verifier.Verify(t.Context(), r["id_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		m = nil
		_ = idt.Claims(&m)
		check("refresh", m)

		// Only what the scopes grant.
		cfg := rp.oauth
		cfg.Scopes = []string{"openid", "profile"}
		a = rp.start()
		u := cfg.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier))
		tok2, err := cfg.Exchange(t.Context(), codeFrom(t, b.get(u), a), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		idt, err = rp.verifier.Verify(t.Context(), tok2.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		m = nil
		_ = idt.Claims(&m)
		if m["name"] != testName || m["phone_number"] != nil {
			t.Errorf("profile only: name %v, phone_number %v", m["name"], m["phone_number"])
		}
	})
}

// TestClientAddIDTokenClaims: client add --id-token-claims registers the option (and list
// shows it); a client_credentials client refuses it.
func TestClientAddIDTokenClaims(t *testing.T) {
	c := newCLI(t)
	var out clientJSON
	if err := json.Unmarshal([]byte(c.ok("", "client", "add", "--name", "Proxy", "--redirect-uri", "https://proxy.example.com/oauth2/callback", "--id-token-claims", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	if !out.IDTokenClaims {
		t.Error("client add --json: id_token_claims not shown")
	}
	p, err := c.store().GetClientProfile(t.Context(), out.ClientID)
	if err != nil || !p.IDTokenClaims {
		t.Fatalf("stored profile: %+v %v", p, err)
	}
	if l := c.listJSON(); len(l) != 1 || !l[0].IDTokenClaims {
		t.Errorf("client list --json: %+v", l)
	}
	r := c.run("", "client", "add", "--name", "Svc", "--grant", "client_credentials", "--scope", "a", "--id-token-claims")
	if r.err == nil {
		t.Fatal("a client_credentials client registered with --id-token-claims")
	}
}
