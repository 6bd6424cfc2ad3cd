package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// Each test here fails if a zitadel/oidc behaviour that zitadel_seam.go corrects came back.

// jwsHeader returns the protected header of a compact JWS.
func jwsHeader(t *testing.T, token string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatalf("not a JWS: %v", err)
	}
	return jws.Signatures[0].Protected
}

// op.CreateJWT would sign "typ: JWT" with the ID token key; otpidp's are ES256 at+jwt, made by
// the request's crypto, and still recognised by introspection and revocation.
func TestSeamJWTAccessTokenIsATJWT(t *testing.T) {
	h := newHarness(t)
	id, secret := h.serviceClient(AccessTokenJWT)
	tok := h.clientCredentials(id, secret).AccessToken
	hdr := jwsHeader(t, tok)
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != atJWTType || hdr.Algorithm != accessTokenAlgorithm {
		t.Fatalf("header typ %q alg %q, want %q %q", typ, hdr.Algorithm, atJWTType, accessTokenAlgorithm)
	}
	if !h.introspect(tok, id, secret) {
		t.Fatal("the at+jwt is not active at introspection")
	}
	resp, body := h.post(h.prov.op.RevocationEndpoint().Relative(), url.Values{"token": {tok}}, id, secret)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %d %s", resp.StatusCode, body)
	}
	if h.introspect(tok, id, secret) {
		t.Fatal("a revoked at+jwt is still active")
	}

	// An opaque client's token is not a JWT, and the hand-off of one request never leaks
	// into the next.
	oid, osecret := h.serviceClient(AccessTokenOpaque)
	if opaque := h.clientCredentials(oid, osecret).AccessToken; strings.Count(opaque, ".") == 2 {
		t.Fatalf("an opaque client got a JWT: %s", opaque)
	}
	if again := h.clientCredentials(id, secret).AccessToken; again == tok || strings.Count(again, ".") != 2 {
		t.Fatal("the second JWT request did not get its own at+jwt")
	}
}

// The hand-off needs the request's state: outside a request the crypto encrypts, it never
// signs from state kept in the process.
func TestSeamJWTHandOffIsPerRequest(t *testing.T) {
	h := newHarness(t)
	ctx, st := withRequestState(t.Context())
	st.pendingJWT = map[string]pendingJWT{"tok1": {clientID: "c", issuer: h.srv.URL, issued: h.clock.now(), expires: h.clock.now().Add(time.Minute)}}
	other := h.prov.tokenCrypto(t.Context()) // another request: no state
	if s, err := other.Encrypt("tok1:sub"); err != nil || strings.Count(s, ".") == 2 {
		t.Fatalf("a request without the hand-off signed a JWT: %q %v", s, err)
	}
	s, err := h.prov.tokenCrypto(ctx).Encrypt("tok1:sub")
	if err != nil || jwsHeader(t, s).ExtraHeaders[jose.HeaderType] != atJWTType {
		t.Fatalf("the request's own hand-off did not sign an at+jwt: %v", err)
	}
	if s2, _ := h.prov.tokenCrypto(ctx).Encrypt("tok1:sub"); strings.Count(s2, ".") == 2 {
		t.Fatal("a hand-off was signed twice")
	}
}

// op.CreateIDToken asks SigningKey without the client: each client's ID tokens must still
// come signed with the algorithm it registered.
func TestSeamIDTokenAlgorithmPerClient(t *testing.T) {
	h := newHarness(t)
	user := h.user()
	for _, alg := range []string{"", "ES256", "EdDSA", "RS256"} {
		id, secret := h.webClient(ClientSpec{IDTokenAlg: alg})
		tr := h.token(codeForm(h.code(id, user, "openid")), id, secret)
		want := alg
		if want == "" {
			want = "RS256"
		}
		if got := jwsHeader(t, tr.IDToken).Algorithm; got != want {
			t.Errorf("client with IDTokenAlg %q: ID token signed %s, want %s", alg, got, want)
		}
	}
}

// op.ClientJWTProfile would accept an assertion for the issuer only, any number of times, and
// op.ClientCredentialsExchange would not check it at all; the proof otpidp gives a verified
// assertion is good for its own request only.
func TestSeamClientAssertion(t *testing.T) {
	h := newHarness(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := h.client(ClientSpec{Name: "keys", GrantTypes: []string{GrantClientCredentials}, Scopes: []string{"api"}, JWKS: set})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertion := func(jti string) string {
		now := h.clock.now()
		s, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: id, Subject: id, ID: jti,
			Audience: jwt.Audience{h.url(h.prov.op.TokenEndpoint().Relative())},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	form := func(a string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {oidc.ClientAssertionTypeJWTAssertion}, "client_assertion": {a}}
	}
	a := assertion("jti-1")
	h.token(form(a), "", "")
	if resp, body := h.post(h.prov.op.TokenEndpoint().Relative(), form(a), "", ""); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_client") {
		t.Fatalf("a replayed assertion: %d %s", resp.StatusCode, body)
	}
	secretForm := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"guessed-proof"}}
	if resp, body := h.post(h.prov.op.TokenEndpoint().Relative(), secretForm, "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a private_key_jwt client by secret: %d %s", resp.StatusCode, body)
	}
}

