package main

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/otpidp/otpidp/provider"
)

// fetchJWKS returns the provider's published key set.
func fetchJWKS(t *testing.T, ts *testServer) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(ts.issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// jwksKIDs lists the IDs of the RS256 keys in set: the ID-token keys these tests rotate (the
// ES256 key of JWT access tokens is published beside them).
func jwksKIDs(set jose.JSONWebKeySet) []string {
	var ids []string
	for _, k := range set.Keys {
		if k.Algorithm == "RS256" {
			ids = append(ids, k.KeyID)
		}
	}
	slices.Sort(ids)
	return ids
}

// jwtHeader returns the kid, alg and typ of a compact JWS.
func jwtHeader(t *testing.T, token string) (kid, alg, typ string) {
	t.Helper()
	head, _, ok := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if !ok || err != nil {
		t.Fatalf("not a JWS: %.20s…", token)
	}
	var h struct{ Kid, Alg, Typ string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid, h.Alg, h.Typ
}

// cachedVerifier is a relying party that fetched JWKS once and never fetches it again.
func cachedVerifier(t *testing.T, ts *testServer, clientID string) *oidc.IDTokenVerifier {
	t.Helper()
	set := fetchJWKS(t, ts)
	var pubs []crypto.PublicKey
	for _, k := range set.Keys {
		pubs = append(pubs, k.Key)
	}
	return oidc.NewVerifier(ts.issuer, &oidc.StaticKeySet{PublicKeys: pubs}, &oidc.Config{ClientID: clientID})
}

// TestKeyRotation (SECURITY.md REL-08/09): tokens signed before a rotation keep verifying, with
// relying parties that cache JWKS; the new key is published a lead time before it signs; no
// token ever carries a kid that JWKS lacks; the old key leaves JWKS once its tokens expired.
func TestKeyRotation(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			rp := registerRP(t, ts, false)
			// signIn returns a fresh ID token, and checks that its kid is published.
			idToken := func(first bool) string {
				t.Helper()
				b := newBrowser(t)
				a := rp.start()
				var r response
				if first {
					r = register(t, ts, b, a)
				} else {
					r = signIn(t, ts, b, a, testPassword)
				}
				tok, _, err := rp.exchange(t, codeFrom(t, r, a), a)
				if err != nil {
					t.Fatal(err)
				}
				raw := tok.Extra("id_token").(string)
				if kid, _, _ := jwtHeader(t, raw); !slices.Contains(jwksKIDs(fetchJWKS(t, ts)), kid) {
					t.Fatalf("a new ID token has kid %s, absent from JWKS %v", kid, jwksKIDs(fetchJWKS(t, ts)))
				}
				return raw
			}
			verify := func(v *oidc.IDTokenVerifier, raw, what string) {
				t.Helper()
				if _, err := v.Verify(t.Context(), raw); err != nil {
					t.Errorf("%s does not verify: %v", what, err)
				}
			}

			tok1 := idToken(true)
			k1, _, _ := jwtHeader(t, tok1)
			cachedBefore := cachedVerifier(t, ts, rp.id)

			r, err := provider.RotateSigningKey(t.Context(), ts.store, provider.Config{Now: ts.clock.now}, "RS256", false)
			if err != nil {
				t.Fatal(err)
			}
			k2 := r.ID
			if lead := r.ActiveAt.Sub(ts.clock.now()); lead < 23*time.Hour {
				t.Fatalf("the new key signs in %v, want the 24h lead time", lead)
			}

			// Within the key cache TTL every instance publishes it; nothing signs with it yet.
			ts.clock.advance(time.Minute + time.Second)
			both := []string{k1, k2}
			slices.Sort(both)
			if got := jwksKIDs(fetchJWKS(t, ts)); !slices.Equal(got, both) {
				t.Fatalf("JWKS after rotation = %v, want both %v", got, both)
			}
			cachedAfter := cachedVerifier(t, ts, rp.id)
			tok2 := idToken(false)
			if kid, _, _ := jwtHeader(t, tok2); kid != k1 {
				t.Fatalf("before ActiveAt a token has kid %s, want the old key %s", kid, k1)
			}

			// After the lead time new tokens carry the new kid; every token verifies, with a
			// relying party that refetches JWKS and with one that cached it during the lead time.
			ts.clock.advance(r.ActiveAt.Sub(ts.clock.now()) + time.Second)
			tok3 := idToken(false)
			if kid, _, _ := jwtHeader(t, tok3); kid != k2 {
				t.Fatalf("after ActiveAt a token has kid %s, want the new key %s", kid, k2)
			}
			if got := jwksKIDs(fetchJWKS(t, ts)); !slices.Equal(got, both) {
				t.Fatalf("JWKS after ActiveAt = %v, want both %v (old tokens are still valid)", got, both)
			}
			for _, tok := range []struct{ raw, what string }{{tok1, "a token of the old key"}, {tok2, "a token of the old key signed after rotation"}, {tok3, "a token of the new key"}} {
				verify(rp.verifier, tok.raw, tok.what+" (JWKS refetched)")
				verify(cachedAfter, tok.raw, tok.what+" (JWKS cached during the lead time)")
			}
			verify(cachedBefore, tok1, "a token of the old key (JWKS cached before rotation)")

			// Once every token of the old key has expired, it leaves JWKS and the store.
			ts.clock.advance(r.RetireAt.Sub(ts.clock.now()) + time.Second)
			if got := jwksKIDs(fetchJWKS(t, ts)); !slices.Equal(got, []string{k2}) {
				t.Fatalf("JWKS after RetireAt = %v, want only %s", got, k2)
			}
			tok4 := idToken(false)
			if kid, _, _ := jwtHeader(t, tok4); kid != k2 {
				t.Fatalf("after retirement a token has kid %s, want %s", kid, k2)
			}
		})
	}
}

