package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	zitadelrp "github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider"
)

// The conformance tests mirror the modules of the OpenID Foundation's Basic OP, Form Post OP
// and RP-Initiated Logout OP test plans, driven through the running server by coreos/go-oidc
// with x/oauth2 and by zitadel/oidc's rp. Each TestConformanceX names the modules it mirrors
// (a subtest's comment names its module) and starts its own server per store, so one behaviour
// runs alone: go test -run 'TestConformanceMaxAge' ./cmd/otpidp/

// signedIn returns a browser with a session of the test user (registered through rp).
func signedIn(t *testing.T, ts *testServer, rp *relyingParty) *browser {
	t.Helper()
	b := newBrowser(t)
	a := rp.start()
	if _, err := ts.store.GetUserByPhone(t.Context(), testPhone); err == nil {
		codeFrom(t, signIn(t, ts, b, a, testPassword), a)
	} else {
		codeFrom(t, register(t, ts, b, a), a)
	}
	return b
}

// redirectParams checks a redirect to the relying party and returns its query.
func redirectParams(t *testing.T, r response) url.Values {
	t.Helper()
	if r.status != http.StatusFound && r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, rpRedirect) {
		t.Fatalf("want a redirect to %s, got %d at %s (location %q):\n%.2000s", rpRedirect, r.status, r.url, r.location, r.body)
	}
	u, err := url.Parse(r.location)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// wantAuthError checks an error redirect: error, state and iss (RFC 9207).
func wantAuthError(t *testing.T, ts *testServer, r response, code, state string) {
	t.Helper()
	q := redirectParams(t, r)
	if q.Get("error") != code || q.Get("state") != state || q.Get("iss") != ts.issuer || q.Get("code") != "" {
		t.Fatalf("error redirect %q: want error=%s state=%s iss=%s and no code", r.location, code, state, ts.issuer)
	}
}

// conformance runs test once per store (subtests sqlite and, with OTPIDP_TEST_DATABASE_URL,
// postgres), each time on a fresh server with a first-party confidential relying party rp and
// a browser b signed in as the test user through it.
func conformance(t *testing.T, test func(t *testing.T, ts *testServer, rp *relyingParty, b *browser)) {
	t.Helper()
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			rp := registerRP(t, ts, false)
			test(t, ts, rp, signedIn(t, ts, rp))
		})
	}
}

// TestConformanceDiscovery mirrors oidcc-discovery-endpoint-verification: the discovery
// document's issuer, its advertised capabilities, and every advertised endpoint served at the
// issuer's origin.
func TestConformanceDiscovery(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		resp, err := http.Get(ts.issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		strs := func(k string) []string {
			var out []string
			for _, v := range d[k].([]any) {
				out = append(out, v.(string))
			}
			return out
		}
		if d["issuer"] != ts.issuer {
			t.Errorf("issuer = %v, want exactly %s", d["issuer"], ts.issuer)
		}
		for k, want := range map[string][]string{
			"response_types_supported":                         {"code"},
			"response_modes_supported":                         {"query", "fragment", "form_post"},
			"code_challenge_methods_supported":                 {"S256"},
			"scopes_supported":                                 {"openid", "profile", "phone", "offline_access"},
			"grant_types_supported":                            {"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"},
			"token_endpoint_auth_methods_supported":            {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
			"introspection_endpoint_auth_methods_supported":    {"client_secret_basic", "client_secret_post", "private_key_jwt"},
			"token_endpoint_auth_signing_alg_values_supported": {"RS256", "PS256", "ES256", "EdDSA"},
			"subject_types_supported":                          {"public"},
		} {
			if got := strs(k); !slices.Equal(got, want) {
				t.Errorf("%s = %v, want %v", k, got, want)
			}
		}
		if !slices.Contains(strs("id_token_signing_alg_values_supported"), "RS256") {
			t.Error("RS256 must be supported for ID tokens")
		}
		for _, c := range []string{"sub", "auth_time", "amr", "acr", "name", "phone_number", "phone_number_verified"} {
			if !slices.Contains(strs("claims_supported"), c) {
				t.Errorf("claims_supported lacks %s", c)
			}
		}
		if d["authorization_response_iss_parameter_supported"] != true || d["request_uri_parameter_supported"] != false || d["request_parameter_supported"] != false {
			t.Errorf("iss/request flags: %v %v %v", d["authorization_response_iss_parameter_supported"], d["request_uri_parameter_supported"], d["request_parameter_supported"])
		}
		// Every advertised endpoint is served at the issuer's origin.
		for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint", "revocation_endpoint", "introspection_endpoint", "device_authorization_endpoint"} {
			ep, _ := d[k].(string)
			if !strings.HasPrefix(ep, ts.issuer+"/") {
				t.Errorf("%s = %q", k, ep)
				continue
			}
			r, err := http.Get(ep)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode == http.StatusNotFound {
				t.Errorf("%s %s answers 404", k, ep)
			}
		}
	})
}

