package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/signin"
	"github.com/otpidp/otpidp/storage"
)

// harness is a Provider on a SQLite store in t.TempDir(), with a fake clock, served by an
// httptest.Server whose URL is the issuer: provider rules are tested here, next to the code.
type harness struct {
	t     *testing.T
	store storage.Storage
	clock *testClock
	prov  *Provider
	srv   *httptest.Server
	users int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, store: openSQLite(t), clock: &testClock{t: time.Now().UTC().Truncate(time.Second)}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.prov.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	// The real sign-in core decides what a request needs next; the harness signs users in
	// through the store, so the core needs no authenticator.
	core := signin.New(h.store, nil, signin.Config{Now: h.clock.now})
	prov, err := New(t.Context(), h.store, Config{Issuer: h.srv.URL, Now: h.clock.now, SignIn: core})
	if err != nil {
		t.Fatal(err)
	}
	h.prov = prov
	return h
}

// client registers spec and returns the client's ID and secret (empty for public and
// private_key_jwt clients).
func (h *harness) client(spec ClientSpec) (id, secret string) {
	h.t.Helper()
	id, secret, err := RegisterClient(h.t.Context(), h.store, spec, h.clock.now())
	if err != nil {
		h.t.Fatal(err)
	}
	return id, secret
}

// serviceClient registers a confidential client_credentials client allowed the scope "api".
func (h *harness) serviceClient(format string) (id, secret string) {
	return h.client(ClientSpec{Name: "service", GrantTypes: []string{GrantClientCredentials}, Scopes: []string{"api"}, AccessTokenFormat: format})
}

// webClient registers a first-party confidential web client (no consent step).
func (h *harness) webClient(spec ClientSpec) (id, secret string) {
	spec.Name, spec.FirstParty = "web", true
	spec.RedirectURIs = []string{"https://app.example/cb"}
	spec.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
	return h.client(spec)
}

func (h *harness) url(path string) string { return h.srv.URL + path }

// do sends a request without following redirects and returns the response with its body read.
func (h *harness) do(req *http.Request) (*http.Response, []byte) {
	h.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

// post sends a form; with a client ID, it authenticates by HTTP Basic.
func (h *harness) post(path string, form url.Values, clientID, secret string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodPost, h.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	return h.do(req)
}

func (h *harness) get(path string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodGet, h.url(path), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(req)
}

// tokenResponse is the token endpoint's success answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
}

// token posts a token request that must succeed.
func (h *harness) token(form url.Values, clientID, secret string) tokenResponse {
	h.t.Helper()
	resp, body := h.post(h.prov.op.TokenEndpoint().Relative(), form, clientID, secret)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("token request %s: %d %s", form.Get("grant_type"), resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		h.t.Fatalf("token response %s: %v", body, err)
	}
	return tr
}

// clientCredentials gets an access token for a service client.
func (h *harness) clientCredentials(clientID, secret string) tokenResponse {
	return h.token(url.Values{"grant_type": {"client_credentials"}}, clientID, secret)
}

// user creates a user and returns its ID.
func (h *harness) user() string {
	h.t.Helper()
	h.users++
	id := fmt.Sprintf("user%d", h.users)
	now := h.clock.now()
	if err := h.store.CreateUser(h.t.Context(), storage.User{ID: id, Phone: fmt.Sprintf("+1555%07d", h.users), PhoneVerified: true, Name: "Ada", CreatedAt: now, UpdatedAt: now}); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// code runs /authorize for a first-party web client, signs userID in through the store, and
// returns the code the callback sends to the client.
func (h *harness) code(clientID, userID, scope string) string {
	h.t.Helper()
	verifier := "a-pkce-verifier-that-is-long-enough-for-rfc-7636-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {clientID}, "redirect_uri": {"https://app.example/cb"}, "response_type": {"code"},
		"scope": {scope}, "state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	resp, body := h.get(h.prov.op.AuthorizationEndpoint().Relative() + "?" + q.Encode())
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("authRequestID") == "" {
		h.t.Fatalf("authorize: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	id := loc.Query().Get("authRequestID")
	now := h.clock.now()
	if err := h.store.CompleteAuthRequest(h.t.Context(), id, userID, now, []string{"pwd", "sms", "mfa"}, now); err != nil {
		h.t.Fatal(err)
	}
	resp, body = h.get(h.prov.CallbackPath() + "?id=" + url.QueryEscape(id))
	loc, err = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		h.t.Fatalf("callback: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return loc.Query().Get("code")
}

// codeForm is the token request that redeems code (with the PKCE verifier of h.code).
func codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/cb"},
		"code_verifier": {"a-pkce-verifier-that-is-long-enough-for-rfc-7636-0123456789"}}
}

// introspect reports whether the token is active, asked by a service client.
func (h *harness) introspect(token, clientID, secret string) bool {
	h.t.Helper()
	resp, body := h.post(h.prov.op.IntrospectionEndpoint().Relative(), url.Values{"token": {token}}, clientID, secret)
	var r struct {
		Active bool `json:"active"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &r) != nil {
		h.t.Fatalf("introspection: %d %s", resp.StatusCode, body)
	}
	return r.Active
}
