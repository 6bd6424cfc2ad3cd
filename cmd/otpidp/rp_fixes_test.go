package main

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider"
)

// The fixes issue #11 reports, each through a real relying party (go-oidc with x/oauth2) on
// the running server, per store.

// cookieless is a browser that sends and keeps no cookies (a cross-site iframe whose
// third-party cookies are blocked).
func cookieless(t *testing.T) *browser {
	b := newBrowser(t)
	b.client.Jar = nil
	return b
}

// TestRPPromptNoneWithoutCookies: prompt=none from a browser that sends otpidp no cookies is
// answered login_required at /authorize, in the response mode asked for, with iss and state
// (OIDC Core §3.1.2.6, RFC 9207), never the sign-in page's binding error.
func TestRPPromptNoneWithoutCookies(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, signedIn *browser) {
		for _, mode := range []string{"", "query", "fragment", "form_post"} {
			t.Run("mode="+mode, func(t *testing.T) {
				opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "none")}
				if mode != "" {
					opts = append(opts, oauth2.SetAuthURLParam("response_mode", mode))
				}
				a := rp.start(opts...)
				r := cookieless(t).get(a.url)
				var got url.Values
				switch mode {
				case "form_post":
					got = formPost(t, r)
				case "fragment":
					if r.status != http.StatusFound || !strings.HasPrefix(r.location, rpRedirect+"#") {
						t.Fatalf("want a redirect to %s#…, got %d %q:\n%.500s", rpRedirect, r.status, r.location, r.body)
					}
					_, frag, _ := strings.Cut(r.location, "#")
					var err error
					if got, err = url.ParseQuery(frag); err != nil {
						t.Fatal(err)
					}
				default:
					got = redirectParams(t, r)
				}
				if got.Get("error") != "login_required" || got.Get("state") != a.state || got.Get("iss") != ts.issuer || got.Get("code") != "" {
					t.Fatalf("%s answer %v: want error=login_required, state, iss and no code", mode, got)
				}
			})
		}
		// A signed-in browser (cookies sent) still gets its code without a page.
		a := rp.start(oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("response_mode", "fragment"))
		r := signedIn.get(a.url)
		_, frag, ok := strings.Cut(r.location, "#")
		q, _ := url.ParseQuery(frag)
		if !ok || q.Get("code") == "" || q.Get("state") != a.state || q.Get("iss") != ts.issuer {
			t.Fatalf("prompt=none with a session, fragment mode: %d %q", r.status, r.location)
		}
		if _, _, err := rp.exchange(t, q.Get("code"), a); err != nil {
			t.Fatal(err)
		}
	})
}