// TestConformanceCodeFlow mirrors oidcc-server, oidcc-ensure-post-request-succeeds and
// oidcc-unknown-parameters: the authorization code flow with PKCE, driven by zitadel's rp and by
// go-oidc, with iss in the code response (RFC 9207).
func TestConformanceCodeFlow(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		// oidcc-server (zitadel rp)
		t.Run("zitadel-rp", func(t *testing.T) {
			zrp, err := newZitadelRP(t, ts, rp)
			if err != nil {
				t.Fatal(err)
			}
			verifier := oauth2.GenerateVerifier()
			u := zitadelrp.AuthURL("zstate", zrp, zitadelrp.WithCodeChallenge(oauth2.S256ChallengeFromVerifier(verifier)))
			q := redirectParams(t, b.get(u))
			if q.Get("state") != "zstate" || q.Get("iss") != ts.issuer {
				t.Fatalf("code response %v: want state and iss", q)
			}
			tokens, err := zitadelrp.CodeExchange[*zoidc.IDTokenClaims](t.Context(), q.Get("code"), zrp, zitadelrp.WithCodeVerifier(verifier))
			if err != nil {
				t.Fatalf("zitadel rp code exchange: %v", err)
			}
			c := tokens.IDTokenClaims
			if c.Subject == "" || c.AuthTime == 0 || !slices.Equal(c.AuthenticationMethodsReferences, []string{"pwd", "sms", "mfa"}) || c.AccessTokenHash == "" || c.AuthenticationContextClassReference == "" {
				t.Fatalf("ID token claims: sub %q auth_time %v amr %v at_hash %q acr %q", c.Subject, c.AuthTime, c.AuthenticationMethodsReferences, c.AccessTokenHash, c.AuthenticationContextClassReference)
			}
			info, err := zitadelrp.Userinfo[*zoidc.UserInfo](t.Context(), tokens.AccessToken, "Bearer", c.Subject, zrp)
			if err != nil || info.Subject != c.Subject || info.PhoneNumber != testPhone {
				t.Fatalf("zitadel rp userinfo: %v %+v", err, info)
			}
		})

		// rfc9207-iss-in-code-response
		t.Run("iss-in-response", func(t *testing.T) {
			a := rp.start()
			q := redirectParams(t, b.get(a.url))
			if q.Get("iss") != ts.issuer || q.Get("state") != a.state || q.Get("code") == "" {
				t.Fatalf("code response %v", q)
			}
		})

		// oidcc-ensure-post-request-succeeds
		t.Run("post-request", func(t *testing.T) {
			a := rp.start()
			u, _ := url.Parse(a.url)
			req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/authorize", strings.NewReader(u.RawQuery))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if _, _, err := rp.exchange(t, codeFrom(t, b.do(req), a), a); err != nil {
				t.Fatal(err)
			}
		})

		// oidcc-unknown-parameters, ui_locales, claims_locales, display, acr_values
		t.Run("unknown-parameters", func(t *testing.T) {
			a := rp.start(oauth2.SetAuthURLParam("extra", "foobar"), oauth2.SetAuthURLParam("ui_locales", "se fr-CA en"),
				oauth2.SetAuthURLParam("claims_locales", "se"), oauth2.SetAuthURLParam("display", "page"),
				oauth2.SetAuthURLParam("acr_values", "1 2"))
			if _, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestConformanceRedirectURI mirrors oidcc-ensure-registered-redirect-uri and RFC 8252's
// loopback redirect: only registered redirect URIs, on any port for native apps only.
func TestConformanceRedirectURI(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		// oidcc-ensure-registered-redirect-uri
		t.Run("registered-only", func(t *testing.T) {
			cfg := rp.oauth
			cfg.RedirectURL = "https://attacker.example/cb"
			r := b.get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if r.location != "" || r.status != http.StatusBadRequest {
				t.Fatalf("unregistered redirect_uri: %d %q", r.status, r.location)
			}
			// An unknown client is never redirected to either.
			cfg = rp.oauth
			cfg.ClientID = "nobody"
			if r := b.get(cfg.AuthCodeURL("s")); r.location != "" || r.status != http.StatusBadRequest {
				t.Fatalf("unknown client: %d %q", r.status, r.location)
			}
		})

		// RFC 8252 loopback redirect on any port, native apps only
		t.Run("loopback-any-port", func(t *testing.T) {
			id, _, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{
				Name: "CLI", RedirectURIs: []string{"http://127.0.0.1/callback"}, Public: true, FirstParty: true,
			}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			cfg := oauth2.Config{ClientID: id, Endpoint: rp.oauth.Endpoint, Scopes: []string{"openid"}}
			v := oauth2.GenerateVerifier()
			cfg.RedirectURL = rpRedirect // http://127.0.0.1:1/callback: another port
			if q := redirectParams(t, b.get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))); q.Get("code") == "" {
				t.Fatalf("loopback on another port: %v", q)
			}
			for _, other := range []string{"http://localhost:1/callback", "http://[::1]:1/callback", "http://127.0.0.1:1/callback/x"} {
				cfg.RedirectURL = other
				if r := b.get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v))); r.location != "" || r.status != http.StatusBadRequest {
					t.Fatalf("%s: %d %q", other, r.status, r.location)
				}
			}
			// A confidential web client's loopback URI gets no port freedom.
			cfg = rp.oauth
			cfg.RedirectURL = "http://127.0.0.1:2/callback"
			if r := b.get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v))); r.location != "" || r.status != http.StatusBadRequest {
				t.Fatalf("web client on another port: %d %q", r.status, r.location)
			}
		})
	})
}

