package main

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// TestAuditCarriesUsers: token events (issued, refreshed, revoked) carry the user and the
// client, and signing a device out or removing an app from the account page is recorded.
func TestAuditCarriesUsers(t *testing.T) {
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
			u, err := ts.store.GetUserByPhone(t.Context(), testPhone)
			if err != nil {
				t.Fatal(err)
			}
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Hour)
			refreshed, err := rp.oauth.TokenSource(t.Context(), &expired).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			rp.revoke(t, ts, refreshed.AccessToken, "access_token")

			laptop := newBrowser(t)
			signIn(t, ts, laptop, rp.start(), testPassword)
			h := sha256.Sum256([]byte(sessionCookie(laptop, ts.issuer)))
			page := phone.get(ts.issuer + "/account")
			phone.submit(page, "/account/sessions/end", map[string]string{"session": hex.EncodeToString(h[:16])})
			phone.submit(phone.get(ts.issuer+"/account"), "/account/apps/remove", map[string]string{"client": rp.id})
			rp.revoke(t, ts, refreshed.RefreshToken, "refresh_token")

			events, err := ts.store.ListAudit(t.Context(), storage.AuditQuery{UserID: u.ID})
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, e := range events {
				count[e.Event]++
				if slices.Contains([]string{"token.issued", "token.refreshed", "token.revoked", "app.removed"}, e.Event) && e.ClientID != rp.id {
					t.Errorf("%s without its client: %+v", e.Event, e)
				}
				if e.IP == "" || e.RequestID == "" {
					t.Errorf("%s without IP or request ID: %+v", e.Event, e)
				}
			}
			// Two sign-ins (registration, laptop) issue tokens; one refresh; two revocations.
			for event, want := range map[string]int{"token.issued": 1, "token.refreshed": 1, "token.revoked": 2, "session.ended": 1, "app.removed": 1} {
				if count[event] != want {
					t.Errorf("%d %s events for the user, want %d (all: %v)", count[event], event, want, count)
				}
			}
		})
	}
}
