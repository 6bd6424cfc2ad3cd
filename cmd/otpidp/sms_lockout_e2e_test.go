package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/sms/twiliotest"
)

// noTextNotice is the code page's words when no text was sent.
const noTextNotice = "We could not text you a code this time, so no text was sent."

// TestResetsDoNotSpendSignInTexts: five "Forgot your password?" for a victim's number from one
// address (which needs no account) spend that number's reset budget under the default limits;
// the victim, with the right password, still gets a texted code and signs in.
func TestResetsDoNotSpendSignInTexts(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t), func(c *Config) { c.Abuse = AbuseConfig{} }) // the defaults
			addUser(t, ts.store, testPhone, testPassword)
			rp := registerRP(t, ts, false)
			attacker := newBrowser(t)
			for range 5 {
				startReset(t, ts, attacker, testPhone)
			}
			sixth := attacker.submit(attacker.get(ts.issuer+"/forgot"), "/forgot", map[string]string{"phone": testPhone})
			if sixth.status != http.StatusTooManyRequests {
				t.Fatalf("sixth reset: %d %s, want 429 (the reset budget)", sixth.status, sixth.url)
			}
			sent := ts.sms.count()
			b := newBrowser(t)
			a := rp.start()
			codePage := b.submit(b.get(a.url), "/login", map[string]string{"phone": testPhone, "password": testPassword})
			if codePage.url.Path != "/code" || strings.Contains(codePage.body, noTextNotice) {
				t.Fatalf("the victim's sign-in: %d %s\n%s", codePage.status, codePage.url, codePage.body)
			}
			if ts.sms.count() != sent+1 {
				t.Fatalf("the victim got %d texts, want 1", ts.sms.count()-sent)
			}
			done := b.submit(codePage, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
			if _, _, err := rp.exchange(t, codeFrom(t, done, a), a); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRefusedTextsKeepTheRecoveryPath: when the sign-in text is refused (the operator's pause,
// the sign-in budget, the global budget, Twilio answering 500), the right password still leads
// to the code step, which says that no text was sent, and a recovery code signs the user in.
func TestRefusedTextsKeepTheRecoveryPath(t *testing.T) {
	for name, open := range stores(t) {
		for _, r := range []struct {
			name string
			edit func(*Config)
			// refuse makes the next sign-in text fail; signIn signs in once first.
			refuse func(t *testing.T, ts *testServer)
			signIn bool
			twilio bool
		}{
			{name: "sms pause", refuse: func(t *testing.T, ts *testServer) {
				if err := ts.store.SetSwitch(t.Context(), auth.SwitchSMSPaused, true, time.Now()); err != nil {
					t.Fatal(err)
				}
			}},
			{name: "sign-in budget", edit: func(c *Config) { c.Abuse.Auth.SMSSignInPhoneHourly = auth.Rate{Max: 1, Per: time.Hour} }, signIn: true},
			{name: "global budget", edit: func(c *Config) { c.Abuse.Auth.SMSGlobalHourly = auth.Rate{Max: 1, Per: time.Hour} }, signIn: true},
			{name: "twilio 500", twilio: true},
		} {
			t.Run(name+"/"+r.name, func(t *testing.T) {
				var ts *testServer
				var fake *twiliotest.Server
				if r.twilio {
					s := startTwilioServer(t, open(t), smsTwilio)
					ts, fake = s.testServer, s.fake
				} else {
					ts = startServer(t, open(t), func(c *Config) {
						if r.edit != nil {
							r.edit(c)
						}
					})
				}
				u := addUser(t, ts.store, testPhone, testPassword)
				codes := recoveryCodesFor(t, ts, u.ID)
				rp := registerRP(t, ts, false)
				if r.signIn {
					b := newBrowser(t)
					a := rp.start()
					codePage := b.submit(b.get(a.url), "/login", map[string]string{"phone": testPhone, "password": testPassword})
					if codePage.url.Path != "/code" || strings.Contains(codePage.body, noTextNotice) {
						t.Fatalf("first sign-in: %d %s", codePage.status, codePage.url)
					}
				}
				if r.refuse != nil {
					r.refuse(t, ts)
				}
				if fake != nil {
					fake.FailAlways(twiliotest.ServerError)
				}

				b := newBrowser(t)
				a := rp.start()
				wrong := b.submit(b.get(a.url), "/login", map[string]string{"phone": testPhone, "password": "not the password"})
				if wrong.url.Path != "/login" || wrong.status != http.StatusUnauthorized {
					t.Fatalf("a wrong password: %d %s", wrong.status, wrong.url)
				}
				codePage := b.submit(wrong, "/login", map[string]string{"phone": testPhone, "password": testPassword})
				if codePage.status != http.StatusOK || codePage.url.Path != "/code" || !strings.Contains(codePage.body, noTextNotice) ||
					strings.Contains(codePage.body, "We sent a 6-digit code") || !strings.Contains(codePage.body, "/code/recovery?flow=") {
					t.Fatalf("the right password with the text refused: %d %s\n%s", codePage.status, codePage.url, codePage.body)
				}
				recovery := b.get(ts.issuer + "/code/recovery?flow=" + codePage.url.Query().Get("flow"))
				done := b.submit(recovery, "/code/recovery", map[string]string{"recovery_code": codes[0]})
				_, idt, err := rp.exchange(t, codeFrom(t, done, a), a)
				if err != nil {
					t.Fatal(err)
				}
				var claims idClaims
				if err := idt.Claims(&claims); err != nil || !strings.Contains(strings.Join(claims.AMR, " "), "otp") {
					t.Fatalf("claims %+v, %v", claims, err)
				}
			})
		}
	}
}