// TestConformanceAuthorizeErrors mirrors oidcc-response-type-missing, oidcc-request-uri-unsigned
// and oidcc-unsupported-response-mode: refused requests come back to the client as error
// redirects.
func TestConformanceAuthorizeErrors(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		// oidcc-response-type-missing
		t.Run("response-type", func(t *testing.T) {
			a := rp.start(oauth2.SetAuthURLParam("response_type", "token"))
			wantAuthError(t, ts, b.get(a.url), "unsupported_response_type", a.state)
			a = rp.start(oauth2.SetAuthURLParam("response_type", ""))
			r := b.get(a.url)
			if q := redirectParams(t, r); q.Get("error") == "" || q.Get("iss") != ts.issuer {
				t.Fatalf("missing response_type: %q", r.location)
			}
		})

		// oidcc-request-uri-unsigned (refused)
		t.Run("request-object", func(t *testing.T) {
			a := rp.start(oauth2.SetAuthURLParam("request_uri", "https://attacker.example/req"))
			wantAuthError(t, ts, b.get(a.url), "request_uri_not_supported", a.state)
			a = rp.start(oauth2.SetAuthURLParam("request", "eyJhbGciOiJub25lIn0.e30."))
			wantAuthError(t, ts, b.get(a.url), "request_not_supported", a.state)
		})

		// oidcc-unsupported-response-mode (JARM's jwt; fragment is supported: rp_fixes_test.go)
		t.Run("response-mode-jwt", func(t *testing.T) {
			a := rp.start(oauth2.SetAuthURLParam("response_mode", "jwt"))
			wantAuthError(t, ts, b.get(a.url), "invalid_request", a.state)
		})
	})
}

