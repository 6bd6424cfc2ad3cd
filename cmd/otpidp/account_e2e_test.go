package main

import (
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The account page's name, the fresh sign-in that signing out another device and removing an
// app's access need (SES-08), and its dates in the page's language.

// getIn fetches u with an Accept-Language.
func (b *browser) getIn(u, lang string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Language", lang)
	return b.do(req)
}

var (
	englishDateRE = regexp.MustCompile(`(January|February|March|April|May|June|July|August|September|October|November|December) \d{1,2}, \d{4}, \d{1,2}:\d{2} (AM|PM) UTC`)
	spanishDateRE = regexp.MustCompile(`\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre) de \d{4}, \d{2}:\d{2} UTC`)
)

func TestAccountManagement(t *testing.T) {
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

			t.Run("name", func(t *testing.T) {
				acct := phone.get(ts.issuer + "/account")
				if !strings.Contains(acct.body, `name="name" type="text" autocomplete="name"`) || !strings.Contains(acct.body, `value="`+testName+`"`) {
					t.Fatalf("the account page has no name field holding the name:\n%s", acct.body)
				}
				for _, tc := range []struct{ typed, message string }{
					{"   ", "Enter your full name."},
					{strings.Repeat("x", 101), "Your name can have at most 100 characters."},
					{"Ada\x07Lovelace", "Your name contains characters that cannot be used."},
				} {
					r := phone.submit(acct, "/account/name", map[string]string{"name": tc.typed})
					if r.status != http.StatusBadRequest || !strings.Contains(r.body, tc.message) ||
						!strings.Contains(r.body, `aria-describedby="name-error"`) || !strings.Contains(r.body, "autofocus") {
						t.Errorf("name %q: %d, want 400 with %q next to the field", tc.typed, r.status, tc.message)
					}
					if strings.TrimSpace(tc.typed) != "" && !strings.Contains(r.body, html.EscapeString(tc.typed)) {
						t.Errorf("name %q: what was typed is not kept", tc.typed)
					}
					if u, _ := ts.store.GetUserByPhone(t.Context(), testPhone); u.Name != testName {
						t.Fatalf("a refused name was saved: %q", u.Name)
					}
				}
				// Without the form's token, nothing changes.
				req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/account/name", strings.NewReader("name=Mallory"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", ts.issuer)
				if r := phone.do(req); r.status != http.StatusForbidden {
					t.Fatalf("name without CSRF: %d", r.status)
				}
				// Signed out, the form sends the browser to sign in.
				if r := newBrowser(t).submit(acct, "/account/name", map[string]string{"name": "Mallory"}); r.status == http.StatusOK && r.url.Path == "/account" {
					t.Fatal("another browser changed the name")
				}

				// Saved trimmed; markup in a name renders inert; the ID token carries the new name.
				xss := `<img src=x onerror=alert(1)>`
				r := phone.submit(acct, "/account/name", map[string]string{"name": "  Grace " + xss + " "})
				if r.url.Path != "/account" || r.url.Query().Get("done") != "name" || !strings.Contains(r.body, "Your name has been saved.") {
					t.Fatalf("save name: %d %s\n%s", r.status, r.url, r.body)
				}
				if strings.Contains(r.body, xss) || !strings.Contains(r.body, html.EscapeString("Hello, Grace "+xss)) {
					t.Fatal("the name is not escaped on the account page")
				}
				if u, _ := ts.store.GetUserByPhone(t.Context(), testPhone); u.Name != "Grace "+xss {
					t.Fatalf("saved name = %q", u.Name)
				}
				a := rp.start()
				tok, _, err := rp.exchange(t, codeFrom(t, signIn(t, ts, newBrowser(t), a, testPassword), a), a)
				if err != nil {
					t.Fatal(err)
				}
				info, err := rp.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
				if err != nil {
					t.Fatal(err)
				}
				var claims struct {
					Name string `json:"name"`
				}
				if err := info.Claims(&claims); err != nil || claims.Name != "Grace "+xss {
					t.Fatalf("userinfo's name = %q (%v)", claims.Name, err)
				}
				phone.submit(acct, "/account/name", map[string]string{"name": testName})
			})

			t.Run("dates in the page's language", func(t *testing.T) {
				en := html.UnescapeString(phone.getIn(ts.issuer+"/account", "en-US").body)
				es := html.UnescapeString(phone.getIn(ts.issuer+"/account", "es-ES,es;q=0.9").body)
				// The sign-in time, each device's last activity and each app's date.
				if n := len(englishDateRE.FindAllString(en, -1)); n < 3 || spanishDateRE.MatchString(en) {
					t.Errorf("English account page: %d English dates, want at least 3, and no Spanish one", n)
				}
				if n := len(spanishDateRE.FindAllString(es, -1)); n < 3 || englishDateRE.MatchString(es) {
					t.Errorf("Spanish account page: %d Spanish dates, want at least 3, and no English one", n)
				}
				if !regexp.MustCompile(`<time datetime="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z">`).MatchString(en) {
					t.Error("the dates lack a machine-readable datetime")
				}
			})

			t.Run("signing out another device and removing an app need a fresh sign-in", func(t *testing.T) {
				laptop := newBrowser(t)
				if got := signIn(t, ts, laptop, rp.start(), testPassword); got.location == "" {
					t.Fatal("laptop sign-in failed")
				}
				laptopID := sessionID(laptop, ts.issuer)
				page := phone.get(ts.issuer + "/account")
				ts.clock.advance(11 * time.Minute)
				defer ts.clock.advance(-11 * time.Minute)

				r := phone.submit(page, "/account/sessions/end", map[string]string{"session": laptopID})
				if r.url.Path != "/login" || r.url.Query().Get("reauth") != "1" || !strings.Contains(r.body, "sign in again") {
					t.Fatalf("stale: end another device went to %s", r.url)
				}
				if got := laptop.get(ts.issuer + "/account"); got.url.Path != "/account" {
					t.Fatal("a stale session signed out another device")
				}
				r = phone.submit(page, "/account/apps/remove", map[string]string{"client": rp.id})
				if r.url.Path != "/login" || r.url.Query().Get("reauth") != "1" {
					t.Fatalf("stale: remove access went to %s", r.url)
				}
				if in := rp.introspect(t, ts, tok.AccessToken); in["active"] != true {
					t.Fatalf("a stale session removed the app's access: %v", in)
				}

				// After signing in again, both work.
				acct := phone.submit(r, "/login", map[string]string{"phone": testPhone, "password": testPassword})
				acct = phone.submit(acct, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
				if acct.url.Path != "/account" {
					t.Fatalf("after signing in again: %s", acct.url)
				}
				if r := phone.submit(acct, "/account/sessions/end", map[string]string{"session": laptopID}); r.url.Query().Get("done") != "device" {
					t.Fatalf("fresh: end another device: %s", r.url)
				}
				if got := laptop.get(ts.issuer + "/account"); got.url.Path != "/login" {
					t.Fatal("the laptop is still signed in")
				}
				if r := phone.submit(acct, "/account/apps/remove", map[string]string{"client": rp.id}); r.url.Query().Get("done") != "app" {
					t.Fatalf("fresh: remove access: %s", r.url)
				}
				if in := rp.introspect(t, ts, tok.AccessToken); in["active"] != false {
					t.Fatalf("the app's token survived: %v", in)
				}

				// Signing this device out needs no fresh sign-in: it is signing out.
				ts.clock.advance(11 * time.Minute)
				defer ts.clock.advance(-11 * time.Minute)
				page = phone.get(ts.issuer + "/account")
				if r := phone.submit(page, "/account/sessions/end", map[string]string{"session": sessionID(phone, ts.issuer)}); r.url.Path != "/logged-out" {
					t.Fatalf("stale: sign this device out: %s", r.url)
				}
			})
		})
	}
}

// sessionID is the ID of the browser's session: the first half of the SHA-256 of its cookie.
func sessionID(b *browser, issuer string) string {
	h := sha256.Sum256([]byte(sessionCookie(b, issuer)))
	return hex.EncodeToString(h[:16])
}
