package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/otpidp/otpidp/storage"
)

func TestCheckFetchAddress(t *testing.T) {
	for _, c := range []struct {
		addr          string
		allowLoopback bool
		ok            bool
	}{
		{"93.184.215.14", false, true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", false, true},
		{"127.0.0.1", false, false},
		{"127.0.0.1", true, true},
		{"::1", false, false},
		{"::1", true, true},
		{"::ffff:127.0.0.1", false, false},
		{"10.0.0.1", true, false},
		{"172.16.5.4", true, false},
		{"192.168.1.1", true, false},
		{"fd00::1", true, false},
		{"169.254.169.254", true, false},
		{"::ffff:169.254.169.254", true, false},
		{"fe80::1", true, false},
		{"0.0.0.0", true, false},
		{"::", true, false},
		{"224.0.0.1", true, false},
		{"ff02::1", true, false},
		{"100.64.0.1", true, false},
		{"255.255.255.255", true, false},
	} {
		err := checkFetchAddress(netip.MustParseAddr(c.addr), c.allowLoopback)
		if (err == nil) != c.ok {
			t.Errorf("%s (loopback allowed: %v): %v, want allowed %v", c.addr, c.allowLoopback, err, c.ok)
		}
		if err != nil && !errors.Is(err, errForbiddenAddress) {
			t.Errorf("%s: %v is not errForbiddenAddress", c.addr, err)
		}
	}
}

// TestJWKSFetchGuard fetches real jwks_uri documents over loopback HTTP: refused on loopback
// unless allowed, a redirect to a private or metadata address refused at the dial, an oversize
// body refused.
func TestJWKSFetchGuard(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig", Algorithm: "ES256"}}})
	mux := http.NewServeMux()
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) })
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://10.0.0.1/keys", http.StatusFound)
	})
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://keys.example/keys", http.StatusFound)
	})
	mux.HandleFunc("/to-keys", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/keys", http.StatusFound)
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, _ *http.Request) {
		// A valid JWK Set padded past the limit with whitespace.
		_, _ = w.Write([]byte(strings.Repeat(" ", maxJWKSSize)))
		_, _ = w.Write(set)
	})
	mux.HandleFunc("/just-fits", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat(" ", maxJWKSSize-len(set))))
		_, _ = w.Write(set)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	cache := func(allowLoopback bool) *clientKeyCache {
		return &clientKeyCache{http: newJWKSHTTPClient(allowLoopback), now: time.Now, sets: map[string]fetchedKeys{}}
	}
	get := func(c *clientKeyCache, path string) error {
		keys, err := c.keys(t.Context(), storage.ClientProfile{JWKSURI: srv.URL + path}, "k1")
		if err == nil && (len(keys) != 1 || keys[0].KeyID != "k1") {
			t.Fatalf("%s: keys %v", path, keys)
		}
		return err
	}

	if err := get(cache(false), "/keys"); !errors.Is(err, errForbiddenAddress) {
		t.Errorf("loopback jwks_uri, not allowed: %v, want refused", err)
	}
	allowed := cache(true)
	for _, path := range []string{"/keys", "/to-keys", "/just-fits"} {
		if err := get(allowed, path); err != nil {
			t.Errorf("%s, loopback allowed: %v", path, err)
		}
	}
	for _, path := range []string{"/to-metadata", "/to-private"} {
		if err := get(allowed, path); !errors.Is(err, errForbiddenAddress) {
			t.Errorf("%s: %v, want refused at the dial", path, err)
		}
	}
	if err := get(allowed, "/to-http"); err == nil || !strings.Contains(err.Error(), "not https") {
		t.Errorf("redirect to plain http: %v, want refused", err)
	}
	if err := get(allowed, "/huge"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversize JWK Set: %v, want refused", err)
	}
}
