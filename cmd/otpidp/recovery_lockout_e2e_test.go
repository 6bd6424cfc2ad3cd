package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

// TestSMSFactorDisabledSignIn: an account whose SMS factor was disabled by wrong codes signs in
// with the password and a recovery code (the pages lead there, with no text sent), and that
// sign-in restores texted codes.
func TestSMSFactorDisabledSignIn(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t))
			rp := registerRP(t, ts, false)
			a := rp.start()
			_, codes := registerWithCodes(t, ts, newBrowser(t), a)
			u, err := ts.store.GetUserByPhone(t.Context(), testPhone)
			if err != nil {
				t.Fatal(err)
			}
			for range 100 { // OTPIDP_SMS_FACTOR_MAX_FAILURES' default
				if _, err := ts.store.RecordFailure(t.Context(), u.ID, auth.FactorSMS, time.Now(), time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			sent := ts.sms.count()
			b := newBrowser(t)
			a = rp.start()
			recovery := b.submit(b.get(a.url), "/login", map[string]string{"phone": testPhone, "password": testPassword})
			if recovery.status != http.StatusOK || recovery.url.Path != "/code/recovery" || !strings.Contains(recovery.body, "blocked for this account") {
				t.Fatalf("sign-in with the SMS factor disabled: %d %s\n%s", recovery.status, recovery.url, recovery.body)
			}
			if ts.sms.count() != sent {
				t.Fatal("a code was texted with the SMS factor disabled")
			}
			done := b.submit(recovery, "/code/recovery", map[string]string{"recovery_code": codes[3]})
			if _, _, err := rp.exchange(t, codeFrom(t, done, a), a); err != nil {
				t.Fatal(err)
			}
			codePage := newBrowser(t)
			page := codePage.submit(codePage.get(rp.start().url), "/login", map[string]string{"phone": testPhone, "password": testPassword})
			if page.url.Path != "/code" || ts.sms.count() != sent+1 {
				t.Fatalf("after the recovery-code sign-in, texted codes are still off: %d %s", page.status, page.url)
			}
		})
	}
}
