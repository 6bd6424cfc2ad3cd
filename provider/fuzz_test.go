package provider

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// FuzzRedirectURIMatch: whatever redirect_uri a request carries, the authorization endpoint
// accepts it only when it is exactly a registered one, or, for a native app's loopback
// registration, the same URI on another port (RFC 8252 §7.3).
func FuzzRedirectURIMatch(f *testing.F) {
	web := &opClient{c: storage.Client{ID: "web", RedirectURIs: []string{"https://app.example/cb", "https://app.example/cb?x=1"}}}
	native := &opClient{c: storage.Client{ID: "native", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb", "com.example.app:/cb"}}}
	for _, s := range []string{
		"https://app.example/cb", "https://app.example/cb/", "https://APP.example/cb", "https://app.example/cb?x=1",
		"https://app.example/cb?x=2", "https://app.example/cb#f", "https://app.example:443/cb", "https://app.example/cb%2F..",
		"http://127.0.0.1:51234/cb", "http://127.0.0.1:51234/cb/", "http://127.0.0.1.evil.example/cb", "http://localhost/cb",
		"com.example.app:/cb", "com.example.app:/cb2", "https://evil.example@app.example/cb", "http://[::1]/cb", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		accepts := func(c *opClient) bool {
			return op.ValidateAuthReqRedirectURI(c, uri, oidc.ResponseTypeCode) == nil &&
				matchRedirectURI(c.RedirectURIs(), c.ApplicationType() == op.ApplicationTypeNative, uri)
		}
		if accepts(web) {
			if uri != "https://app.example/cb" && uri != "https://app.example/cb?x=1" {
				t.Fatalf("web client accepted %q", uri)
			}
		}
		if accepts(native) && uri != "http://127.0.0.1/cb" && uri != "com.example.app:/cb" {
			u, perr := url.Parse(uri)
			if perr != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Path != "/cb" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
				t.Fatalf("native client accepted %q", uri)
			}
		}
		// Registration-time checks never panic and never accept a fragment or user info.
		for _, public := range []bool{false, true} {
			if checkRedirectURI(uri, public) == nil {
				u, _ := url.Parse(uri)
				if strings.Contains(uri, "#") || u.User != nil || !u.IsAbs() {
					t.Fatalf("checkRedirectURI accepted %q", uri)
				}
				if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
					t.Fatalf("checkRedirectURI accepted http on a non-loopback host: %q", uri)
				}
			}
		}
	})
}

// FuzzAccessTokenParser: no input makes the access-token parser panic, and none is taken for
// a token otpidp issued (the store below has none).
func FuzzAccessTokenParser(f *testing.F) {
	store, err := sqlite.Open(f.Context(), filepath.Join(f.TempDir(), "otpidp.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	if err := store.Migrate(f.Context()); err != nil {
		f.Fatal(err)
	}
	p, err := New(f.Context(), store, Config{Issuer: "http://127.0.0.1:1", Now: time.Now})
	if err != nil {
		f.Fatal(err)
	}
	opaque, err := p.op.Crypto().Encrypt("tokenid:subject")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		opaque, opaque[:len(opaque)-1], "", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwianRpIjoiaiJ9.",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", strings.Repeat("A", 9000), "x:y:z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, subject, ok := p.decodeAccessToken(t.Context(), token)
		if !ok {
			return
		}
		if id == "" {
			t.Fatalf("decoded %q to an empty token ID", token)
		}
		var resp oidc.IntrospectionResponse
		if p.storage.SetIntrospectionFromToken(t.Context(), &resp, id, subject, "c") == nil {
			t.Fatalf("%q introspects active on an empty store", token)
		}
	})
}
