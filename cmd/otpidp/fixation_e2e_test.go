package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

// SES-02: the browser-binding cookie gets a new value after the password step and after the
// code (and after a reset's codes); a copy of an older value gets nothing.

func browserCookie(b *browser, issuer string) string {
	u, _ := url.Parse(issuer)
	for _, c := range b.client.Jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "otpidp-browser") {
			return c.Value
		}
	}
	return ""
}

// withBrowserCookie is a new browser holding a copy of the binding value.
func withBrowserCookie(t *testing.T, issuer, value string) *browser {
	b := newBrowser(t)
	u, _ := url.Parse(issuer)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "otpidp-browser", Value: value, Path: "/"}})
	return b
}

// forgedPost posts fields to path with a CSRF token made for the browser value the attacker
// holds, with the server's own key: an attacker who somehow beats the CSRF check still meets
// the binding.
func forgedPost(t *testing.T, ts *testServer, b *browser, path, purpose string, fields url.Values) response {
	t.Helper()
	key, err := ts.store.Secret(t.Context(), "ui-csrf-hmac", make([]byte, 32)) // exists: the server made it
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key[:32])
	m.Write([]byte(browserCookie(b, ts.issuer) + "|" + purpose))
	fields.Set("csrf", base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
	req, _ := http.NewRequest(http.MethodPost, ts.issuer+path, strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", ts.issuer)
	return b.do(req)
}

// recoveryCodesFor gives the user a new set of recovery codes.
func recoveryCodesFor(t *testing.T, ts *testServer, userID string) []string {
	t.Helper()
	a, err := auth.New(t.Context(), ts.store, &outbox{}, auth.Config{OriginHost: "localhost", DefaultRegion: "US"})
	if err != nil {
		t.Fatal(err)
	}
	codes, err := a.GenerateRecoveryCodes(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

func TestBrowserBindingRotates(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			rp := registerRP(t, ts, false)
			user := addUser(t, ts.store, testPhone, testPassword)

			t.Run("sign-in", func(t *testing.T) {
				b := newBrowser(t)
				a := rp.start()
				login := b.get(a.url)
				authRequestID := login.url.Query().Get("authRequestID")
				prePassword := browserCookie(b, ts.issuer)
				if login.url.Path != "/login" || authRequestID == "" || prePassword == "" {
					t.Fatalf("login page %s, binding %q", login.url, prePassword)
				}
				// The forged request works with the real value: the refusals below are the binding's.
				if r := forgedPost(t, ts, b, "/code", "code", url.Values{"flow": {"nope"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Please start again") {
					t.Fatalf("a forged token must pass the CSRF check (then meet the unknown flow): %d\n%s", r.status, r.body)
				}
				early := withBrowserCookie(t, ts.issuer, prePassword)

				codePage := b.submit(login, "/login", map[string]string{"phone": testPhone, "password": testPassword})
				flowID := codePage.url.Query().Get("flow")
				postPassword := browserCookie(b, ts.issuer)
				if codePage.url.Path != "/code" || postPassword == "" || postPassword == prePassword {
					t.Fatalf("after the password step: %s, binding %q (was %q): want the code page and a new value", codePage.url, postPassword, prePassword)
				}
				code := ts.sms.lastCode(t, testPhone)

				// The pre-password value gets neither the code page, nor the code step with the
				// right code, nor the login page of the request, nor the callback.
				if r := early.get(ts.issuer + "/code?flow=" + url.QueryEscape(flowID)); r.status != http.StatusBadRequest || strings.Contains(r.body, `name="code"`) {
					t.Fatalf("the code page with the pre-password value: %d", r.status)
				}
				if r := forgedPost(t, ts, early, "/code", "code", url.Values{"flow": {flowID}, "code": {code}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Please start again") || r.location != "" || sessionCookie(early, ts.issuer) != "" {
					t.Fatalf("the code step with the pre-password value: %d %s", r.status, r.location)
				}
				if r := forgedPost(t, ts, early, "/code/recovery", "code", url.Values{"flow": {flowID}, "recovery_code": {"0000-0000-0000-0000"}}); r.status != http.StatusBadRequest {
					t.Fatalf("the recovery-code step with the pre-password value: %d", r.status)
				}
				if r := early.get(ts.issuer + "/login?authRequestID=" + url.QueryEscape(authRequestID)); r.status != http.StatusBadRequest || !strings.Contains(r.body, "another browser") {
					t.Fatalf("the request's login page with the pre-password value: %d\n%s", r.status, r.body)
				}
				postCode := withBrowserCookie(t, ts.issuer, postPassword)

				// The real browser finishes with the same code: the attempts above spent nothing.
				done := b.submit(codePage, "/code", map[string]string{"code": code})
				authCode := codeFrom(t, done, a)
				afterCode := browserCookie(b, ts.issuer)
				if afterCode == "" || afterCode == postPassword || afterCode == prePassword {
					t.Fatalf("after the code the binding is %q, want a third value", afterCode)
				}
				if _, _, err := rp.exchange(t, authCode, a); err != nil {
					t.Fatalf("the real browser's code: %v", err)
				}

				// Neither older value reaches the callback (which would issue another code).
				callback := ts.issuer + "/authorize/callback?id=" + url.QueryEscape(authRequestID)
				for what, old := range map[string]*browser{"pre-password": early, "post-password": postCode} {
					r := old.get(callback)
					if r.location != "" || r.status != http.StatusBadRequest || !strings.Contains(r.body, "another browser") {
						t.Errorf("the callback with the %s value: %d %q", what, r.status, r.location)
					}
					if r := old.get(ts.issuer + "/account"); r.url.Path != "/login" {
						t.Errorf("the %s value reaches %s", what, r.url)
					}
				}
			})

			t.Run("recovery-code only", func(t *testing.T) {
				// The SMS factor is disabled by wrong codes: after the password only a recovery
				// code can finish, and the password step still rotates the binding (issue 9).
				ts := startServer(t, open(t), func(c *Config) { c.Abuse.Auth.SMSFactorMaxFailures = 1 })
				rp := registerRP(t, ts, false)
				user := addUser(t, ts.store, testPhone, testPassword)
				codes := recoveryCodesFor(t, ts, user.ID)
				if _, err := ts.store.RecordFailure(t.Context(), user.ID, auth.FactorSMS, ts.clock.now(), time.Time{}); err != nil {
					t.Fatal(err)
				}
				b := newBrowser(t)
				a := rp.start()
				login := b.get(a.url)
				prePassword := browserCookie(b, ts.issuer)
				recovery := b.submit(login, "/login", map[string]string{"phone": testPhone, "password": testPassword})
				flowID := recovery.url.Query().Get("flow")
				postPassword := browserCookie(b, ts.issuer)
				if recovery.url.Path != "/code/recovery" || flowID == "" || postPassword == "" || postPassword == prePassword {
					t.Fatalf("after the password step: %s, binding %q (was %q): want the recovery page and a new value", recovery.url, postPassword, prePassword)
				}
				early := withBrowserCookie(t, ts.issuer, prePassword)
				if r := forgedPost(t, ts, early, "/code/recovery", "code", url.Values{"flow": {flowID}, "recovery_code": {codes[0]}}); r.status != http.StatusBadRequest || r.location != "" || sessionCookie(early, ts.issuer) != "" {
					t.Fatalf("the recovery step with the pre-password value: %d %s", r.status, r.location)
				}
				done := b.submit(recovery, "/code/recovery", map[string]string{"recovery_code": codes[0]})
				if _, _, err := rp.exchange(t, codeFrom(t, done, a), a); err != nil {
					t.Fatalf("the real browser's recovery code: %v", err)
				}
				if after := browserCookie(b, ts.issuer); after == "" || after == postPassword {
					t.Fatalf("after the recovery code the binding is %q, want a third value", after)
				}
			})

			t.Run("reset", func(t *testing.T) {
				b := newBrowser(t)
				verify := startReset(t, ts, b, testPhone)
				flowID := verify.url.Query().Get("flow")
				preVerify := browserCookie(b, ts.issuer)
				early := withBrowserCookie(t, ts.issuer, preVerify)
				codes := recoveryCodesFor(t, ts, user.ID)
				pw := b.submit(verify, "/forgot/verify", map[string]string{"code": ts.sms.lastCode(t, testPhone), "recovery_code": codes[0]})
				if pw.url.Path != "/forgot/password" || browserCookie(b, ts.issuer) == preVerify {
					t.Fatalf("after the reset's codes: %s, binding unchanged: %v", pw.url, browserCookie(b, ts.issuer) == preVerify)
				}
				// The pre-verify value can neither see nor post the new password.
				if r := early.get(ts.issuer + "/forgot/password?flow=" + url.QueryEscape(flowID)); r.status != http.StatusBadRequest || strings.Contains(r.body, `name="password"`) {
					t.Fatalf("the new-password page with the pre-verify value: %d", r.status)
				}
				stolen := "a stolen passphrase for sure"
				if r := forgedPost(t, ts, early, "/forgot/password", "reset", url.Values{"flow": {flowID}, "password": {stolen}, "password_confirm": {stolen}}); r.status != http.StatusBadRequest || r.url.Path == "/login" {
					t.Fatalf("the new password with the pre-verify value: %d %s", r.status, r.url)
				}
				if got := signIn(t, ts, newBrowser(t), rp.start(), stolen); got.location != "" {
					t.Fatal("the pre-verify value set the password")
				}
				// The real browser still sets it.
				next := "the real owner's new passphrase"
				if r := b.submit(pw, "/forgot/password", map[string]string{"password": next, "password_confirm": next}); r.url.Path != "/login" {
					t.Fatalf("the real browser's new password: %d %s\n%s", r.status, r.url, r.body)
				}
				if got := signIn(t, ts, newBrowser(t), rp.start(), next); got.location == "" {
					t.Fatal("the new password does not sign in")
				}
			})
		})
	}
}
