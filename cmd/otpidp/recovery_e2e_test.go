package main

import (
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// End-to-end tests of recovery codes, password reset and the account page, over HTTP with the
// relying party of e2e_test.go. The browser test covers the same paths in Chromium; these cover
// the refusals.

var plainCodeRE = regexp.MustCompile(`<code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>`)

// registerWithCodes registers the test user through the relying party and returns the
// response that reaches the relying party and the recovery codes shown on the way.
func registerWithCodes(t *testing.T, ts *testServer, b *browser, a authorization) (response, []string) {
	t.Helper()
	login := b.get(a.url)
	reg := b.get(login.url.ResolveReference(&url.URL{Path: "/register", RawQuery: login.url.RawQuery}).String())
	codePage := b.submit(reg, "/register", map[string]string{"name": testName, "phone": "(415) 555-2671", "password": testPassword})
	page := b.submit(codePage, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
	var codes []string
	for _, m := range plainCodeRE.FindAllStringSubmatch(page.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10:\n%s", len(codes), page.body)
	}
	return b.submit(page, "/recovery-codes", nil), codes
}

func sessionCookie(b *browser, issuer string) string {
	u, _ := url.Parse(issuer)
	for _, c := range b.client.Jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "otpidp-session") {
			return c.Value
		}
	}
	return ""
}

// startReset goes from /forgot to the verify page for phone.
func startReset(t *testing.T, ts *testServer, b *browser, phone string) response {
	t.Helper()
	page := b.submit(b.get(ts.issuer+"/forgot"), "/forgot", map[string]string{"phone": phone})
	if page.status != http.StatusOK || page.url.Path != "/forgot/verify" {
		t.Fatalf("forgot: %d %s\n%s", page.status, page.url, page.body)
	}
	return page
}

var volatileRE = regexp.MustCompile(`(value|nonce|href)="[^"]*"|(&#43;|\+)1 •+ •+ \d{4}`)

