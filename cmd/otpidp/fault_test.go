package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage/postgres"
	"github.com/otpidp/otpidp/storage/postgres/pgtest"
)

// The fault tests put a TCP proxy the test controls (pgtest.Proxy) between otpidp and
// PostgreSQL, and cut it (the database refuses) or stall it (the database accepts and never
// answers): every answer must come fast as a 503 with Retry-After and nothing of the driver's,
// otpidp must recover by itself when the database is back, and it must exit within its grace
// period when stopped during a stall. PostgreSQL only (OTPIDP_TEST_DATABASE_URL).

// faultDBTimeout is the fault tests' OTPIDP_DB_TIMEOUT.
const faultDBTimeout = time.Second

// noHang bounds how long any one answer may take during a fault: a request that waits for the
// database without a deadline would take as long as the fault (or the client's timeout). It is
// a bound on correctness, generous enough for a loaded CI machine, not a speed target.
const noHang = 4 * faultDBTimeout

// proxiedDatabase returns a fresh schema's URL through a new proxy, and the proxy.
func proxiedDatabase(t *testing.T) (*pgtest.Proxy, string) {
	t.Helper()
	base := os.Getenv("OTPIDP_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but OTPIDP_TEST_DATABASE_URL is not: the fault tests must run in CI")
		}
		t.Skip("OTPIDP_TEST_DATABASE_URL is not set")
	}
	u, err := url.Parse(pgtest.SchemaURL(t, base, "fault_"))
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	proxy := pgtest.NewProxy(t, target)
	u.Host = proxy.Addr()
	return proxy, u.String()
}

// probe is one request that needs the database, and what it answers when the database is there.
type probe struct {
	name   string
	do     func(c *http.Client) (*http.Response, error)
	normal int
	// redirectTo: the probe is an authorization request, which may also answer an outage by
	// sending the browser back to this redirect URI with error=temporarily_unavailable
	// (RFC 6749 §4.1.2.1).
	redirectTo string
}

// leaks are strings of the database a client must never see.
func leaks(dbURL string) []string {
	u, _ := url.Parse(dbURL)
	l := []string{"SQLSTATE", "postgres", "pgx", "pgconn", "dial tcp", "connection refused", u.Host, u.Port()}
	if u.User != nil && u.User.Username() != "" {
		l = append(l, "user="+u.User.Username())
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		l = append(l, "database="+db)
	}
	return l
}

// checkUnavailable asserts a fast 503 with Retry-After and a body without the database's details.
func checkUnavailable(t *testing.T, p probe, c *http.Client, dbURL string) {
	t.Helper()
	begin := time.Now()
	resp, err := p.do(c)
	elapsed := time.Since(begin)
	if err != nil {
		t.Errorf("%s: no answer after %v: %v", p.name, elapsed, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("%s: %d in %v", p.name, resp.StatusCode, elapsed.Round(time.Millisecond))
	if loc := resp.Header.Get("Location"); p.redirectTo != "" && resp.StatusCode == http.StatusFound {
		u, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, p.redirectTo+"?") || u.Query().Get("error") != "temporarily_unavailable" {
			t.Errorf("%s: redirect to %q, want %s with error=temporarily_unavailable", p.name, loc, p.redirectTo)
		}
		body = []byte(loc) // checked for leaks below
	} else if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s: status %d, want 503:\n%.500s", p.name, resp.StatusCode, body)
	}
	if resp.Header.Get("Retry-After") == "" && resp.StatusCode == http.StatusServiceUnavailable {
		t.Errorf("%s: no Retry-After", p.name)
	}
	if elapsed > noHang {
		t.Errorf("%s: answered after %v, more than %v", p.name, elapsed, noHang)
	}
	for _, s := range leaks(dbURL) {
		if s != "" && strings.Contains(strings.ToLower(string(body)), strings.ToLower(s)) {
			t.Errorf("%s: the answer shows %q:\n%.500s", p.name, s, body)
		}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error != "temporarily_unavailable" {
			t.Errorf("%s: body %s, want error temporarily_unavailable", p.name, body)
		}
	}
}

