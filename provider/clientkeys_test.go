package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/otpidp/otpidp/storage"
)

// TestClientKeysFetchOnceAndRememberFailures: a jwks_uri that fails is fetched once per
// minFetchInterval however many assertions arrive, concurrently or not; a working one is
// fetched once by concurrent callers.
func TestClientKeysFetchOnceAndRememberFailures(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	var hits atomic.Int64
	var failing atomic.Bool
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release // every caller is waiting by the time the one fetch answers
		if failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	defer srv.Close()

	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := &clientKeyCache{http: newJWKSHTTPClient(true), now: clock, sets: map[string]fetchedKeys{}}
	prof := storage.ClientProfile{ClientID: "c", AuthMethod: AuthMethodPrivateKeyJWT, JWKSURI: srv.URL + "/jwks"}

	concurrently := func(n int, kid string) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = c.keys(t.Context(), prof, kid) })
		}
		// Let every goroutine reach the cache before the server answers.
		time.Sleep(100 * time.Millisecond)
		close(release)
		wg.Wait()
		release = make(chan struct{})
		return errs
	}

	failing.Store(true)
	for i, err := range concurrently(8, "k1") {
		if err == nil {
			t.Fatalf("caller %d: keys from a failing jwks_uri", i)
		}
	}
	if got := hits.Load(); got != 1 {
		t.Fatalf("8 concurrent callers fetched a failing jwks_uri %d times, want 1", got)
	}
	close(release) // answer at once from now on
	for range 5 {
		if _, err := c.keys(t.Context(), prof, "k1"); err == nil {
			t.Fatal("keys within a minute of a failed fetch")
		}
	}
	if got := hits.Load(); got != 1 {
		t.Fatalf("a failed fetch was retried %d times within a minute, want 0", got-1)
	}

	advance(minFetchInterval)
	failing.Store(false)
	release = make(chan struct{})
	for i, err := range concurrently(8, "k1") {
		if err != nil {
			t.Fatalf("caller %d after the interval: %v", i, err)
		}
	}
	if got := hits.Load(); got != 2 {
		t.Fatalf("after the interval 8 concurrent callers made %d fetches, want 1", got-1)
	}
	// Cached: an unknown kid within the minute fetches nothing.
	close(release)
	if keys, err := c.keys(t.Context(), prof, "other"); err != nil || len(keys) != 1 {
		t.Fatalf("unknown kid within the minute: %v %v", keys, err)
	}
	if got := hits.Load(); got != 2 {
		t.Fatalf("an unknown kid refetched within a minute (%d fetches)", got)
	}
	// A failure after a success keeps the fresh keys in use.
	advance(minFetchInterval)
	failing.Store(true)
	if _, err := c.keys(t.Context(), prof, "other"); err == nil {
		t.Fatal("a failed refetch for an unknown kid succeeded")
	}
	if keys, err := c.keys(t.Context(), prof, "k1"); err != nil || len(keys) != 1 {
		t.Fatalf("known kid after a failed refetch: %v %v", keys, err)
	}
	if got := hits.Load(); got != 3 {
		t.Fatalf("%d fetches, want 3", got)
	}
}
