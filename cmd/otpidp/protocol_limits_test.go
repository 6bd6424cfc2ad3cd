package main

import (
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/storage"
)

// isJSON reports whether a Content-Type is JSON (with or without a charset).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// fakeClientAuth stands for the provider behind the protocol limits: client "app" with secret
// "right" authenticates (and is marked, as AuthorizeClientIDSecret does); any other secret is
// a 401; a request without a secret is a public client's, answered 400.
type fakeClientAuth struct{ served int }

func (f *fakeClientAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.served++
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch {
	case secret == "":
		w.WriteHeader(http.StatusBadRequest)
	case id == "app" && secret == "right":
		limits.ClientAuthenticated(r.Context(), id)
		_, _ = w.Write([]byte(`{"active":true}`))
	default:
		w.WriteHeader(http.StatusUnauthorized)
	}
}

// protocolHarness drives protocolLimits with a fake clock and a client IP of its choosing.
type protocolHarness struct {
	t       *testing.T
	now     time.Time
	next    *fakeClientAuth
	handler func(endpoint string, next http.Handler) http.Handler
	store   storage.Storage
}

func newProtocolHarness(t *testing.T, edit func(*Config)) *protocolHarness {
	store := stores(t)["sqlite"](t)
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := &protocolHarness{t: t, now: time.Date(2026, 3, 1, 10, 0, 20, 0, time.UTC), next: &fakeClientAuth{}, store: store}
	d := deps{store: store, logger: slog.New(slog.DiscardHandler), now: func() time.Time { return h.now }}
	if edit != nil {
		edit(&d.cfg)
	}
	h.handler = protocolLimits(d)
	return h
}

// post sends form from ip to the endpoint, with HTTP Basic credentials when basic is set.
func (h *protocolHarness) post(endpoint, ip string, form url.Values, basic ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/"+endpoint, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		r.SetBasicAuth(basic[0], basic[1])
	}
	r = r.WithContext(reqinfo.With(r.Context(), reqinfo.Info{IP: netip.MustParseAddr(ip)}))
	w := httptest.NewRecorder()
	h.handler(endpoint, h.next).ServeHTTP(w, r)
	return w
}

const (
	attackerIP = "198.51.100.7"
	apiIP      = "192.0.2.10"
)

// TestProtocolLimitsPerClient: a client's limit counts its authenticated requests only; over it
// the answer is a JSON slow_down 429 with Retry-After, recorded once in the audit log; GETs
// pass untouched.
func TestProtocolLimitsPerClient(t *testing.T) {
	h := newProtocolHarness(t, func(c *Config) { c.Abuse.TokenPerClient = limits.Rate{Max: 2, Per: time.Minute} })
	for range 2 {
		if w := h.post("token", apiIP, nil, "app", "right"); w.Code != http.StatusOK {
			t.Fatalf("under the limit: %d", w.Code)
		}
	}
	for range 3 {
		w := h.post("revoke", apiIP, nil, "app", "right")
		var body struct{ Error, ErrorDescription string }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != http.StatusTooManyRequests || body.Error != "slow_down" || w.Header().Get("Retry-After") != "30" ||
			!isJSON(w.Header().Get("Content-Type")) || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("over the per-client limit: %d %v %q", w.Code, w.Header(), w.Body)
		}
	}
	if h.next.served != 2 {
		t.Fatalf("served %d, want the 2 under the limit", h.next.served)
	}
	events, err := h.store.ListAudit(t.Context(), storage.AuditQuery{})
	if err != nil || len(events) != 1 || events[0].Event != "protocol.rate_limited" || events[0].ClientID != "app" || events[0].Detail != "revoke" {
		t.Fatalf("audit (one event for three refusals): %+v, %v", events, err)
	}
	h.now = h.now.Add(30 * time.Second)
	if w := h.post("token", apiIP, nil, "app", "right"); w.Code != http.StatusOK {
		t.Fatalf("a token back after 30 s: %d", w.Code)
	}
	r := httptest.NewRequest(http.MethodGet, "/token", nil)
	w := httptest.NewRecorder()
	h.handler("token", h.next).ServeHTTP(w, r)
	if h.next.served != 4 {
		t.Fatalf("a GET is not limited: %d, served %d", w.Code, h.next.served)
	}
}

// TestProtocolLimitsUnauthenticatedNamingAClient (issue 9): 45 secret-less requests naming a
// real client, from an attacker's address, do not spend the client's limit: its
// authenticated introspections from its own address still get through. Before, every request
// naming the client counted against it, and the real client got 429.
func TestProtocolLimitsUnauthenticatedNamingAClient(t *testing.T) {
	h := newProtocolHarness(t, func(c *Config) { c.Abuse.TokenPerClient = limits.Rate{Max: 40, Per: time.Minute} })
	for range 45 {
		h.post("introspect", attackerIP, url.Values{"client_id": {"app"}, "token": {"x"}})
	}
	for i := range 40 {
		if w := h.post("introspect", apiIP, url.Values{"token": {"x"}}, "app", "right"); w.Code != http.StatusOK {
			t.Fatalf("the real client's introspection %d: %d", i+1, w.Code)
		}
	}
}