// tokenPost posts form to the token endpoint, as id:secret with HTTP Basic when id is set.
func tokenPost(t *testing.T, ts *testServer, form url.Values, id, secret string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/oauth/token", strings.NewReader(form.Encode()))
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
		t.Fatalf("token endpoint: %d %s", resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// TestRPRefreshGracePeriod: concurrent refreshes of one client with the same refresh token
// all succeed and the user stays signed in (OTPIDP_REFRESH_GRACE, 30 s by default); another
// client presenting the token revokes nothing; after the grace period a replay revokes the
// family as before.
func TestRPRefreshGracePeriod(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start()
		tok, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
		if err != nil {
			t.Fatal(err)
		}
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
		const n = 4
		answers := make([]map[string]any, n)
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { statuses[i], answers[i] = tokenPost(t, ts, refresh, rp.id, rp.secret) })
		}
		wg.Wait()
		for i := range n {
			if statuses[i] != http.StatusOK || answers[i]["access_token"] == nil || answers[i]["refresh_token"] == nil {
				t.Fatalf("parallel refresh %d of %d: %d %v", i+1, n, statuses[i], answers[i])
			}
			if _, err := rp.verifier.Verify(t.Context(), answers[i]["id_token"].(string)); err != nil {
				t.Fatalf("parallel refresh %d: ID token: %v", i+1, err)
			}
		}
		for i := range n {
			if got := rp.introspect(t, ts, answers[i]["access_token"].(string)); got["active"] != true {
				t.Fatalf("after %d parallel refreshes, access token %d is inactive: the family was revoked", n, i+1)
			}
		}
		// Each new refresh token works (and rotates).
		latest := answers[0]["refresh_token"].(string)
		status, next := tokenPost(t, ts, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {latest}}, rp.id, rp.secret)
		if status != http.StatusOK {
			t.Fatalf("refresh with a token of the parallel batch: %d %v", status, next)
		}

		// Another client presenting the used token, within or after the grace period: refused,
		// and nothing is revoked.
		other := registerRP(t, ts, false)
		for _, wait := range []time.Duration{0, provider.DefaultRefreshGrace + time.Second} {
			ts.clock.advance(wait)
			if status, e := tokenPost(t, ts, refresh, other.id, other.secret); status != http.StatusBadRequest || e["error"] != "invalid_grant" {
				t.Fatalf("another client refreshing (after %v): %d %v", wait, status, e)
			}
			if got := rp.introspect(t, ts, next["access_token"].(string)); got["active"] != true {
				t.Fatalf("another client's replay (after %v) revoked the family", wait)
			}
		}
		// A replay without credentials revokes nothing either.
		if status, e := tokenPost(t, ts, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {rp.id}}, "", ""); status != http.StatusUnauthorized || e["error"] != "invalid_client" {
			t.Fatalf("replay without credentials: %d %v", status, e)
		}
		if got := rp.introspect(t, ts, next["access_token"].(string)); got["active"] != true {
			t.Fatal("a replay without credentials revoked the family")
		}
		// The grace period is over: the client's own replay revokes the family.
		if status, e := tokenPost(t, ts, refresh, rp.id, rp.secret); status != http.StatusBadRequest || e["error"] != "invalid_grant" {
			t.Fatalf("replay after the grace period: %d %v", status, e)
		}
		if got := rp.introspect(t, ts, next["access_token"].(string)); got["active"] != false {
			t.Fatal("a replay after the grace period must revoke the family")
		}
	})
}

// TestRPRefreshGraceOff: OTPIDP_REFRESH_GRACE=0 keeps the strict rule: a second use at once
// revokes the family.
func TestRPRefreshGraceOff(t *testing.T) {
	ts := startServer(t, stores(t)["sqlite"](t), func(c *Config) { c.RefreshGrace = -1 })
	rp := registerRP(t, ts, false)
	b := signedIn(t, ts, rp)
	a := rp.start()
	tok, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
	if err != nil {
		t.Fatal(err)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	status, first := tokenPost(t, ts, refresh, rp.id, rp.secret)
	if status != http.StatusOK {
		t.Fatalf("first refresh: %d %v", status, first)
	}
	if status, e := tokenPost(t, ts, refresh, rp.id, rp.secret); status != http.StatusBadRequest || e["error"] != "invalid_grant" {
		t.Fatalf("second use without grace: %d %v", status, e)
	}
	if got := rp.introspect(t, ts, first["access_token"].(string)); got["active"] != false {
		t.Fatal("without grace a second use must revoke the family")
	}
}

// TestRPCodeClientCheckedFirst: a code sent without the client's credentials, by another
// client, or with a wrong PKCE verifier is refused and stays usable by its client; a replay
// of a redeemed code revokes its tokens only when its own client sends it.
func TestRPCodeClientCheckedFirst(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		other := registerRP(t, ts, false)
		a := rp.start()
		code := codeFrom(t, b.get(a.url), a)
		form := func(verifier string, kv ...string) url.Values {
			v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {verifier}}
			for i := 0; i < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		for _, c := range []struct {
			name       string
			form       url.Values
			id, secret string
			status     int
			err        string
		}{
			{"wrong secret", form(a.verifier), rp.id, "wrong", http.StatusUnauthorized, "invalid_client"},
			{"no credentials", form(a.verifier, "client_id", rp.id), "", "", http.StatusUnauthorized, "invalid_client"},
			{"another client", form(a.verifier), other.id, other.secret, http.StatusBadRequest, "invalid_grant"},
			{"wrong verifier", form(oauth2.GenerateVerifier()), rp.id, rp.secret, http.StatusBadRequest, "invalid_grant"},
			{"no verifier", form(""), rp.id, rp.secret, http.StatusBadRequest, "invalid_request"},
			{"other redirect_uri", form(a.verifier, "redirect_uri", "http://127.0.0.1:1/other"), rp.id, rp.secret, http.StatusBadRequest, "invalid_grant"},
		} {
			if status, e := tokenPost(t, ts, c.form, c.id, c.secret); status != c.status || e["error"] != c.err {
				t.Errorf("%s: %d %v, want %d %s", c.name, status, e, c.status, c.err)
			}
		}
		tok, _, err := rp.exchange(t, code, a)
		if err != nil {
			t.Fatalf("the client's own exchange after the refused ones: %v", err)
		}
		// Replays: without credentials and by another client, nothing is revoked.
		if status, e := tokenPost(t, ts, form(a.verifier, "client_id", rp.id), "", ""); status != http.StatusUnauthorized {
			t.Fatalf("replay without credentials: %d %v", status, e)
		}
		if status, e := tokenPost(t, ts, form(a.verifier), other.id, other.secret); status != http.StatusBadRequest {
			t.Fatalf("replay by another client: %d %v", status, e)
		}
		if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != true {
			t.Fatal("a replay without the client's credentials revoked its tokens")
		}
		// The client's own replay is a replay: its tokens are revoked (RFC 6749 §4.1.2).
		if status, e := tokenPost(t, ts, form(a.verifier), rp.id, rp.secret); status != http.StatusBadRequest || e["error"] != "invalid_grant" {
			t.Fatalf("the client's replay: %d %v", status, e)
		}
		if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != false {
			t.Fatal("the client's own replay must revoke the code's tokens")
		}
	})
}