func TestRecoveryAndReset(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			rp := registerRP(t, ts, false)
			b := newBrowser(t)
			a := rp.start()
			done, codes := registerWithCodes(t, ts, b, a)
			tok, _, err := rp.exchange(t, codeFrom(t, done, a), a)
			if err != nil {
				t.Fatal(err)
			}

			t.Run("recovery code sign-in", func(t *testing.T) {
				b := newBrowser(t)
				a := rp.start()
				codePage := b.submit(b.get(a.url), "/login", map[string]string{"phone": testPhone, "password": testPassword})
				recovery := b.get(ts.issuer + "/code/recovery?flow=" + codePage.url.Query().Get("flow"))
				wrong := b.submit(recovery, "/code/recovery", map[string]string{"recovery_code": "0000-0000-0000-0000"})
				if wrong.status != http.StatusBadRequest || !strings.Contains(wrong.body, "recovery code isn&#39;t right") || !strings.Contains(wrong.body, `aria-invalid="true" aria-describedby="recovery_code-error" autofocus`) {
					t.Fatalf("wrong recovery code: %d\n%s", wrong.status, wrong.body)
				}
				ok := b.submit(recovery, "/code/recovery", map[string]string{"recovery_code": strings.ToLower(codes[0])})
				_, idt, err := rp.exchange(t, codeFrom(t, ok, a), a)
				if err != nil {
					t.Fatal(err)
				}
				var c idClaims
				_ = idt.Claims(&c)
				if strings.Join(c.AMR, ",") != "pwd,otp,mfa" {
					t.Fatalf("amr = %v, want pwd,otp,mfa", c.AMR)
				}
				// Spent: the same code fails in the next sign-in.
				b2 := newBrowser(t)
				codePage = b2.submit(b2.get(rp.start().url), "/login", map[string]string{"phone": testPhone, "password": testPassword})
				again := b2.submit(b2.get(ts.issuer+"/code/recovery?flow="+codePage.url.Query().Get("flow")), "/code/recovery", map[string]string{"recovery_code": codes[0]})
				if again.status != http.StatusBadRequest || again.location != "" {
					t.Fatalf("a spent recovery code: %d %q", again.status, again.location)
				}
			})

			t.Run("reset answers alike for unknown numbers", func(t *testing.T) {
				sent := ts.sms.count()
				known := startReset(t, ts, newBrowser(t), testPhone)
				if ts.sms.count() != sent+1 {
					t.Fatal("no code sent to a registered number")
				}
				unknown := startReset(t, ts, newBrowser(t), "+14155550199")
				// One text each: a code, or a notice that no account uses the number (RST-01).
				if ts.sms.count() != sent+2 || strings.Contains(ts.sms.msgs[len(ts.sms.msgs)-1].Body, "#") {
					t.Fatal("the number without an account did not get one notice without a code")
				}
				if k, u := volatileRE.ReplaceAllString(known.body, ""), volatileRE.ReplaceAllString(unknown.body, ""); k != u {
					t.Fatalf("the pages differ:\n%s\n----\n%s", k, u)
				}
			})

			t.Run("reset refusals", func(t *testing.T) {
				b := newBrowser(t)
				verify := startReset(t, ts, b, testPhone)
				code := ts.sms.lastCode(t, testPhone)
				// A wrong texted code: one answer for both codes.
				if r := b.submit(verify, "/forgot/verify", map[string]string{"code": "000000", "recovery_code": codes[1]}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Those codes aren&#39;t right") {
					t.Fatalf("a wrong texted code: %d\n%s", r.status, r.body)
				}
				// The right texted code with no or a wrong recovery code: the texted code is kept
				// (sealed in the form cookie, never shown) and only the recovery code is asked again.
				for _, fields := range []map[string]string{
					{"code": code}, // no recovery code
					{"code": code, "recovery_code": "0000-0000-0000-0000"}, // a wrong one
				} {
					r := b.submit(verify, "/forgot/verify", fields)
					if r.status != http.StatusBadRequest || !strings.Contains(r.body, "recovery code isn&#39;t right") ||
						strings.Contains(r.body, `name="code"`) || strings.Contains(r.body, code) {
						t.Fatalf("%v: %d\n%s", fields, r.status, r.body)
					}
				}
				// Another browser cannot use the flow, nor reach its password step.
				other := newBrowser(t)
				if r := other.submit(verify, "/forgot/verify", map[string]string{"code": code, "recovery_code": codes[1]}); r.status != http.StatusForbidden && r.status != http.StatusBadRequest {
					t.Fatalf("another browser's verify: %d", r.status)
				}
				flow := verify.url.Query().Get("flow")
				if r := b.get(ts.issuer + "/forgot/password?flow=" + flow); r.status != http.StatusBadRequest {
					t.Fatalf("the password step before the codes: %d", r.status)
				}
			})

			t.Run("reset ends sessions and tokens, no automatic sign-in", func(t *testing.T) {
				before := sessionCookie(b, ts.issuer)
				if before == "" {
					t.Fatal("the registering browser has no session")
				}
				r := newBrowser(t)
				verify := startReset(t, ts, r, testPhone)
				pw := r.submit(verify, "/forgot/verify", map[string]string{"code": ts.sms.lastCode(t, testPhone), "recovery_code": codes[2]})
				if pw.url.Path != "/forgot/password" {
					t.Fatalf("verify: %d %s\n%s", pw.status, pw.url, pw.body)
				}
				mismatch := r.submit(pw, "/forgot/password", map[string]string{"password": "a brand new passphrase", "password_confirm": "a brand new passphrasE"})
				if mismatch.status != http.StatusBadRequest || !strings.Contains(mismatch.body, "The two passwords are different") || strings.Contains(mismatch.body, "a brand new passphrase") {
					t.Fatalf("mismatch: %d\n%s", mismatch.status, mismatch.body)
				}
				short := r.submit(pw, "/forgot/password", map[string]string{"password": "short", "password_confirm": "short"})
				if short.status != http.StatusBadRequest || !strings.Contains(short.body, "at least 8 characters") {
					t.Fatalf("short: %d", short.status)
				}
				end := r.submit(pw, "/forgot/password", map[string]string{"password": "a brand new passphrase", "password_confirm": "a brand new passphrase"})
				if end.url.Path != "/login" || end.url.Query().Get("reset") != "1" || sessionCookie(r, ts.issuer) != "" {
					t.Fatalf("after the reset: %s, session cookie %q: it must be the sign-in page, signed out", end.url, sessionCookie(r, ts.issuer))
				}
				// The registering browser's session has ended, and so have the app's tokens.
				if acct := b.get(ts.issuer + "/account"); acct.url.Path != "/login" {
					t.Fatalf("the old session still reaches %s", acct.url)
				}
				if in := rp.introspect(t, ts, tok.AccessToken); in["active"] != false {
					t.Fatalf("the access token survived the reset: %v", in)
				}
				expired := *tok
				expired.Expiry = time.Now().Add(-time.Hour)
				if _, err := rp.oauth.TokenSource(t.Context(), &expired).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
					t.Fatalf("the refresh token survived the reset: %v", err)
				}
				// The new password signs in, with a code.
				if got := signIn(t, ts, newBrowser(t), rp.start(), "a brand new passphrase"); got.location == "" {
					t.Fatalf("sign-in with the new password: %d %s", got.status, got.url)
				}
			})
		})
	}
}