// recovered polls until every probe answers as normal again, and returns how long it took.
func recovered(t *testing.T, probes []probe, c *http.Client) time.Duration {
	t.Helper()
	begin := time.Now()
	for _, p := range probes {
		for {
			resp, err := p.do(c)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == p.normal {
					break
				}
			}
			if time.Since(begin) > 30*time.Second {
				t.Fatalf("%s did not recover within 30s: %v", p.name, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return time.Since(begin)
}

// TestFaultDatabase runs otpidp through run() on a proxied PostgreSQL: a cut and a stall each
// give fast 503s and recover without a restart; stopping it during a stall drains (/readyz 503
// at once) and exits within OTPIDP_SHUTDOWN_GRACE.
func TestFaultDatabase(t *testing.T) {
	proxy, dbURL := proxiedDatabase(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	issuer := "http://" + addr
	const grace = 4 * time.Second
	env := map[string]string{
		"OTPIDP_ISSUER": issuer, "OTPIDP_ADDR": addr, "OTPIDP_DATABASE_URL": dbURL,
		"OTPIDP_DB_TIMEOUT": faultDBTimeout.String(), "OTPIDP_SHUTDOWN_DRAIN": "500ms", "OTPIDP_SHUTDOWN_GRACE": grace.String(),
	}
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"otpidp"}, func(k string) string { return env[k] }, strings.NewReader(""), stdout, stderr)
	}()
	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		proxy.Restore()
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("run did not stop")
		}
	})
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for begin := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := c.Get(issuer + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(begin) > 30*time.Second {
			t.Fatalf("otpidp did not start:\n%s", stderr.String())
		}
	}

	authorize := issuer + "/authorize?" + url.Values{
		"client_id": {demoClientID}, "redirect_uri": {issuer + "/demo/callback"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}, "nonce": {"n"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}.Encode()
	// /readyz last: it may call the database ready for up to a second after the last call
	// that succeeded (storage/deadline.Ready), and the calls before it have failed by then.
	probes := []probe{
		{name: "authorize page", do: func(c *http.Client) (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodGet, authorize, nil)
			req.Header.Set("Accept", "text/html")
			return c.Do(req)
		}, normal: http.StatusFound, redirectTo: issuer + "/demo/callback"},
		{name: "token", do: func(c *http.Client) (*http.Response, error) {
			return c.PostForm(issuer+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {"nope"},
				"client_id": {demoClientID}, "redirect_uri": {issuer + "/demo/callback"}, "code_verifier": {strings.Repeat("v", 43)}})
		}, normal: http.StatusBadRequest},
		{name: "readyz", do: func(c *http.Client) (*http.Response, error) { return c.Get(issuer + "/readyz") }, normal: http.StatusOK},
	}
	t.Logf("database answering: every probe normal after %v", recovered(t, probes, c))

	faults := []struct {
		name  string
		apply func()
	}{{"cut", proxy.Cut}, {"stall", proxy.Stall}}
	for _, f := range faults {
		f.apply()
		// Twice: the first calls find the pool's connections broken or hanging, the next ones
		// need new connections.
		for range 2 {
			for _, p := range probes {
				checkUnavailable(t, p, c, dbURL)
			}
		}
		proxy.Restore()
		t.Logf("after the %s: every probe normal again after %v, without a restart", f.name, recovered(t, probes, c))
	}

	// Stopped during a stall, with a request in flight.
	proxy.Stall()
	inflight := make(chan int, 1)
	go func() {
		resp, err := probes[1].do(c)
		if err != nil {
			inflight <- 0
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond)
	begin := time.Now()
	cancel()
	time.Sleep(50 * time.Millisecond)
	resp, err := c.Get(issuer + "/readyz")
	if err != nil {
		t.Errorf("/readyz while draining: %v (the listener must stay open for the drain)", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/readyz while draining = %d, want 503 at once", resp.StatusCode)
		}
	}
	select {
	case err := <-done:
		stopped = true
		elapsed := time.Since(begin)
		t.Logf("stopped during a stall: run returned after %v (grace %v)", elapsed.Round(time.Millisecond), grace)
		if err != nil {
			t.Errorf("run: %v", err)
		}
		if elapsed > grace+time.Second {
			t.Errorf("run returned %v after the signal, past the %v grace", elapsed, grace)
		}
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("run did not return within %v of the signal during a stall", grace+10*time.Second)
	}
	if code := <-inflight; code != http.StatusServiceUnavailable {
		t.Errorf("the request in flight at the signal answered %d, want 503", code)
	}
	proxy.Restore()
}

// TestFaultUserinfo: while the database is unreachable, a valid access token is not called
// invalid (userinfo answers 503, never 401 invalid_token) and the token endpoint answers 503
// without the driver's text; both work again when it is back.
func TestFaultUserinfo(t *testing.T) {
	proxy, dbURL := proxiedDatabase(t)
	store, err := postgres.Open(t.Context(), dbURL, postgres.WithTimeout(faultDBTimeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Restore(); store.Close() })
	ts := startServer(t, store, func(c *Config) { c.Lifecycle.DBTimeout = faultDBTimeout })
	rp := registerRP(t, ts, false)
	b := newBrowser(t)
	a := rp.start()
	code := codeFrom(t, register(t, ts, b, a), a)
	tok, _, err := rp.exchange(t, code, a)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	userinfo := probe{name: "userinfo", do: func(c *http.Client) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, ts.issuer+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return c.Do(req)
	}, normal: http.StatusOK}
	refresh := probe{name: "refresh", do: func(c *http.Client) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/oauth/token", strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {"not-" + tok.RefreshToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(rp.id, rp.secret)
		return c.Do(req)
	}, normal: http.StatusBadRequest}
	// The account page of the signed-in browser, in English and in Spanish.
	account := func(lang string) probe {
		return probe{name: "account page (" + lang + ")", do: func(*http.Client) (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodGet, ts.issuer+"/account", nil)
			req.Header.Set("Accept-Language", lang)
			return b.client.Do(req)
		}, normal: http.StatusOK}
	}
	recovered(t, []probe{userinfo, refresh, account("en")}, c)
	for _, fault := range []func(){proxy.Cut, proxy.Stall} {
		fault()
		for lang, want := range map[string]string{"en": "be right back", "es": "Volvemos enseguida"} {
			p := account(lang)
			checkUnavailable(t, p, c, dbURL)
			if resp, err := p.do(c); err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(string(body), want) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("%s during an outage: %d %s, want the 503 page saying %q:\n%.800s", p.name, resp.StatusCode, resp.Header.Get("Content-Type"), want, body)
				}
			}
		}
		for _, p := range []probe{userinfo, refresh} {
			checkUnavailable(t, p, c, dbURL)
			resp, err := p.do(c)
			if err == nil {
				resp.Body.Close()
				if h := resp.Header.Get("WWW-Authenticate"); h != "" {
					t.Errorf("%s during an outage: WWW-Authenticate %q", p.name, h)
				}
			}
		}
		proxy.Restore()
		recovered(t, []probe{userinfo, refresh}, c)
	}
}