// TestConformancePromptNone mirrors oidcc-prompt-none-not-logged-in and
// oidcc-prompt-none-logged-in.
func TestConformancePromptNone(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		// oidcc-prompt-none-not-logged-in
		t.Run("not-logged-in", func(t *testing.T) {
			a := rp.start(oauth2.SetAuthURLParam("prompt", "none"))
			wantAuthError(t, ts, newBrowser(t).get(a.url), "login_required", a.state)
		})

		// oidcc-prompt-none-logged-in
		t.Run("logged-in", func(t *testing.T) {
			sent := ts.sms.count()
			a := rp.start(oauth2.SetAuthURLParam("prompt", "none"))
			if _, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a); err != nil {
				t.Fatal(err)
			}
			if ts.sms.count() != sent {
				t.Fatal("prompt=none sent an SMS")
			}
		})
	})
}

// TestConformancePromptLogin mirrors oidcc-prompt-login: a session does not skip the login page.
func TestConformancePromptLogin(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start(oauth2.SetAuthURLParam("prompt", "login"))
		r := b.get(a.url)
		if r.status != http.StatusOK || r.url.Path != "/login" {
			t.Fatalf("prompt=login with a session: %d %s %q, want the login page", r.status, r.url, r.location)
		}
	})
}

// TestConformanceMaxAge mirrors oidcc-max-age-1 and oidcc-max-age-10000.
func TestConformanceMaxAge(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		// oidcc-max-age-1
		t.Run("max-age-1", func(t *testing.T) {
			b := signedIn(t, ts, rp)
			ts.clock.advance(2 * time.Second)
			a := rp.start(oauth2.SetAuthURLParam("max_age", "1"))
			r := b.get(a.url)
			if r.status != http.StatusOK || r.url.Path != "/login" {
				t.Fatalf("max_age=1 on a 2 s old session: %d %s, want the login page", r.status, r.url)
			}
			code := codeFrom(t, b.submit(b.submit(r, "/login", map[string]string{"phone": testPhone, "password": testPassword}), "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)}), a)
			_, idt, err := rp.exchange(t, code, a)
			if err != nil {
				t.Fatal(err)
			}
			var c idClaims
			_ = idt.Claims(&c)
			if c.AuthTime == 0 || ts.clock.now().Unix()-c.AuthTime > 1 {
				t.Fatalf("auth_time = %d, want the new sign-in (now %d)", c.AuthTime, ts.clock.now().Unix())
			}
		})

		// oidcc-max-age-10000
		t.Run("max-age-10000", func(t *testing.T) {
			a := rp.start(oauth2.SetAuthURLParam("max_age", "10000"))
			_, idt, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
			if err != nil {
				t.Fatal(err)
			}
			var c idClaims
			_ = idt.Claims(&c)
			if c.AuthTime == 0 {
				t.Fatal("no auth_time with max_age")
			}
		})
	})
}

// TestConformanceIDTokenHint mirrors oidcc-id-token-hint: a valid hint with prompt=none signs
// on, a forged one is refused.
func TestConformanceIDTokenHint(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start()
		tok, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
		if err != nil {
			t.Fatal(err)
		}
		a = rp.start(oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", tok.Extra("id_token").(string)))
		if _, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a); err != nil {
			t.Fatal(err)
		}
		// A forged hint is refused, back at the client.
		forged := tok.Extra("id_token").(string)
		forged = forged[:len(forged)-4] + "AAAA"
		a = rp.start(oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", forged))
		wantAuthError(t, ts, b.get(a.url), "login_required", a.state)
	})
}

// TestConformanceLoginHint mirrors oidcc-login-hint: the hint pre-fills the phone number.
func TestConformanceLoginHint(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start(oauth2.SetAuthURLParam("login_hint", testPhone))
		r := newBrowser(t).get(a.url)
		if !strings.Contains(html.UnescapeString(r.body), `value="`+testPhone+`"`) {
			t.Fatalf("login_hint does not pre-fill the phone number:\n%s", r.body)
		}
	})
}

