package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/otpidp/otpidp/storage/sqlite"
)

var cspNonceRE = regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]{16,})' 'strict-dynamic'`)

// TestPageHeaders asserts the security headers of every page route, at every status it answers
// with: successes, redirects, refusals, the error and not-found pages (WEB-03, WEB-04, WEB-05,
// SES-10).
func TestPageHeaders(t *testing.T) {
	s, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ts := startServer(t, s)
	rp := registerRP(t, ts, false)

	// A signed-in browser, and the pages of a sign-in in progress.
	signed := newBrowser(t)
	first := rp.start()
	register(t, ts, signed, first)
	fresh := newBrowser(t)
	login := fresh.get(rp.start().url)
	codePage := fresh.submit(login, "/login", map[string]string{"phone": testPhone, "password": testPassword})
	flow := codePage.url.Query().Get("flow")

	post := func(b *browser, path string, form url.Values, origin string) response {
		req, _ := http.NewRequest(http.MethodPost, ts.issuer+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		if origin != ts.issuer {
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		return b.do(req)
	}
	noRedirect := func(b *browser) *browser {
		c := *b.client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &browser{t: t, client: &c}
	}
	anon := noRedirect(newBrowser(t))
	tests := []struct {
		name   string
		do     func() response
		status int
	}{
		{"login", func() response { return anon.get(ts.issuer + "/login") }, http.StatusOK},
		{"login for an app", func() response { return login }, http.StatusOK},
		{"register", func() response { return anon.get(ts.issuer + "/register") }, http.StatusOK},
		{"forgot", func() response { return anon.get(ts.issuer + "/forgot") }, http.StatusOK},
		{"code", func() response { return codePage }, http.StatusOK},
		{"recovery code", func() response { return fresh.get(ts.issuer + "/code/recovery?flow=" + flow) }, http.StatusOK},
		{"code of an unknown flow", func() response { return anon.get(ts.issuer + "/code?flow=nope") }, http.StatusBadRequest},
		{"reset verify of an unknown flow", func() response { return anon.get(ts.issuer + "/forgot/verify?flow=nope") }, http.StatusBadRequest},
		{"new password of an unknown flow", func() response { return anon.get(ts.issuer + "/forgot/password?flow=nope") }, http.StatusBadRequest},
		{"expired sign-in link", func() response { return anon.get(ts.issuer + "/login?authRequestID=nope") }, http.StatusBadRequest},
		{"account", func() response { return signed.get(ts.issuer + "/account") }, http.StatusOK},
		{"account signed out", func() response { return anon.get(ts.issuer + "/account") }, http.StatusSeeOther},
		{"recovery codes gone", func() response { return signed.get(ts.issuer + "/recovery-codes") }, http.StatusOK},
		{"recovery codes text signed out", func() response { return anon.get(ts.issuer + "/recovery-codes.txt") }, http.StatusSeeOther},
		{"logged out", func() response { return anon.get(ts.issuer + "/logged-out") }, http.StatusOK},
		{"not found", func() response { return anon.get(ts.issuer + "/no/such/page") }, http.StatusNotFound},
		{"authorize error page", func() response {
			return anon.get(ts.issuer + "/authorize?client_id=nope&response_type=code&scope=openid")
		}, http.StatusBadRequest},
		{"callback of an unknown request", func() response { return anon.get(ts.issuer + "/authorize/callback?id=nope") }, http.StatusBadRequest},
		{"POST without a CSRF token", func() response {
			return post(anon, "/login", url.Values{"phone": {testPhone}, "password": {testPassword}}, ts.issuer)
		}, http.StatusSeeOther}, // Post/Redirect/Get: to the 403 page at /message (TestPostRedirectGet)
		{"cross-origin POST", func() response {
			return post(anon, "/login", url.Values{"phone": {testPhone}, "password": {testPassword}}, "https://evil.example")
		}, http.StatusForbidden},
		{"POST too large", func() response {
			return post(anon, "/login", url.Values{"password": {strings.Repeat("x", 20<<10)}}, ts.issuer)
		}, http.StatusSeeOther}, // to the 413 page at /message
		{"wrong password", func() response {
			b := newBrowser(t)
			page := b.get(ts.issuer + "/login")
			return b.submit(page, "/login", map[string]string{"phone": testPhone, "password": "not the password"})
		}, http.StatusUnauthorized},
		{"forgot POST", func() response {
			b := noRedirect(newBrowser(t))
			page := b.get(ts.issuer + "/forgot")
			return b.submit(page, "/forgot", map[string]string{"phone": "+14155550199"})
		}, http.StatusSeeOther},
	}
	nonces := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d\n%.600s", r.status, tt.status, r.body)
			}
			h := r.header
			csp := h.Get("Content-Security-Policy")
			m := cspNonceRE.FindStringSubmatch(csp)
			if m == nil {
				t.Fatalf("CSP without a script nonce: %q", csp)
			}
			if nonces[m[1]] {
				t.Errorf("nonce %s was used twice", m[1])
			}
			nonces[m[1]] = true
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP lacks %q: %q", want, csp)
				}
			}
			for k, want := range map[string]string{
				"X-Frame-Options":            "DENY",
				"X-Content-Type-Options":     "nosniff",
				"Referrer-Policy":            "no-referrer",
				"Cache-Control":              "no-store",
				"Cross-Origin-Opener-Policy": "same-origin",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if ct := h.Get("Content-Type"); r.status != http.StatusSeeOther && !strings.Contains(ct, "charset=utf-8") {
				t.Errorf("Content-Type = %q, want a charset", ct)
			}
			if r.status == http.StatusOK || r.status >= 400 {
				if strings.Contains(r.body, "<html") && !strings.Contains(r.body, `nonce="`+m[1]+`"`) {
					t.Errorf("the page's script does not carry the header's nonce")
				}
				for _, leak := range []string{"goroutine", "sql:", "storage:", "auth: ", ".go:"} {
					if strings.Contains(r.body, leak) {
						t.Errorf("the page leaks %q", leak)
					}
				}
			}
		})
	}
}
