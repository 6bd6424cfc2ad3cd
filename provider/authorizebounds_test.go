package provider

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/provider/reqinfo"
	"github.com/otpidp/otpidp/provider/signin"
)

// boundsHarness is a harness whose provider has the authorization limits given, served behind
// reqinfo's middleware trusting loopback, so that X-Forwarded-For chooses the client IP.
func boundsHarness(t *testing.T, l AuthorizeLimits) (*harness, string) {
	h := newHarness(t)
	core := signin.New(h.store, nil, signin.Config{Now: h.clock.now})
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	srv := httptest.NewServer(reqinfo.Middleware(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.prov.Handler().ServeHTTP(w, r)
	})))
	t.Cleanup(srv.Close)
	h.srv = srv
	prov, err := New(t.Context(), h.store, Config{Issuer: srv.URL, Now: h.clock.now, SignIn: core, Authorize: l})
	if err != nil {
		t.Fatal(err)
	}
	h.prov = prov
	id, _ := h.webClient(ClientSpec{})
	return h, id
}

const authorizeIP = "198.51.100.20"

// authorizeParams is a valid authorization request of the client.
func authorizeParams(clientID string) url.Values {
	return url.Values{"client_id": {clientID}, "redirect_uri": {"https://app.example/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}, "nonce": {"n"}}
}

// authorize sends q from ip to /authorize, as a GET or a POSTed form.
func (h *harness) authorize(method, ip string, q url.Values) (*http.Response, string) {
	h.t.Helper()
	path := h.url(h.prov.op.AuthorizationEndpoint().Relative())
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequestWithContext(h.t.Context(), method, path+"?"+q.Encode(), nil)
	} else {
		req, _ = http.NewRequestWithContext(h.t.Context(), method, path, strings.NewReader(q.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Forwarded-For", ip)
	resp, body := h.do(req)
	return resp, string(body)
}

// pending is the number of live authorization requests created from ip.
func (h *harness) pending(ip string) int {
	h.t.Helper()
	n, err := h.store.CountPendingAuthRequests(h.t.Context(), ip, h.clock.now(), 1<<20)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// TestAuthorizeHugeState (issue 9): ten authorization requests with a 9 MiB state are refused
// with a 4xx and add no row; before, each was stored for 30 minutes.
func TestAuthorizeHugeState(t *testing.T) {
	h, client := boundsHarness(t, AuthorizeLimits{})
	q := authorizeParams(client)
	q.Set("state", strings.Repeat("x", 9<<20))
	for i := range 10 {
		resp, body := h.authorize(http.MethodPost, authorizeIP, q)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("POST %d with a 9 MiB state: %d %.200s", i+1, resp.StatusCode, body)
		}
	}
	q.Set("state", strings.Repeat("x", MaxAuthorizeBytes))
	if resp, body := h.authorize(http.MethodGet, authorizeIP, q); resp.StatusCode != http.StatusRequestURITooLong {
		t.Fatalf("GET with a 16 KiB state: %d %.200s", resp.StatusCode, body)
	}
	if n := h.pending(authorizeIP); n != 0 {
		t.Fatalf("%d authorization requests stored", n)
	}
	// The bounds leave a normal request alone.
	if resp, body := h.authorize(http.MethodPost, authorizeIP, authorizeParams(client)); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "authRequestID=") || h.pending(authorizeIP) != 1 {
		t.Fatalf("a normal request: %d %s %.200s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// TestAuthorizeParamLimits: an oversize parameter is an invalid_request naming it, sent back
// to the client's redirect URI once the client and the redirect URI are known to be good (an
// oversize state is then not echoed), and shown as an error page otherwise (RFC 6749
// §4.1.2.1); no request is stored.
func TestAuthorizeParamLimits(t *testing.T) {
	h, client := boundsHarness(t, AuthorizeLimits{})
	for _, name := range boundedAuthorizeParams {
		t.Run(name, func(t *testing.T) {
			q := authorizeParams(client)
			long := strings.Repeat("a", authorizeParamLimits[name]+1)
			switch name {
			case "client_id":
				q.Set(name, client+long)
			case "redirect_uri":
				q.Set(name, "https://app.example/cb?"+long)
			case "max_age":
				q.Set(name, strings.Repeat("1", authorizeParamLimits[name]+1))
			default:
				q.Set(name, long)
			}
			resp, body := h.authorize(http.MethodGet, authorizeIP, q)
			if name == "client_id" || name == "redirect_uri" {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, name+" is too long") {
					t.Fatalf("oversize %s: %d %q %.200s; want an error page, no redirect", name, resp.StatusCode, resp.Header.Get("Location"), body)
				}
				return
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), "https://app.example/cb?") {
				t.Fatalf("oversize %s: %d %q %.200s; want a redirect to the client", name, resp.StatusCode, resp.Header.Get("Location"), body)
			}
			got := loc.Query()
			wantState := "s"
			if name == "state" {
				wantState = ""
			}
			if got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), name+" is too long") ||
				got.Get("state") != wantState || got.Get("iss") != h.srv.URL {
				t.Fatalf("oversize %s: %v", name, got)
			}
		})
	}
	// At the limit is fine.
	q := authorizeParams(client)
	q.Set("state", strings.Repeat("s", authorizeParamLimits["state"]))
	if resp, _ := h.authorize(http.MethodGet, authorizeIP, q); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "authRequestID=") {
		t.Fatalf("a state of exactly %d bytes: %d %s", authorizeParamLimits["state"], resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := h.pending(authorizeIP); n != 1 {
		t.Fatalf("%d requests stored, want only the last", n)
	}
}

// TestAuthorizeRateLimit: requests per client IP are limited (429 with Retry-After, before
// anything is parsed or stored); another address is not.
func TestAuthorizeRateLimit(t *testing.T) {
	h, client := boundsHarness(t, AuthorizeLimits{PerIP: limits.Rate{Max: 5, Per: time.Minute}})
	for i := range 5 {
		if resp, body := h.authorize(http.MethodGet, authorizeIP, authorizeParams(client)); resp.StatusCode != http.StatusFound {
			t.Fatalf("request %d of 5: %d %.200s", i+1, resp.StatusCode, body)
		}
	}
	resp, _ := h.authorize(http.MethodGet, authorizeIP, authorizeParams(client))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "12" {
		t.Fatalf("sixth: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n := h.pending(authorizeIP); n != 5 {
		t.Fatalf("%d stored, want 5", n)
	}
	if resp, _ := h.authorize(http.MethodGet, "198.51.100.21", authorizeParams(client)); resp.StatusCode != http.StatusFound {
		t.Fatalf("another address: %d", resp.StatusCode)
	}
	h.clock.set(h.clock.now().Add(12 * time.Second))
	if resp, _ := h.authorize(http.MethodGet, authorizeIP, authorizeParams(client)); resp.StatusCode != http.StatusFound {
		t.Fatalf("12 s later: %d", resp.StatusCode)
	}
}

// TestAuthorizePendingCap: requests from one address that are neither completed nor expired are
// capped, on every instance (counted in the store); completing or expiring one makes room.
func TestAuthorizePendingCap(t *testing.T) {
	h, client := boundsHarness(t, AuthorizeLimits{PendingPerIP: 3})
	var ids []string
	for i := range 3 {
		resp, body := h.authorize(http.MethodGet, authorizeIP, authorizeParams(client))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("authRequestID") == "" {
			t.Fatalf("request %d of 3: %d %.200s", i+1, resp.StatusCode, body)
		}
		ids = append(ids, loc.Query().Get("authRequestID"))
	}
	if resp, _ := h.authorize(http.MethodPost, authorizeIP, authorizeParams(client)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fourth pending: %d", resp.StatusCode)
	}
	if n := h.pending(authorizeIP); n != 3 {
		t.Fatalf("%d pending, want 3", n)
	}
	if resp, _ := h.authorize(http.MethodGet, "2001:db8::1", authorizeParams(client)); resp.StatusCode != http.StatusFound {
		t.Fatalf("another address: %d", resp.StatusCode)
	}
	now := h.clock.now()
	if err := h.store.CompleteAuthRequest(t.Context(), ids[0], h.user(), now, []string{"pwd"}, now); err != nil {
		t.Fatal(err)
	}
	if resp, _ := h.authorize(http.MethodGet, authorizeIP, authorizeParams(client)); resp.StatusCode != http.StatusFound {
		t.Fatalf("after one completed: %d", resp.StatusCode)
	}
	if resp, _ := h.authorize(http.MethodGet, authorizeIP, authorizeParams(client)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("full again: %d", resp.StatusCode)
	}
	h.clock.set(h.clock.now().Add(31 * time.Minute))
	if resp, _ := h.authorize(http.MethodGet, authorizeIP, authorizeParams(client)); resp.StatusCode != http.StatusFound {
		t.Fatalf("after they expired: %d", resp.StatusCode)
	}
}
