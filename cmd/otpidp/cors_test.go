package main

import (
	"net/http"
	"testing"
)

// TestCORS: browsers get CORS only from the origins of registered redirect URIs, only on the
// endpoints a single-page app calls (discovery, JWKS, token, userinfo, revocation), and never on
// authorize (RFC 9700 §2.6; SECURITY WEB-06).
func TestCORS(t *testing.T) {
	ts := startServer(t, stores(t)["sqlite"](t))
	registerRP(t, ts, true) // redirect URI http://127.0.0.1:1/callback: origin http://127.0.0.1:1
	const registered, stranger = "http://127.0.0.1:1", "https://evil.example"
	for _, tt := range []struct {
		method, path, origin string
		allowed              bool
	}{
		{http.MethodOptions, "/oauth/token", registered, true},
		{http.MethodPost, "/oauth/token", registered, true},
		{http.MethodGet, "/.well-known/openid-configuration", registered, true},
		{http.MethodGet, "/keys", registered, true},
		{http.MethodOptions, "/userinfo", registered, true},
		{http.MethodOptions, "/revoke", registered, true},
		{http.MethodOptions, "/oauth/token", stranger, false},
		{http.MethodGet, "/keys", stranger, false},
		{http.MethodOptions, "/authorize", registered, false},
		{http.MethodGet, "/authorize", registered, false},
		{http.MethodOptions, "/oauth/introspect", registered, false},
	} {
		req, _ := http.NewRequest(tt.method, ts.issuer+tt.path, nil)
		req.Header.Set("Origin", tt.origin)
		if tt.method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if tt.allowed && got != tt.origin || !tt.allowed && got != "" {
			t.Errorf("%s %s from %s: Access-Control-Allow-Origin %q, allowed=%v", tt.method, tt.path, tt.origin, got, tt.allowed)
		}
		if got != "" && resp.Header.Get("Access-Control-Allow-Credentials") == "true" {
			t.Errorf("%s %s: credentials must not be allowed cross-origin", tt.method, tt.path)
		}
	}
}