func TestAccountPage(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			rp := registerRP(t, ts, false)
			phone := newBrowser(t)
			a := rp.start()
			done, _ := registerWithCodes(t, ts, phone, a)
			tok, _, err := rp.exchange(t, codeFrom(t, done, a), a)
			if err != nil {
				t.Fatal(err)
			}
			// A second device signs in; the session value changes at every sign-in.
			laptop := newBrowser(t)
			first := sessionCookie(phone, ts.issuer)
			signIn(t, ts, laptop, rp.start(), testPassword)
			if sessionCookie(laptop, ts.issuer) == "" || sessionCookie(laptop, ts.issuer) == first {
				t.Fatal("the second device has no session of its own")
			}

			acct := phone.get(ts.issuer + "/account")
			body := html.UnescapeString(acct.body)
			for _, want := range []string{"Hello, " + testName, "+1 ••• ••• 2671", "Test app", "10 of 10 recovery codes"} {
				if !strings.Contains(body, want) {
					t.Errorf("the account page lacks %q", want)
				}
			}
			if strings.Contains(acct.body, "4155552671") {
				t.Error("the account page shows the full number")
			}

			t.Run("change password needs the current one", func(t *testing.T) {
				r := phone.submit(acct, "/account/password", map[string]string{"current_password": "not it at all", "password": "another passphrase here", "password_confirm": "another passphrase here"})
				if r.status != http.StatusForbidden || !strings.Contains(r.body, "That is not your current password") {
					t.Fatalf("wrong current password: %d", r.status)
				}
				if got := signIn(t, ts, newBrowser(t), rp.start(), testPassword); got.location == "" {
					t.Fatal("the password changed after a refused change")
				}
			})

			t.Run("sign out another device", func(t *testing.T) {
				// A session's ID is the first half of the SHA-256 of its cookie value.
				h := sha256.Sum256([]byte(sessionCookie(laptop, ts.issuer)))
				laptopID := hex.EncodeToString(h[:16])
				page := phone.get(ts.issuer + "/account")
				if !strings.Contains(page.body, `name="session" value="`+laptopID+`"`) {
					t.Fatalf("the laptop's session is not listed:\n%s", page.body)
				}
				// A session ID that is not the user's changes nothing.
				other := newBrowser(t)
				signIn(t, ts, other, rp.start(), testPassword)
				if r := other.submit(other.get(ts.issuer+"/account"), "/account/sessions/end", map[string]string{"session": "00"}); r.url.Path != "/account" {
					t.Fatalf("unknown session id: %d %s", r.status, r.url)
				}
				r := phone.submit(page, "/account/sessions/end", map[string]string{"session": laptopID})
				if r.url.Path != "/account" || !strings.Contains(r.body, "That device has been signed out") || strings.Contains(r.body, laptopID) {
					t.Fatalf("end device: %s\n%s", r.url, r.body)
				}
				if got := laptop.get(ts.issuer + "/account"); got.url.Path != "/login" {
					t.Fatalf("the signed-out laptop still reaches %s", got.url)
				}
				if got := phone.get(ts.issuer + "/account"); got.url.Path != "/account" {
					t.Fatal("the phone was signed out too")
				}
			})

			t.Run("remove an app's access", func(t *testing.T) {
				b := newBrowser(t)
				got := signIn(t, ts, b, rp.start(), testPassword)
				if got.location == "" {
					t.Fatal("sign-in failed")
				}
				page := b.get(ts.issuer + "/account")
				r := b.submit(page, "/account/apps/remove", map[string]string{"client": rp.id})
				if r.url.Path != "/account" || !strings.Contains(r.body, "Access removed") || strings.Contains(r.body, "Test app") {
					t.Fatalf("remove access: %s\n%s", r.url, r.body)
				}
				if in := rp.introspect(t, ts, tok.AccessToken); in["active"] != false {
					t.Fatalf("the app's token survived: %v", in)
				}
				// Without the form's token, nothing happens.
				req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/account/apps/remove", strings.NewReader("client="+rp.id))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", ts.issuer)
				if r := b.do(req); r.status != http.StatusForbidden {
					t.Fatalf("remove access without CSRF: %d", r.status)
				}
			})

			t.Run("a new session after the password step and after the code", func(t *testing.T) {
				b := newBrowser(t)
				signIn(t, ts, b, rp.start(), testPassword)
				before := sessionCookie(b, ts.issuer)
				stolen := newBrowser(t) // a copy of the old cookie
				u, _ := url.Parse(ts.issuer)
				stolen.client.Jar.SetCookies(u, []*http.Cookie{{Name: "otpidp-session", Value: before, Path: "/"}})
				if got := stolen.get(ts.issuer + "/account"); got.url.Path != "/account" {
					t.Fatal("the copied cookie does not work to begin with")
				}
				a := rp.start(oauth2.SetAuthURLParam("prompt", "login"))
				codePage := b.submit(b.get(a.url), "/login", map[string]string{"phone": testPhone, "password": testPassword})
				if codePage.url.Path != "/code" || sessionCookie(b, ts.issuer) != "" {
					t.Fatalf("after the password step: %s, session cookie %q; want the code page and no session", codePage.url, sessionCookie(b, ts.issuer))
				}
				if got := stolen.get(ts.issuer + "/account"); got.url.Path != "/login" {
					t.Fatal("the old session survived the password step of a new sign-in")
				}
				// Half-way, the browser is not signed in.
				if got := b.get(ts.issuer + "/account"); got.url.Path != "/login" {
					t.Fatal("a half-finished sign-in reaches the account page")
				}
				done := b.submit(codePage, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
				codeFrom(t, done, a)
				if after := sessionCookie(b, ts.issuer); after == "" || after == before {
					t.Fatalf("the session value after the code = %q, want a new one", after)
				}
			})

			t.Run("new recovery codes need a fresh sign-in", func(t *testing.T) {
				b := newBrowser(t)
				signIn(t, ts, b, rp.start(), testPassword)
				ts.clock.advance(11 * time.Minute)
				defer ts.clock.advance(-11 * time.Minute)
				r := b.submit(b.get(ts.issuer+"/account"), "/account/recovery-codes", nil)
				if r.url.Path != "/login" || r.url.Query().Get("reauth") != "1" || !strings.Contains(r.body, "sign in again") {
					t.Fatalf("stale session: %s", r.url)
				}
				codes := b.submit(r, "/login", map[string]string{"phone": testPhone, "password": testPassword})
				acct := b.submit(codes, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
				fresh := b.submit(acct, "/account/recovery-codes", nil)
				if fresh.url.Path != "/recovery-codes" || len(plainCodeRE.FindAllString(fresh.body, -1)) != 10 {
					t.Fatalf("fresh session: %s\n%s", fresh.url, fresh.body)
				}
				text := b.get(ts.issuer + "/recovery-codes.txt")
				if text.header.Get("Content-Disposition") == "" || len(regexp.MustCompile(`(?m)^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$`).FindAllString(text.body, -1)) != 10 {
					t.Fatalf("download: %v\n%s", text.header, text.body)
				}
				after := b.submit(fresh, "/recovery-codes", nil)
				if after.url.Path != "/account" || !strings.Contains(after.body, "10 of 10") {
					t.Fatalf("after the new codes: %s", after.url)
				}
				if again := b.get(ts.issuer + "/recovery-codes.txt"); plainCodeRE.MatchString(again.body) || strings.Contains(again.body, "-") && regexp.MustCompile(`[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}`).MatchString(again.body) {
					t.Fatal("the codes can be downloaded again")
				}
			})
		})
	}
}