// TestProtocolLimitsWrongSecrets: wrong client secrets from one address are refused with 429
// once the failure limit is spent, whatever they send next; another address is not.
func TestProtocolLimitsWrongSecrets(t *testing.T) {
	h := newProtocolHarness(t, nil) // the defaults
	failed := defaultTokenFailedPerIP.Max
	for i := range failed {
		if w := h.post("introspect", attackerIP, url.Values{"token": {"x"}}, "app", "guess"); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d of %d: %d, want 401", i+1, failed, w.Code)
		}
	}
	if w := h.post("introspect", attackerIP, url.Values{"token": {"x"}}, "app", "guess"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("guess %d: %d, want 429", failed+1, w.Code)
	}
	if w := h.post("token", attackerIP, url.Values{"client_id": {"app"}, "client_secret": {"right"}}); w.Code != http.StatusTooManyRequests {
		t.Fatalf("after the guesses, anything from that address: %d, want 429", w.Code)
	}
	if w := h.post("introspect", apiIP, url.Values{"token": {"x"}}, "app", "right"); w.Code != http.StatusOK {
		t.Fatalf("the real client from its own address: %d", w.Code)
	}
}

// TestProtocolLimitsPublicPerIP: requests that carry no credentials (public clients) are
// limited per address before they are served.
func TestProtocolLimitsPublicPerIP(t *testing.T) {
	h := newProtocolHarness(t, func(c *Config) { c.Abuse.TokenPerIP = limits.Rate{Max: 3, Per: time.Minute} })
	for range 3 {
		if w := h.post("token", attackerIP, url.Values{"client_id": {"spa"}}); w.Code != http.StatusBadRequest {
			t.Fatalf("under the limit: %d", w.Code)
		}
	}
	if w := h.post("token", attackerIP, url.Values{"client_id": {"spa"}}); w.Code != http.StatusTooManyRequests {
		t.Fatalf("fourth: %d", w.Code)
	}
	if w := h.post("introspect", attackerIP, url.Values{"token": {"x"}}, "app", "right"); w.Code != http.StatusOK {
		t.Fatalf("an authenticated client is not counted against that limit: %d", w.Code)
	}
}

// TestProtocolLimitsAPILoad (issue 9, a load run, not a timed test): one resource server
// introspecting 2,000 tokens a second from one address for 10 s, under the default limits, is
// never refused. The clock is fake: 20,000 requests at 0.5 ms steps.
func TestProtocolLimitsAPILoad(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 requests")
	}
	h := newProtocolHarness(t, nil)
	form := url.Values{"token": {"x"}}
	refused := 0
	for range 20_000 {
		if w := h.post("introspect", apiIP, form, "app", "right"); w.Code != http.StatusOK {
			refused++
		}
		h.now = h.now.Add(time.Second / 2000)
	}
	if refused != 0 || h.next.served != 20_000 {
		t.Fatalf("%d of 20,000 introspections at 2,000/s refused (served %d)", refused, h.next.served)
	}
}

// BenchmarkProtocolLimits is the cost the limits add to one authenticated protocol request.
func BenchmarkProtocolLimits(b *testing.B) {
	store := stores(b)["sqlite"](b)
	d := deps{store: store, logger: slog.New(slog.DiscardHandler), now: time.Now}
	h := protocolLimits(d)("introspect", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limits.ClientAuthenticated(r.Context(), "app")
	}))
	ctx := reqinfo.With(b.Context(), reqinfo.Info{IP: netip.MustParseAddr(apiIP)})
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/introspect", strings.NewReader("token=x"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("app", "right")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

// TestProtocolLimitsEndToEnd (issue 9), through the real provider on both stores: 45
// secret-less introspections naming a real client, from another address, do not get the
// client's own authenticated introspection a 429 (the provider marks a client only once its
// secret is right); wrong secrets from one address do get 429.
func TestProtocolLimitsEndToEnd(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t), func(c *Config) {
				c.Abuse.TrustedProxies, _ = reqinfo.ParseTrustedProxies("127.0.0.0/8")
				c.Abuse.TokenPerClient = limits.Rate{Max: 40, Per: time.Minute}
			})
			rp := registerRP(t, ts, false)
			introspect := func(from string, form url.Values, basic ...string) int {
				req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/oauth/introspect", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", from)
				if len(basic) == 2 {
					req.SetBasicAuth(basic[0], basic[1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			for range 45 {
				introspect(attackerIP, url.Values{"client_id": {rp.id}, "token": {"x"}})
			}
			guesser := "203.0.113.9"
			for i := range defaultTokenFailedPerIP.Max {
				if code := introspect(guesser, url.Values{"token": {"x"}}, rp.id, "wrong"); code != http.StatusUnauthorized {
					t.Fatalf("wrong secret %d: %d", i+1, code)
				}
			}
			if code := introspect(guesser, url.Values{"token": {"x"}}, rp.id, "wrong"); code != http.StatusTooManyRequests {
				t.Fatalf("wrong secret %d: %d, want 429", defaultTokenFailedPerIP.Max+1, code)
			}
			for i := range 40 {
				if code := introspect(apiIP, url.Values{"token": {"x"}}, rp.id, rp.secret); code != http.StatusOK {
					t.Fatalf("the real client's introspection %d after 45 secret-less ones: %d", i+1, code)
				}
			}
			if code := introspect(apiIP, url.Values{"token": {"x"}}, rp.id, rp.secret); code != http.StatusTooManyRequests {
				t.Fatalf("the client's 41st authenticated introspection: %d, want its own limit's 429", code)
			}
		})
	}
}
