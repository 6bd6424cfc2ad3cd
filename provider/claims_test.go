package provider

import (
	"slices"
	"testing"
)

// FuzzClaimsParameter: whatever the claims parameter holds, parsing never panics, and what it
// lets into ID tokens is only ever known profile and phone claims, each once.
func FuzzClaimsParameter(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"id_token":{"name":null,"phone_number":{"essential":true}}}`,
		`{"userinfo":{"name":{"essential":true}},"id_token":{"auth_time":{"essential":true}}}`,
		`{"id_token":{"acr":{"essential":true,"values":["urn:x"]}}}`, `{"id_token":{"sub":{"value":"abc"}}}`,
		`{"id_token":{"name":null,"name":null}}`, `{"id_token":{"sub":{"value":7}}}`, `{"id_token":[]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := parseClaimsParameter(raw)
		if err != nil {
			if err.ErrorType != "invalid_request" && err.ErrorType != "access_denied" {
				t.Fatalf("%q: error %q", raw, err.ErrorType)
			}
			return
		}
		seen := map[string]bool{}
		for _, n := range c.idToken {
			if !slices.Contains(idTokenClaimNames, n) || seen[n] {
				t.Fatalf("%q: ID token claims %v", raw, c.idToken)
			}
			seen[n] = true
		}
	})
}

func TestParseClaimsParameter(t *testing.T) {
	for _, c := range []struct {
		raw     string
		idToken []string
		sub     string
		err     string
	}{
		{``, nil, "", ""},
		{`{"id_token":{"phone_number":null,"name":{"essential":true},"email":null,"acr":null}}`, []string{"name", "phone_number"}, "", ""},
		{`{"userinfo":{"name":null}}`, nil, "", ""},
		{`{"id_token":{"sub":{"value":"u1"}},"userinfo":{"sub":{"value":"u1"}}}`, nil, "u1", ""},
		{`{"id_token":{"sub":{"value":"u1"}},"userinfo":{"sub":{"value":"u2"}}}`, nil, "", "invalid_request"},
		{`{"id_token":{"acr":{"essential":true,"values":["urn:x","` + ACRMultiFactor + `"]}}}`, nil, "", ""},
		{`{"id_token":{"acr":{"essential":true,"value":"urn:x"}}}`, nil, "", "access_denied"},
		{`{"id_token":{"acr":{"values":["urn:x"]}}}`, nil, "", ""},
		{`{"id_token":"name"}`, nil, "", "invalid_request"},
		{`"x"`, nil, "", "invalid_request"},
	} {
		got, err := parseClaimsParameter(c.raw)
		if c.err != "" {
			if err == nil || string(err.ErrorType) != c.err {
				t.Errorf("%s: error %v, want %s", c.raw, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got.idToken, c.idToken) || got.sub != c.sub {
			t.Errorf("%s: %+v %v, want %v %q", c.raw, got, err, c.idToken, c.sub)
		}
	}
}
