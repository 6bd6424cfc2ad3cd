package provider

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// Every error path of the protocol endpoints answers an OAuth error through oautherr: JSON
// (application/json), never cached, with the error code expected.
func TestOAuthErrorResponses(t *testing.T) {
	h := newHarness(t)
	id, secret := h.serviceClient(AccessTokenOpaque)
	token := h.prov.op.TokenEndpoint().Relative()
	introspect := h.prov.op.IntrospectionEndpoint().Relative()
	userinfo := h.prov.op.UserinfoEndpoint().Relative()
	form := func(v url.Values, clientID, secret string) func() (*http.Response, []byte) {
		return func() (*http.Response, []byte) { return h.post(token, v, clientID, secret) }
	}
	at := func(method, path, body, auth string) func() (*http.Response, []byte) {
		return func() (*http.Response, []byte) {
			req, err := http.NewRequestWithContext(t.Context(), method, h.url(path), strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			return h.do(req)
		}
	}
	tests := []struct {
		name   string
		do     func() (*http.Response, []byte)
		status int
		code   string
	}{
		{"token GET", at(http.MethodGet, token, "", ""), http.StatusMethodNotAllowed, "invalid_request"},
		{"token bad assertion", form(url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {oidc.ClientAssertionTypeJWTAssertion}, "client_assertion": {"x.y.z"}}, "", ""), http.StatusUnauthorized, "invalid_client"},
		{"token unparsable form", at(http.MethodPost, token, "%zz", ""), http.StatusBadRequest, "invalid_request"},
		{"device token wrong secret", form(url.Values{"grant_type": {GrantDeviceCode}, "device_code": {"x"}}, id, "wrong"), http.StatusUnauthorized, "invalid_client"},
		{"device token unauthorized client", form(url.Values{"grant_type": {GrantDeviceCode}, "device_code": {"x"}}, id, secret), http.StatusBadRequest, "unauthorized_client"},
		{"device authorization GET", at(http.MethodGet, DeviceAuthorizationPath, "", ""), http.StatusMethodNotAllowed, "invalid_request"},
		{"device authorization no client", at(http.MethodPost, DeviceAuthorizationPath, "scope=openid", ""), http.StatusUnauthorized, "invalid_client"},
		{"introspection GET", at(http.MethodGet, introspect, "", ""), http.StatusMethodNotAllowed, "invalid_request"},
		{"introspection no client", at(http.MethodPost, introspect, "token=x", ""), http.StatusUnauthorized, "invalid_client"},
		{"userinfo PUT", at(http.MethodPut, userinfo, "", ""), http.StatusMethodNotAllowed, "invalid_request"},
		{"userinfo no token", at(http.MethodGet, userinfo, "", ""), http.StatusUnauthorized, "invalid_token"},
		{"userinfo bad token", at(http.MethodGet, userinfo, "", "Bearer \"quoted\\token\""), http.StatusUnauthorized, "invalid_token"},
		{"discovery POST", at(http.MethodPost, oidc.DiscoveryEndpoint, "", ""), http.StatusMethodNotAllowed, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := tt.do()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			var e struct {
				Error string `json:"error"`
			}
			if !json.Valid(body) || json.Unmarshal(body, &e) != nil || e.Error != tt.code {
				t.Errorf("body %s, want error %q", body, tt.code)
			}
		})
	}
}
