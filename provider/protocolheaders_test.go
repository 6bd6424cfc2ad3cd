package provider

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHSTSOnProtocolAnswers: with an https issuer every protocol answer carries HSTS, as the
// pages do; an http (development) issuer sends none.
func TestHSTSOnProtocolAnswers(t *testing.T) {
	for _, c := range []struct {
		issuer string
		want   bool
	}{{"https://id.example.com", true}, {"http://localhost:8080", false}} {
		p, err := New(t.Context(), openSQLite(t), Config{Issuer: c.issuer})
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/.well-known/openid-configuration", "/keys", "/oauth/token", "/userinfo", "/oauth/introspect", "/revoke"} {
			rec := httptest.NewRecorder()
			p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.issuer+path, nil))
			if got := rec.Header().Get("Strict-Transport-Security"); (got == "max-age=63072000; includeSubDomains") != c.want || !c.want && got != "" {
				t.Errorf("%s%s: Strict-Transport-Security %q, want it: %v", c.issuer, path, got, c.want)
			}
		}
	}
}