// TestConformanceFormPost mirrors the Form Post OP plan: a code and an error, each as a
// form_post page.
func TestConformanceFormPost(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start(oauth2.SetAuthURLParam("response_mode", "form_post"))
		r := b.get(a.url)
		f := formPost(t, r)
		if f.Get("state") != a.state || f.Get("iss") != ts.issuer || f.Get("code") == "" {
			t.Fatalf("form_post fields %v", f)
		}
		if _, _, err := rp.exchange(t, f.Get("code"), a); err != nil {
			t.Fatal(err)
		}
		a = rp.start(oauth2.SetAuthURLParam("response_mode", "form_post"), oauth2.SetAuthURLParam("prompt", "none"))
		f = formPost(t, newBrowser(t).get(a.url))
		if f.Get("error") != "login_required" || f.Get("state") != a.state || f.Get("iss") != ts.issuer {
			t.Fatalf("form_post error fields %v", f)
		}
	})
}

// TestConformanceCodeRedemption mirrors oidcc-codereuse and oidcc-codereuse-30seconds, and
// checks that a code expires after 60 seconds and is bound to its client and redirect_uri.
func TestConformanceCodeRedemption(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		// oidcc-codereuse
		t.Run("reuse", func(t *testing.T) {
			a := rp.start()
			code := codeFrom(t, b.get(a.url), a)
			tok, _, err := rp.exchange(t, code, a)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := rp.exchange(t, code, a); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("second redemption: %v", err)
			}
			if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != false {
				t.Fatalf("tokens of a reused code stay active: %v", got)
			}
		})

		// oidcc-codereuse-30seconds
		t.Run("reuse-30s", func(t *testing.T) {
			a := rp.start()
			code := codeFrom(t, b.get(a.url), a)
			tok, _, err := rp.exchange(t, code, a)
			if err != nil {
				t.Fatal(err)
			}
			ts.clock.advance(30 * time.Second)
			if _, _, err := rp.exchange(t, code, a); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("redemption 30 s later: %v", err)
			}
			if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != false {
				t.Fatalf("tokens of a reused code stay active: %v", got)
			}
		})

		// code expires after 60 seconds
		t.Run("expiry-60s", func(t *testing.T) {
			a := rp.start()
			code := codeFrom(t, b.get(a.url), a)
			ts.clock.advance(61 * time.Second)
			if _, _, err := rp.exchange(t, code, a); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("a 61 s old code: %v", err)
			}
		})

		// oidcc-codereuse by another client / redirect_uri mismatch
		t.Run("other-client-or-redirect-uri", func(t *testing.T) {
			other := registerRP(t, ts, false)
			a := rp.start()
			code := codeFrom(t, b.get(a.url), a)
			if _, err := other.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(a.verifier)); err == nil {
				t.Fatal("another client redeemed the code")
			}
			a = rp.start()
			code = codeFrom(t, b.get(a.url), a)
			cfg := rp.oauth
			cfg.RedirectURL = rpLoggedOut
			if _, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(a.verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("code with another redirect_uri: %v", err)
			}
		})
	})
}

// TestConformancePKCE checks that a code_verifier without a code_challenge is refused.
func TestConformancePKCE(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start()
		cfg := rp.oauth
		// One attempt with client_secret_basic: left to auto-detect, x/oauth2 would retry a
		// refused exchange with the secret in the body, and the retry meets an already burnt code.
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		u := cfg.AuthCodeURL(a.state, oidc.Nonce(a.nonce))
		code := codeFrom(t, b.get(u), a)
		if _, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(a.verifier)); err == nil || !strings.Contains(err.Error(), "invalid_request") {
			t.Fatalf("verifier without challenge: %v", err)
		}
	})
}