func TestKeysCommand(t *testing.T) {
	c := newCLI(t)
	c.ok("", "migrate")
	// On an empty store, rotate makes the first key, which signs at once.
	c.ok("", "keys", "rotate")
	s := c.store()
	keys, err := s.ListSigningKeys(context.Background())
	if err != nil || len(keys) != 1 || !keys[0].ActiveAt.Equal(keys[0].CreatedAt) {
		t.Fatalf("keys rotate on an empty store: %v; %d keys; want one that signs at once", err, len(keys))
	}
	// The next rotation is published now and signs in 24h.
	out := c.ok("", "keys", "rotate")
	if !strings.Contains(out, "New RS256 signing key") {
		t.Fatalf("keys rotate printed %q", out)
	}
	keys, err = s.ListSigningKeys(context.Background())
	if err != nil || len(keys) != 2 {
		t.Fatalf("after two rotations: %v, %d keys", err, len(keys))
	}
	newest := keys[0]
	if lead := newest.ActiveAt.Sub(newest.CreatedAt); newest.Generation != 2 || lead != 24*time.Hour {
		t.Fatalf("keys rotate: generation %d, lead time %v; want 2, 24h", newest.Generation, lead)
	}
	if !strings.Contains(out, newest.ID) {
		t.Fatalf("keys rotate output %q does not name the new kid %s", out, newest.ID)
	}
	if keys[1].ExpiresAt.IsZero() {
		t.Fatal("the superseded key has no expiry")
	}

	c.env["OTPIDP_KEY_LEAD_TIME"] = "2d"
	c.ok("", "keys", "rotate", "--alg", "ES256")
	c.ok("", "keys", "rotate", "--alg", "ES256")
	c.ok("", "keys", "rotate", "--now")
	keys, err = s.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var sawES, sawNow bool
	for _, k := range keys {
		sawES = sawES || (k.Algorithm == "ES256" && k.Generation == 2 && k.ActiveAt.Sub(k.CreatedAt) == 48*time.Hour)
		sawNow = sawNow || (k.Algorithm == "RS256" && k.Generation == 3 && k.ActiveAt.Equal(k.CreatedAt))
	}
	if !sawES || !sawNow {
		for _, k := range keys {
			t.Logf("%s %s gen %d created %v active %v", k.ID, k.Algorithm, k.Generation, k.CreatedAt, k.ActiveAt)
		}
		t.Fatal("want ES256 generation 2 signing in 2d, and RS256 generation 3 signing at once")
	}
	list := c.ok("", "keys", "list")
	for _, k := range keys {
		if !strings.Contains(list, k.ID) {
			t.Errorf("keys list lacks %s:\n%s", k.ID, list)
		}
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"keys"}, "needs a subcommand"},
		{[]string{"keys", "spin"}, "needs a subcommand"},
		{[]string{"keys", "rotate", "extra"}, "unexpected argument"},
		{[]string{"keys", "list", "--now"}, "flag provided but not defined"},
	} {
		wantUsageError(t, c.run("", tc.args...), tc.msg, "otpidp keys rotate")
	}
	if r := c.run("", "keys", "rotate", "--alg", "HS256"); r.err == nil || exitCode(r.err, &strings.Builder{}) != 1 {
		t.Errorf("keys rotate --alg HS256: %v, want a failure", r.err)
	}
	c.env["OTPIDP_KEY_LEAD_TIME"] = "soon"
	if r := c.run("", "keys", "rotate"); exitCode(r.err, &strings.Builder{}) != 2 || !strings.Contains(r.err.Error(), "OTPIDP_KEY_LEAD_TIME") {
		t.Errorf("keys rotate with a bad lead time: %v, want a configuration error", r.err)
	}
}

func TestKeySettings(t *testing.T) {
	for _, tc := range []struct {
		rotation, lead string
		want           time.Duration // rotation
		wantLead       time.Duration
		problem        string
	}{
		{"", "", 30 * 24 * time.Hour, 24 * time.Hour, ""},
		{"7d", "12h", 7 * 24 * time.Hour, 12 * time.Hour, ""},
		{"off", "1h", -1, time.Hour, ""},
		{"OFF", "0s", -1, 0, ""},
		{"30m", "", 0, 0, "at least 1h"},
		{"2d", "3d", 0, 0, "must be shorter than"},
		{"weekly", "", 0, 0, envKeyRotation},
		{"", "-1h", 0, 0, "must not be negative"},
		{"", "1x", 0, 0, envKeyLeadTime},
		{"-3d", "", 0, 0, envKeyRotation},
	} {
		env := map[string]string{envKeyRotation: tc.rotation, envKeyLeadTime: tc.lead}
		var c Config
		get := func(k, def string) string {
			if v := env[k]; v != "" {
				return v
			}
			return def
		}
		problems := append(resolveKeySettings(&c, get), c.keyProblems()...)
		if tc.problem == "" {
			if len(problems) != 0 || c.KeyRotation != tc.want || c.KeyLeadTime != tc.wantLead {
				t.Errorf("%q/%q: rotation %v lead %v problems %v; want %v, %v", tc.rotation, tc.lead, c.KeyRotation, c.KeyLeadTime, problems, tc.want, tc.wantLead)
			}
			continue
		}
		if !strings.Contains(strings.Join(problems, "\n"), tc.problem) {
			t.Errorf("%q/%q: problems %v, want one about %q", tc.rotation, tc.lead, problems, tc.problem)
		}
	}
}
