package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/otpidp/otpidp/provider/auth"
)

// The benchmarks measure the hot paths through the whole server over loopback HTTP, on each
// store: the figures in the README come from
//
//	OTPIDP_TEST_DATABASE_URL=… go test -run '^$' -bench . -benchtime 3s ./cmd/otpidp/
//
// Each op is one complete HTTP request (or one sign-in round trip) including the client's side.

func BenchmarkHotPaths(b *testing.B) {
	for name, open := range stores(b) {
		b.Run(name, func(b *testing.B) {
			// The protocol endpoints' rate limits stay on (their in-memory buckets are part of
			// every request's cost) but far above what a benchmark sends.
			ts := startServer(b, open(b), func(c *Config) {
				c.Abuse.TokenPerIP = auth.Rate{Max: 1 << 30, Per: time.Minute}
				c.Abuse.TokenPerClient = auth.Rate{Max: 1 << 30, Per: time.Minute}
				c.Abuse.AuthorizePerIP = auth.Rate{Max: 1 << 30, Per: time.Minute}
				c.Abuse.AuthorizePendingPerIP = -1
			})
			rp := registerRP(b, ts, false)
			br := newBrowser(b)
			a := rp.start()
			tok, _, err := rp.exchange(b, codeFrom(b, register(b, ts, br, a), a), a)
			if err != nil {
				b.Fatal(err)
			}

			b.Run("introspect", func(b *testing.B) {
				form := url.Values{"token": {tok.AccessToken}}.Encode()
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/oauth/introspect", strings.NewReader(form))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						req.SetBasicAuth(rp.id, rp.secret)
						mustStatus(b, req, http.StatusOK)
					}
				})
			})
			b.Run("userinfo", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := http.NewRequest(http.MethodGet, ts.issuer+"/userinfo", nil)
						req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
						mustStatus(b, req, http.StatusOK)
					}
				})
			})
			b.Run("jwks", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := http.NewRequest(http.MethodGet, ts.issuer+"/keys", nil)
						mustStatus(b, req, http.StatusOK)
					}
				})
			})
			b.Run("refresh", func(b *testing.B) {
				cur := tok.RefreshToken
				b.ReportAllocs()
				for b.Loop() {
					t, err := rp.oauth.TokenSource(b.Context(), &oauth2.Token{RefreshToken: cur, Expiry: time.Now().Add(-time.Hour)}).Token()
					if err != nil {
						b.Fatalf("refresh: %v", err)
					}
					cur = t.RefreshToken
				}
			})
			b.Run("sso_authorize_and_token", func(b *testing.B) {
				// A signed-in browser: authorize answers at once; then the code exchange signs
				// an ID token and stores an access and a refresh token.
				b.ReportAllocs()
				for b.Loop() {
					a := rp.start()
					if _, _, err := rp.exchange(b, codeFrom(b, br.get(a.url), a), a); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("password_step", func(b *testing.B) {
				// Phone + password: argon2id (19 MiB, t=2) verification, a flow with a fresh
				// code committed, and the SMS handed to the sender.
				fresh := newBrowser(b)
				b.ReportAllocs()
				for b.Loop() {
					login := fresh.get(rp.start().url)
					page := fresh.submit(login, "/login", map[string]string{"phone": testPhone, "password": testPassword})
					if page.url.Path != "/code" {
						b.Fatalf("password step: %d %s", page.status, page.url)
					}
				}
			})
		})
	}
}

func mustStatus(b *testing.B, req *http.Request, want int) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("%s %s: %d, want %d", req.Method, req.URL.Path, resp.StatusCode, want)
	}
}