// TestConformanceConsent checks that third-party clients ask for consent, that it is
// remembered per scope set, and that prompt=none and prompt=consent are honoured.
func TestConformanceConsent(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		third := registerThirdParty(t, ts)
		a := third.start()
		r := b.get(a.url)
		if r.status != http.StatusOK || r.url.Path != "/consent" || !strings.Contains(r.body, "Third app") {
			t.Fatalf("a third-party client must ask for consent first: %d %s", r.status, r.url)
		}
		// prompt=none without consent: consent_required.
		an := third.start(oauth2.SetAuthURLParam("prompt", "none"))
		wantAuthError(t, ts, b.get(an.url), "consent_required", an.state)
		// Deny: access_denied.
		wantAuthError(t, ts, b.submit(r, "/consent", map[string]string{"decision": "deny"}), "access_denied", a.state)
		// Allow: a code; next time no question.
		a = third.start()
		r = b.get(a.url)
		if _, _, err := third.exchange(t, codeFrom(t, b.submit(r, "/consent", map[string]string{"decision": "allow"}), a), a); err != nil {
			t.Fatal(err)
		}
		a = third.start()
		if _, _, err := third.exchange(t, codeFrom(t, b.get(a.url), a), a); err != nil {
			t.Fatal(err)
		}
		// prompt=consent asks again.
		a = third.start(oauth2.SetAuthURLParam("prompt", "consent"))
		if r := b.get(a.url); r.url.Path != "/consent" {
			t.Fatalf("prompt=consent: %d %s", r.status, r.url)
		}
		// More scopes than consented to: asked again.
		cfg := third.oauth
		cfg.Scopes = []string{"openid", "phone"}
		if err := ts.store.DeleteConsent(t.Context(), idOf(t, ts, b, rp), third.id); err != nil {
			t.Fatal(err)
		}
		a = third.start()
		r = b.get(cfg.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier)))
		codeFrom(t, b.submit(r, "/consent", map[string]string{"decision": "allow"}), a)
		a = third.start()
		if r := b.get(a.url); r.url.Path != "/consent" {
			t.Fatalf("more scopes than consented: %d %s", r.status, r.url)
		}
	})
}

// TestConformanceIntrospection checks the RFC 7662 introspection endpoint: client
// authentication, the members of an active answer, and {"active":false} for everything else.
func TestConformanceIntrospection(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start()
		tok, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
		if err != nil {
			t.Fatal(err)
		}
		post := func(form url.Values, basic bool) (int, http.Header, string) {
			req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/oauth/introspect", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if basic {
				req.SetBasicAuth(rp.id, rp.secret)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, strings.TrimSpace(string(body))
		}
		// Unauthenticated or wrongly authenticated: 401 invalid_client, JSON.
		for name, form := range map[string]url.Values{
			"none":         {"token": {tok.AccessToken}},
			"wrong secret": {"token": {tok.AccessToken}, "client_id": {rp.id}, "client_secret": {"nope"}},
			"public-style": {"token": {tok.AccessToken}, "client_id": {rp.id}},
		} {
			status, h, body := post(form, false)
			if status != http.StatusUnauthorized || !strings.Contains(body, `"error":"invalid_client"`) || h.Get("WWW-Authenticate") == "" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("%s: %d %q %q", name, status, h.Get("WWW-Authenticate"), body)
			}
		}
		// client_secret_post works as well as basic; active answers carry the members.
		status, h, body := post(url.Values{"token": {tok.AccessToken}, "client_id": {rp.id}, "client_secret": {rp.secret}}, false)
		var m map[string]any
		_ = json.Unmarshal([]byte(body), &m)
		if status != http.StatusOK || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("client_secret_post: %d %q", status, h.Get("Cache-Control"))
		}
		for _, k := range []string{"active", "sub", "client_id", "scope", "aud", "iss", "exp", "iat", "token_type"} {
			if _, ok := m[k]; !ok {
				t.Errorf("active introspection lacks %s: %s", k, body)
			}
		}
		// Everything else is exactly {"active":false}.
		for name, token := range map[string]string{
			"unknown": "not-a-token", "malformed": "a.b.c", "empty": "", "ID token": tok.Extra("id_token").(string),
			"refresh token": tok.RefreshToken, "tampered": tok.AccessToken[:len(tok.AccessToken)-2] + "xx",
		} {
			if status, _, body := post(url.Values{"token": {token}}, true); status != http.StatusOK || body != `{"active":false}` {
				t.Errorf("%s: %d %s", name, status, body)
			}
		}
		ts.clock.advance(16 * time.Minute)
		defer ts.clock.advance(-16 * time.Minute)
		if _, _, body := post(url.Values{"token": {tok.AccessToken}}, true); body != `{"active":false}` {
			t.Errorf("expired: %s", body)
		}
	})
}