// TestRPRevocationOwnership: a client revokes only its own tokens. token=family:<id> (the
// provider's internal name of a refresh token family) revokes nothing for anyone, and another
// client's refresh token is refused like another client's access token (RFC 7009 §2.1).
func TestRPRevocationOwnership(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		a := rp.start()
		tok, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte(tok.RefreshToken))
		rt, err := ts.store.GetRefreshTokenByHash(t.Context(), h[:])
		if err != nil {
			t.Fatal(err)
		}
		pub, other := registerRP(t, ts, true), registerRP(t, ts, false)
		revoke := func(token, id, secret string, public bool) (int, string) {
			form := url.Values{"token": {token}}
			req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/revoke", nil)
			if public {
				form.Set("client_id", id)
			} else {
				req.SetBasicAuth(id, secret)
			}
			req.Body = io.NopCloser(strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			_ = json.NewDecoder(resp.Body).Decode(&e)
			return resp.StatusCode, e.Error
		}
		for _, c := range []struct {
			name, token, id, secret string
			public                  bool
			status                  int
		}{
			{"public client, family", "family:" + rt.FamilyID, pub.id, "", true, http.StatusOK},
			{"other client, family", "family:" + rt.FamilyID, other.id, other.secret, false, http.StatusOK},
			{"owner, family string", "family:" + rt.FamilyID, rp.id, rp.secret, false, http.StatusOK},
			{"public client, refresh token", tok.RefreshToken, pub.id, "", true, http.StatusUnauthorized},
			{"other client, refresh token", tok.RefreshToken, other.id, other.secret, false, http.StatusUnauthorized},
			{"other client, access token", tok.AccessToken, other.id, other.secret, false, http.StatusUnauthorized},
		} {
			status, e := revoke(c.token, c.id, c.secret, c.public)
			if status != c.status || (status == http.StatusUnauthorized) != (e == "invalid_client") {
				t.Errorf("%s: %d %q, want %d", c.name, status, e, c.status)
			}
			if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != true {
				t.Fatalf("%s revoked the family", c.name)
			}
		}
		rp.revoke(t, ts, tok.RefreshToken, "refresh_token")
		if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != false {
			t.Fatal("the owner's revocation of its refresh token must end the family")
		}
	})
}

