package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/postgres/pgtest"
)

// sharedPostgres opens n stores, each with its own connection pool, on one new schema of the
// test database: n instances of otpidp sharing one database.
func sharedPostgres(t *testing.T, n int) []storage.Storage {
	t.Helper()
	base := os.Getenv("OTPIDP_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but OTPIDP_TEST_DATABASE_URL is not: the multi-instance tests must run in CI")
		}
		t.Skip("OTPIDP_TEST_DATABASE_URL is not set")
	}
	ctx := t.Context()
	dbURL := pgtest.SchemaURL(t, base, "cluster_")
	stores := make([]storage.Storage, n)
	for i := range stores {
		s, err := postgres.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	return stores
}

// instance is one otpidp process behind the load balancer.
type instance struct {
	url   *url.URL
	clock *fakeClock
}

// startInstance runs otpidp with the given public issuer on a loopback port.
func startInstance(t *testing.T, store storage.Storage, issuer string, outbox *outbox, logs *syncBuffer) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	in := &instance{url: &url.URL{Scheme: "http", Host: ln.Addr().String()}, clock: &fakeClock{}}
	cfg := Config{Issuer: issuer, SMS: "console", DefaultRegion: "US", ProductName: "otpidp", Dev: true}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveOn(ctx, ln, deps{cfg: cfg, store: store, logger: logger, sender: outbox, now: in.clock.now, onDrainer: outbox.attach})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("instance %s: %v", in.url.Host, err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(in.url.String() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance did not become healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTwoInstances runs two otpidp instances on one PostgreSQL schema behind a load balancer
// that the test points at one or the other: a revocation on one shows at once on the other, and
// a key rotated on one is published and used by the other within the key cache TTL.
func TestTwoInstances(t *testing.T) {
	stores := sharedPostgres(t, 2)
	lbListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + lbListener.Addr().String()
	outbox, logs := &outbox{}, &syncBuffer{}
	a := startInstance(t, stores[0], issuer, outbox, logs)
	b := startInstance(t, stores[1], issuer, outbox, logs)
	var target atomic.Pointer[instance]
	target.Store(a)
	lb := &http.Server{Handler: &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target.Load().url)
			r.Out.Host = r.In.Host // the instances see the public host, as behind a real balancer
		},
	}}
	go lb.Serve(lbListener)
	t.Cleanup(func() { lb.Close() })
	on := func(in *instance) { target.Store(in) }
	advance := func(d time.Duration) { a.clock.advance(d); b.clock.advance(d) }

	ts := &testServer{issuer: issuer, store: stores[0], sms: outbox, clock: a.clock, logs: logs}
	rp := registerRP(t, ts, false)

	// Sign in on A; B sees the tokens as active; revoke on A, and B sees them revoked at once.
	on(a)
	auth := rp.start()
	tok, _, err := rp.exchange(t, codeFrom(t, register(t, ts, newBrowser(t), auth), auth), auth)
	if err != nil {
		t.Fatal(err)
	}
	on(b)
	if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != true {
		t.Fatalf("B: introspection of A's fresh token = %v", got)
	}
	on(a)
	rp.revoke(t, ts, tok.AccessToken, "access_token")
	on(b)
	if got := rp.introspect(t, ts, tok.AccessToken); len(got) != 1 || got["active"] != false {
		t.Fatalf("B: introspection right after A revoked the token = %v, want exactly {active:false}", got)
	}
	on(a)
	rp.revoke(t, ts, tok.RefreshToken, "refresh_token")
	on(b)
	if _, err := rp.oauth.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("B: refreshing with a refresh token A revoked succeeded")
	}

	// Rotate as an instance of A does on schedule; B publishes the new key within the cache TTL
	// and signs with it from ActiveAt.
	signInKID := func(in *instance) string {
		t.Helper()
		on(in)
		auth := rp.start()
		tok, _, err := rp.exchange(t, codeFrom(t, signIn(t, ts, newBrowser(t), auth, testPassword), auth), auth)
		if err != nil {
			t.Fatal(err)
		}
		kid, _, _ := jwtHeader(t, tok.Extra("id_token").(string))
		for _, other := range []*instance{a, b} {
			on(other)
			if jwks := jwksKIDs(fetchJWKS(t, ts)); !slices.Contains(jwks, kid) {
				t.Fatalf("a token has kid %s, absent from an instance's JWKS %v", kid, jwks)
			}
		}
		return kid
	}
	k1 := signInKID(b)
	r, err := provider.RotateSigningKey(t.Context(), stores[0], provider.Config{Now: a.clock.now}, "RS256", false)
	if err != nil {
		t.Fatal(err)
	}
	advance(time.Minute + time.Second)
	on(b)
	if jwks := jwksKIDs(fetchJWKS(t, ts)); !slices.Contains(jwks, r.ID) || !slices.Contains(jwks, k1) {
		t.Fatalf("B's JWKS a key cache TTL after A rotated = %v, want %s and %s", jwks, k1, r.ID)
	}
	if kid := signInKID(b); kid != k1 {
		t.Fatalf("B signs with %s before the new key's ActiveAt, want %s", kid, k1)
	}
	advance(r.ActiveAt.Sub(a.clock.now()) + time.Second)
	if kid := signInKID(b); kid != r.ID {
		t.Fatalf("B signs with %s after ActiveAt, want the key A made, %s", kid, r.ID)
	}
	if kid := signInKID(a); kid != r.ID {
		t.Fatalf("A signs with %s after ActiveAt, want %s", kid, r.ID)
	}

	// An emergency rotation on A: B signs with it within the key cache TTL.
	r2, err := provider.RotateSigningKey(t.Context(), stores[0], provider.Config{Now: a.clock.now}, "RS256", true)
	if err != nil {
		t.Fatal(err)
	}
	advance(time.Minute + time.Second)
	if kid := signInKID(b); kid != r2.ID {
		t.Fatalf("B signs with %s a key cache TTL after A's emergency rotation, want %s", kid, r2.ID)
	}
}