// TestConformanceUserinfo mirrors oidcc-userinfo-get, -post-header and -post-body, and the
// refusals of missing, wrong and revoked tokens.
func TestConformanceUserinfo(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start()
		tok, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
		if err != nil {
			t.Fatal(err)
		}
		call := func(method, auth, body string) (int, http.Header, map[string]any) {
			req, _ := http.NewRequest(method, ts.issuer+"/userinfo", strings.NewReader(body))
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			return resp.StatusCode, resp.Header, m
		}
		for name, c := range map[string][3]string{
			"get":         {http.MethodGet, "Bearer " + tok.AccessToken, ""},
			"post-header": {http.MethodPost, "Bearer " + tok.AccessToken, ""},
			"post-body":   {http.MethodPost, "", url.Values{"access_token": {tok.AccessToken}}.Encode()},
		} {
			status, h, m := call(c[0], c[1], c[2])
			if status != http.StatusOK || m["phone_number"] != testPhone || h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: %d %v", name, status, m)
			}
		}
		for name, c := range map[string][3]string{
			"no token":  {http.MethodGet, "", ""},
			"bad token": {http.MethodGet, "Bearer nope", ""},
			"ID token":  {http.MethodGet, "Bearer " + tok.Extra("id_token").(string), ""},
			"basic":     {http.MethodGet, "Basic " + tok.AccessToken, ""},
		} {
			status, h, _ := call(c[0], c[1], c[2])
			if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: %d %q", name, status, h.Get("WWW-Authenticate"))
			}
		}
		rp.revoke(t, ts, tok.AccessToken, "access_token")
		if status, h, _ := call(http.MethodGet, "Bearer "+tok.AccessToken, ""); status != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("revoked token: %d %q", status, h.Get("WWW-Authenticate"))
		}
	})
}

// TestConformanceRefreshToken mirrors oidcc-refresh-token: revoking a refresh token ends its
// family, another client cannot use it, and only offline_access gets one.
func TestConformanceRefreshToken(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		// oidcc-refresh-token (revocation ends the family; another client is refused)
		t.Run("family", func(t *testing.T) {
			a := rp.start()
			tok, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
			if err != nil {
				t.Fatal(err)
			}
			other := registerRP(t, ts, false)
			stale := *tok
			stale.Expiry = time.Now().Add(-time.Hour)
			if _, err := other.oauth.TokenSource(t.Context(), &stale).Token(); err == nil {
				t.Fatal("another client used the refresh token")
			}
			tok2, err := rp.oauth.TokenSource(t.Context(), &stale).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			rp.revoke(t, ts, tok2.RefreshToken, "refresh_token")
			if got := rp.introspect(t, ts, tok2.AccessToken); got["active"] != false {
				t.Fatalf("revoking the refresh token must end the family's access tokens: %v", got)
			}
		})

		// refresh tokens only with offline_access
		t.Run("offline-access-only", func(t *testing.T) {
			cfg := rp.oauth
			cfg.Scopes = []string{"openid", "profile"}
			a := rp.start()
			tok, err := cfg.Exchange(t.Context(), codeFrom(t, b.get(cfg.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier))), a), oauth2.VerifierOption(a.verifier))
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken != "" {
				t.Fatal("a refresh token without offline_access")
			}
		})
	})
}