// TestRPLoopbackAnyPort: a native app's loopback redirect URI registered with a port matches
// any port (RFC 8252 §7.3), with the same host and path only.
func TestRPLoopbackAnyPort(t *testing.T) {
	ts := startServer(t, stores(t)["sqlite"](t))
	id, _, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{
		Name: "cli", Public: true, RedirectURIs: []string{"http://127.0.0.1:8400/callback"},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := oidc.NewProvider(t.Context(), ts.issuer)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		redirect string
		ok       bool
	}{
		{"http://127.0.0.1:8400/callback", true},
		{"http://127.0.0.1:51234/callback", true},
		{"http://127.0.0.1/callback", true},
		{"http://127.0.0.1:51234/other", false},
		{"http://localhost:51234/callback", false},
		{"http://[::1]:51234/callback", false},
	} {
		cfg := oauth2.Config{ClientID: id, Endpoint: p.Endpoint(), RedirectURL: c.redirect, Scopes: []string{"openid"}}
		r := newBrowser(t).get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if got := r.status == http.StatusOK && r.url.Path == "/login"; got != c.ok {
			t.Errorf("%s: %d at %s, want accepted=%v", c.redirect, r.status, r.url, c.ok)
		}
	}
}

// TestRPNoIDTokenWithoutOpenID: an OAuth request without the openid scope gets an access
// token (and a refresh token) but no ID token, at the code exchange and at refresh; with
// openid it gets one.
func TestRPNoIDTokenWithoutOpenID(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		cfg := rp.oauth
		cfg.Scopes = []string{"profile", "offline_access"}
		a := rp.start()
		u := cfg.AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verifier))
		tok, err := cfg.Exchange(t.Context(), codeFrom(t, b.get(u), a), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		if tok.Extra("id_token") != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Fatalf("without openid: id_token %v, access %t, refresh %t", tok.Extra("id_token"), tok.AccessToken != "", tok.RefreshToken != "")
		}
		status, m := tokenPost(t, ts, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, rp.id, rp.secret)
		if status != http.StatusOK || m["id_token"] != nil || m["access_token"] == nil {
			t.Fatalf("refresh without openid: %d %v", status, m)
		}
		// With openid, narrowed away at refresh: no ID token either.
		a = rp.start()
		full, _, err := rp.exchange(t, codeFrom(t, b.get(a.url), a), a)
		if err != nil {
			t.Fatal(err)
		}
		status, m = tokenPost(t, ts, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {full.RefreshToken}, "scope": {"profile"}}, rp.id, rp.secret)
		if status != http.StatusOK || m["id_token"] != nil {
			t.Fatalf("refresh narrowed to profile: %d %v", status, m)
		}
		status, m = tokenPost(t, ts, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {full.RefreshToken}}, rp.id, rp.secret)
		if status != http.StatusOK || m["id_token"] == nil {
			t.Fatalf("refresh with openid (within the grace period): %d, id_token %v", status, m["id_token"])
		}
	})
}

// TestRPDiscoveryAndHeaders: discovery names the pages' languages and the fragment mode; CORS
// answers expose WWW-Authenticate to scripts.
func TestRPDiscoveryAndHeaders(t *testing.T) {
	ts := startServer(t, stores(t)["sqlite"](t))
	registerRP(t, ts, true)
	resp, err := http.Get(ts.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UILocales []string `json:"ui_locales_supported"`
		Modes     []string `json:"response_modes_supported"`
	}
	err = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.UILocales, []string{"en", "es"}) || !slices.Contains(d.Modes, "fragment") {
		t.Errorf("ui_locales_supported %v, response_modes_supported %v", d.UILocales, d.Modes)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.issuer+"/userinfo", nil)
	req.Header.Set("Origin", "http://127.0.0.1:1")
	req.Header.Set("Authorization", "Bearer nope")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Www-Authenticate") && !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Errorf("userinfo from a registered origin: %d, Access-Control-Expose-Headers %q", resp.StatusCode, resp.Header.Get("Access-Control-Expose-Headers"))
	}
}
