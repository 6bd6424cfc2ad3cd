package main

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoThroughRun is the newcomer's path: `otpidp` started through run (configuration, store,
// migrations, serve) with codes printed to the console; the demo app, a relying party built on
// zitadel/oidc's rp package, signs in through the redirect flow with PKCE, and shows the ID
// token's claims and the userinfo answer. The code is read from the console line.
func TestDemoThroughRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	issuer := "http://" + addr
	env := map[string]string{
		"OTPIDP_ISSUER":       issuer,
		"OTPIDP_ADDR":         addr,
		"OTPIDP_DATABASE_URL": "sqlite:" + t.TempDir() + "/demo.db",
		"OTPIDP_ADMIN_ADDR":   "127.0.0.1:0", // not the default 9090: tests run side by side
	}
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"otpidp"}, func(k string) string { return env[k] }, strings.NewReader(""), stdout, stderr)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not stop after its context ended")
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(issuer + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("otpidp did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	b := newBrowser(t)
	login := b.get(issuer + "/demo/login")
	if login.url.Path != "/login" || !strings.Contains(login.body, "otpidp demo app") {
		t.Fatalf("demo sign-in did not reach the login page: %d %s", login.status, login.url)
	}
	reg := b.get(issuer + "/register?" + login.url.RawQuery)
	codePage := b.submit(reg, "/register", map[string]string{"name": "Grace Hopper", "phone": "+1 415 555 2671", "password": "a long and unusual passphrase"})
	if codePage.url.Path != "/code" {
		t.Fatalf("register: %d %s\n%s", codePage.status, codePage.url, codePage.body)
	}
	m := regexp.MustCompile(`SMS to \+1•+71: ".*#(\d{6})"`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no console SMS line with a code in:\n%s", stdout.String())
	}
	codes := b.submit(codePage, "/code", map[string]string{"code": m[1]})
	if codes.url.Path != "/recovery-codes" {
		t.Fatalf("after the code: %d %s, want the recovery codes", codes.status, codes.url)
	}
	result := b.submit(codes, "/recovery-codes", nil)
	if result.status != http.StatusOK || result.url.Path != "/demo/callback" {
		t.Fatalf("after the code: %d %s\n%s", result.status, result.url, result.body)
	}
	for _, want := range []string{"Signed in", "&#34;amr&#34;", "&#34;pwd&#34;", "&#34;sms&#34;", "Grace Hopper", "&#43;14155552671", "Refresh token issued: true"} {
		if !strings.Contains(result.body, want) {
			t.Errorf("the demo page lacks %q:\n%s", want, result.body)
		}
	}
	// Its sign-out link ends the session and comes back to the demo.
	link := regexp.MustCompile(`href="([^"]*end_session[^"]*)"`).FindStringSubmatch(result.body)
	if link == nil {
		t.Fatal("no sign-out link")
	}
	out := b.get(strings.ReplaceAll(link[1], "&amp;", "&"))
	if out.url.Path != "/demo" || out.status != http.StatusOK {
		t.Fatalf("sign-out: %d %s", out.status, out.url)
	}
	if again := b.get(issuer + "/demo/login"); again.url.Path != "/login" {
		t.Fatalf("after sign-out the demo must ask to sign in again, got %s", again.url)
	}
	if strings.Contains(stderr.String(), "4155552671") || strings.Contains(stderr.String(), m[1]) {
		t.Error("the log holds the phone number or the code")
	}
}