// op.DeviceAuthorizationState has no ID: the tokens of a device grant must still belong to
// the device authorization's family.
func TestSeamDeviceGrantFamily(t *testing.T) {
	h := newHarness(t)
	id, secret := h.client(ClientSpec{Name: "tv", GrantTypes: []string{GrantDeviceCode, GrantRefreshToken}})
	resp, body := h.post(DeviceAuthorizationPath, url.Values{"scope": {"openid offline_access"}}, id, secret)
	var da oidc.DeviceAuthorizationResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &da) != nil {
		t.Fatalf("device authorization: %d %s", resp.StatusCode, body)
	}
	ctx := t.Context()
	now := h.clock.now()
	d, err := h.store.GetDeviceAuthorizationByUserCode(ctx, hashValue(strings.ReplaceAll(da.UserCode, "-", "")), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.DecideDeviceAuthorization(ctx, d.ID, true, h.user(), now, []string{"pwd"}, now); err != nil {
		t.Fatal(err)
	}
	tr := h.token(url.Values{"grant_type": {GrantDeviceCode}, "device_code": {da.DeviceCode}}, id, secret)
	rt, err := h.store.GetRefreshTokenByHash(ctx, hashValue(tr.RefreshToken))
	if err != nil {
		t.Fatal(err)
	}
	if rt.FamilyID != d.ID {
		t.Fatalf("refresh token family %q, want the device authorization %q", rt.FamilyID, d.ID)
	}
}

// op.CreateTokenResponse deletes the auth request after the exchange, so a replayed code would
// merely be unknown: otpidp's replay revokes what the first redemption issued.
func TestSeamCodeReplayRevokesItsTokens(t *testing.T) {
	h := newHarness(t)
	id, secret := h.webClient(ClientSpec{})
	sid, ssecret := h.serviceClient(AccessTokenOpaque)
	code := h.code(id, h.user(), "openid offline_access")
	tr := h.token(codeForm(code), id, secret)
	if !h.introspect(tr.AccessToken, sid, ssecret) || tr.RefreshToken == "" {
		t.Fatal("the first redemption's tokens are not active")
	}
	resp, body := h.post(h.prov.op.TokenEndpoint().Relative(), codeForm(code), id, secret)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_grant") {
		t.Fatalf("replayed code: %d %s", resp.StatusCode, body)
	}
	if h.introspect(tr.AccessToken, sid, ssecret) {
		t.Fatal("the access token of a replayed code is still active")
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}
	if resp, _ := h.post(h.prov.op.TokenEndpoint().Relative(), refresh, id, secret); resp.StatusCode == http.StatusOK {
		t.Fatal("the refresh token of a replayed code still works")
	}
}

// op.RefreshTokenExchange knows no families: a rotated refresh token presented again (past
// any grace) revokes the whole family; op.Revoke of a refresh token revokes it too.
func TestSeamRefreshFamilies(t *testing.T) {
	h := newHarness(t)
	id, secret := h.webClient(ClientSpec{})
	user := h.user()
	refresh := func(rt string) (*http.Response, []byte) {
		return h.post(h.prov.op.TokenEndpoint().Relative(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret)
	}
	first := h.token(codeForm(h.code(id, user, "openid offline_access")), id, secret)
	second := h.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}, id, secret)
	h.clock.set(h.clock.now().Add(time.Hour))
	if resp, body := refresh(first.RefreshToken); resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_grant") {
		t.Fatalf("replayed refresh token: %d %s", resp.StatusCode, body)
	}
	if resp, _ := refresh(second.RefreshToken); resp.StatusCode == http.StatusOK {
		t.Fatal("the family of a replayed refresh token is not revoked")
	}

	other := h.token(codeForm(h.code(id, user, "openid offline_access")), id, secret)
	if resp, body := h.post(h.prov.op.RevocationEndpoint().Relative(), url.Values{"token": {other.RefreshToken}}, id, secret); resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %d %s", resp.StatusCode, body)
	}
	rt, err := h.store.GetRefreshTokenByHash(t.Context(), hashValue(other.RefreshToken))
	if err != nil || rt.RevokedAt.IsZero() {
		t.Fatalf("the revoked refresh token: %+v %v", rt, err)
	}
	sid, ssecret := h.serviceClient(AccessTokenOpaque)
	if h.introspect(other.AccessToken, sid, ssecret) {
		t.Fatal("the access token of a revoked refresh token's family is still active")
	}
}

// The endpoint overrides: what the library's own handlers would do differently.
func TestSeamEndpointOverrides(t *testing.T) {
	h := newHarness(t)
	id, secret := h.serviceClient(AccessTokenOpaque)

	// op.tokenHandler takes GET.
	if resp, _ := h.get(h.prov.op.TokenEndpoint().Relative() + "?grant_type=client_credentials"); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET token: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	// The library's discovery advertises implicit and hybrid flows.
	_, body := h.get(oidc.DiscoveryEndpoint)
	var doc struct {
		ResponseTypes []string `json:"response_types_supported"`
		Claims        []string `json:"claims_supported"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.ResponseTypes) != 1 || doc.ResponseTypes[0] != "code" || !slices.Contains(doc.Claims, "acr") {
		t.Errorf("discovery: %s", body)
	}
	// The library's introspection answers an unauthenticated client in plain text.
	resp, body := h.post(h.prov.op.IntrospectionEndpoint().Relative(), url.Values{"token": {"x"}}, "", "")
	if resp.StatusCode != http.StatusUnauthorized || !json.Valid(body) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("unauthenticated introspection: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// A failed Basic client is challenged; the library sends no WWW-Authenticate.
	resp, _ = h.post(h.prov.op.TokenEndpoint().Relative(), url.Values{"grant_type": {"client_credentials"}}, id, "wrong")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("wrong secret: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Token answers are never cached.
	resp, _ = h.post(h.prov.op.TokenEndpoint().Relative(), url.Values{"grant_type": {"client_credentials"}}, id, secret)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token answer: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	// The library's CORS allows any origin.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url(oidc.DiscoveryEndpoint), nil)
	req.Header.Set("Origin", "https://evil.example")
	if resp, _ := h.do(req); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS for an unregistered origin: %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