// TestConformanceLogout mirrors the RP-Initiated Logout OP plan (oidcc-rp-initiated-logout
// and its bad-post-logout-redirect-uri, bad-id-token-hint, no-id-token-hint and no-params
// variants).
func TestConformanceLogout(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start()
		tok, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
		if err != nil {
			t.Fatal(err)
		}
		hint := tok.Extra("id_token").(string)
		// An unregistered post_logout_redirect_uri: error page, no redirect, still signed in.
		q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://attacker.example/"}, "state": {"s"}}
		if r := b.get(ts.issuer + "/end_session?" + q.Encode()); r.location != "" || r.status != http.StatusBadRequest {
			t.Fatalf("oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: %d %q", r.status, r.location)
		}
		// A forged hint: error page.
		q = url.Values{"id_token_hint": {hint[:len(hint)-4] + "AAAA"}, "post_logout_redirect_uri": {rpLoggedOut}}
		if r := b.get(ts.issuer + "/end_session?" + q.Encode()); r.location != "" || r.status != http.StatusBadRequest {
			t.Fatalf("oidcc-rp-initiated-logout-bad-id-token-hint: %d %q", r.status, r.location)
		}
		// client_id that does not match the hint: error page.
		q = url.Values{"id_token_hint": {hint}, "client_id": {"someone-else"}}
		if r := b.get(ts.issuer + "/end_session?" + q.Encode()); r.status != http.StatusBadRequest {
			t.Fatalf("mismatched client_id: %d", r.status)
		}
		if r := b.get(rp.start().url); r.location == "" {
			t.Fatal("refused logouts must leave the session alone")
		}
		// Without a hint the user confirms first.
		q = url.Values{"client_id": {rp.id}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"st8"}}
		page := b.get(ts.issuer + "/end_session?" + q.Encode())
		if page.status != http.StatusOK || page.location != "" || !strings.Contains(page.body, "Sign out of") {
			t.Fatalf("oidcc-rp-initiated-logout-no-id-token-hint: %d %q", page.status, page.location)
		}
		if r := b.get(rp.start().url); r.location == "" {
			t.Fatal("showing the confirmation must not sign out")
		}
		out := b.submit(page, "/end_session", nil)
		if !strings.HasPrefix(out.location, rpLoggedOut) || !strings.Contains(out.location, "state=st8") {
			t.Fatalf("after confirming: %d %q", out.status, out.location)
		}
		if r := b.get(rp.start().url); r.url.Path != "/login" {
			t.Fatalf("after logout: %s", r.url)
		}
		// Signed out and no redirect URI: the logged-out page.
		if r := b.get(ts.issuer + "/end_session"); r.url.Path != "/logged-out" || r.status != http.StatusOK {
			t.Fatalf("oidcc-rp-initiated-logout-no-params: %d %s", r.status, r.url)
		}
	})
}

// idOf returns the subject of the browser's user, through a fresh sign-on of rp.
func idOf(t *testing.T, ts *testServer, b *browser, rp *relyingParty) string {
	t.Helper()
	a := rp.start()
	_, idt, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
	if err != nil {
		t.Fatal(err)
	}
	return idt.Subject
}

func registerThirdParty(t *testing.T, ts *testServer) *relyingParty {
	t.Helper()
	id, secret, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{
		Name: "Third app", RedirectURIs: []string{rpRedirect}, PostLogoutRedirectURIs: []string{rpLoggedOut},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := oidc.NewProvider(t.Context(), ts.issuer)
	if err != nil {
		t.Fatal(err)
	}
	return &relyingParty{
		id: id, secret: secret, provider: p, verifier: p.Verifier(&oidc.Config{ClientID: id}),
		oauth: oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", "phone", oidc.ScopeOfflineAccess}},
	}
}

func newZitadelRP(t *testing.T, ts *testServer, r *relyingParty) (zitadelrp.RelyingParty, error) {
	return zitadelrp.NewRelyingPartyOIDC(t.Context(), ts.issuer, r.id, r.secret, rpRedirect, []string{"openid", "profile", "phone"})
}

var (
	formPostActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
)

// formPost checks a form_post response page and returns its fields.
func formPost(t *testing.T, r response) url.Values {
	t.Helper()
	m := formPostActionRE.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil || html.UnescapeString(m[1]) != rpRedirect {
		t.Fatalf("want a form_post page to %s, got %d %q:\n%s", rpRedirect, r.status, r.location, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") || !strings.Contains(csp, "form-action http://127.0.0.1:1") {
		t.Fatalf("form_post CSP %q", csp)
	}
	v := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(r.body, -1) {
		v.Set(h[1], html.UnescapeString(h[2]))
	}
	return v
}
