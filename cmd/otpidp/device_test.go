package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	zitadelrp "github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/otpidp/otpidp/provider"
)

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// deviceClient registers a public client for the device grant (and refresh tokens) and returns
// it as a zitadel/oidc relying party.
func deviceClient(t *testing.T, ts *testServer) (string, zitadelrp.RelyingParty) {
	t.Helper()
	id, _, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{
		Name: "TV app", Public: true, GrantTypes: []string{provider.GrantDeviceCode, provider.GrantRefreshToken},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rp, err := zitadelrp.NewRelyingPartyOIDC(t.Context(), ts.issuer, id, "", "", []string{"openid", "profile", "offline_access"})
	if err != nil {
		t.Fatal(err)
	}
	return id, rp
}

// startDevice asks for a device authorization and checks the answer's shape.
func startDevice(t *testing.T, ts *testServer, rp zitadelrp.RelyingParty) *zoidc.DeviceAuthorizationResponse {
	t.Helper()
	resp, err := zitadelrp.DeviceAuthorization(t.Context(), []string{"openid", "profile", "offline_access"}, rp, nil)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if !userCodeRE.MatchString(resp.UserCode) || resp.VerificationURI != ts.issuer+"/device" ||
		resp.VerificationURIComplete != ts.issuer+"/device?user_code="+resp.UserCode || resp.ExpiresIn != 600 || resp.DeviceCode == "" {
		t.Fatalf("device authorization response: %+v", resp)
	}
	return resp
}

// oauthError returns the OAuth error code of err ("" when it is none).
func oauthError(err error) string {
	var e *zoidc.Error
	if errors.As(err, &e) {
		return string(e.ErrorType)
	}
	return ""
}

// poll polls the token endpoint once, as the public device client, and returns the error code.
func poll(t *testing.T, ts *testServer, clientID, deviceCode string) (int, string) {
	t.Helper()
	status, _, body := postForm(t, ts, "/oauth/token", url.Values{
		"grant_type": {provider.GrantDeviceCode}, "device_code": {deviceCode}, "client_id": {clientID},
	}, "", "")
	e, _ := body["error"].(string)
	return status, e
}

// typeCode goes to the device page as a signed-in browser and types code; it returns the page
// that answers.
func typeCode(t *testing.T, b *browser, ts *testServer, code string) response {
	t.Helper()
	return b.submit(b.get(ts.issuer+"/device"), "/device", map[string]string{"user_code": code})
}

// TestDeviceGrant: RFC 8628 through the running server with zitadel/oidc's device client:
// approve (signing in from the device page), deny, a code used twice, slow_down, expiry and a
// flood of wrong user codes.
func TestDeviceGrant(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t), func(c *Config) { c.DevicePollInterval = time.Second })
			signedIn(t, ts, registerRP(t, ts, false)) // registers the test user
			user, err := ts.store.GetUserByPhone(t.Context(), testPhone)
			if err != nil {
				t.Fatal(err)
			}
			clientID, rp := deviceClient(t, ts)

			var doc map[string]any
			if r := newBrowser(t).get(ts.issuer + "/.well-known/openid-configuration"); json.Unmarshal([]byte(r.body), &doc) != nil {
				t.Fatalf("discovery: %d %s", r.status, r.body)
			}
			grants, _ := doc["grant_types_supported"].([]any)
			if doc["device_authorization_endpoint"] != ts.issuer+"/device_authorization" || !slices.Contains(grants, any(provider.GrantDeviceCode)) {
				t.Fatalf("discovery does not advertise the device grant: %v, %v", doc["device_authorization_endpoint"], grants)
			}

			b := newBrowser(t) // not signed in yet
			t.Run("approve", func(t *testing.T) {
				resp := startDevice(t, ts, rp)
				if status, e := poll(t, ts, clientID, resp.DeviceCode); status != http.StatusBadRequest || e != "authorization_pending" {
					t.Fatalf("poll before approval: %d %q, want authorization_pending", status, e)
				}
				// verification_uri_complete pre-fills the code; typed in lower case without the
				// dash, it still matches. Not signed in, the user signs in and comes back.
				page := b.get(resp.VerificationURIComplete)
				if !strings.Contains(page.body, `value="`+resp.UserCode+`"`) {
					t.Fatalf("the device page does not pre-fill the code:\n%s", page.body)
				}
				login := b.submit(page, "/device", map[string]string{"user_code": strings.ToLower(strings.ReplaceAll(resp.UserCode, "-", ""))})
				if login.url.Path != "/login" {
					t.Fatalf("not signed in: want the login page, got %d %s", login.status, login.url)
				}
				codePage := b.submit(login, "/login", map[string]string{"phone": testPhone, "password": testPassword})
				back := b.submit(codePage, "/code", map[string]string{"code": ts.sms.lastCode(t, testPhone)})
				// Signed in, the browser goes straight on to the approval: the code is not asked again.
				if back.url.Path != "/device" || strings.Contains(back.body, `action="/device"`) {
					t.Fatalf("after signing in: want the device approval, got %d %s\n%s", back.status, back.url, back.body)
				}
				confirm := back
				if confirm.status != http.StatusOK || !strings.Contains(confirm.body, "TV app") || !strings.Contains(confirm.body, resp.UserCode) {
					t.Fatalf("confirmation page: %d\n%s", confirm.status, confirm.body)
				}
				done := b.submit(confirm, "/device/decision", map[string]string{"decision": "allow"})
				if done.status != http.StatusOK || !strings.Contains(done.body, "Device connected") {
					t.Fatalf("approve: %d\n%s", done.status, done.body)
				}
				tok, err := zitadelrp.DeviceAccessToken(t.Context(), resp.DeviceCode, time.Duration(resp.Interval)*time.Second, rp)
				if err != nil {
					t.Fatalf("device access token: %v", err)
				}
				claims, err := zitadelrp.VerifyIDToken[*zoidc.IDTokenClaims](t.Context(), tok.IDToken, rp.IDTokenVerifier())
				if err != nil {
					t.Fatalf("ID token: %v", err)
				}
				if claims.Subject != user.ID || !slices.Equal(claims.AuthenticationMethodsReferences, []string{"pwd", "sms", "mfa"}) || claims.AuthTime == 0 {
					t.Fatalf("ID token: sub %q amr %v auth_time %v", claims.Subject, claims.AuthenticationMethodsReferences, claims.AuthTime)
				}
				if tok.RefreshToken == "" || tok.AccessToken == "" {
					t.Fatal("no access or refresh token (offline_access was asked for)")
				}
				// The device code is single use.
				_, err = zitadelrp.DeviceAccessToken(t.Context(), resp.DeviceCode, time.Duration(resp.Interval)*time.Second, rp)
				if oauthError(err) != "invalid_grant" {
					t.Fatalf("device code used twice: %v, want invalid_grant", err)
				}
				// The user code is spent too.
				if again := typeCode(t, b, ts, resp.UserCode); again.status != http.StatusBadRequest || !strings.Contains(again.body, "not valid") {
					t.Fatalf("an approved user code typed again: %d", again.status)
				}
			})
			t.Run("register then approve", func(t *testing.T) {
				// A new user types the code, registers instead of signing in, saves the
				// recovery codes and lands on the device's approval.
				resp := startDevice(t, ts, rp)
				nb := newBrowser(t)
				login := nb.submit(nb.get(resp.VerificationURIComplete), "/device", map[string]string{"user_code": resp.UserCode})
				if login.url.Path != "/login" {
					t.Fatalf("not signed in: want the login page, got %d %s", login.status, login.url)
				}
				const phone = "+14155552699"
				codePage := nb.submit(nb.get(ts.issuer+"/register"), "/register", map[string]string{"name": testName, "phone": phone, "password": testPassword})
				codes := nb.submit(codePage, "/code", map[string]string{"code": ts.sms.lastCode(t, phone)})
				if codes.url.Path != "/recovery-codes" {
					t.Fatalf("after registering: want the recovery codes, got %d %s", codes.status, codes.url)
				}
				back := nb.submit(codes, "/recovery-codes", nil)
				if back.url.Path != "/device" || !strings.Contains(back.body, resp.UserCode) || !strings.Contains(back.body, `action="/device/decision"`) {
					t.Fatalf("after saving the codes: want the device approval, got %d %s", back.status, back.url)
				}
				confirm := back
				if done := nb.submit(confirm, "/device/decision", map[string]string{"decision": "allow"}); !strings.Contains(done.body, "Device connected") {
					t.Fatalf("approve: %d\n%s", done.status, done.body)
				}
				// New codes from the account page lead back to the account, even with a device
				// code left behind from a sign-in that went elsewhere.
				issuerURL, _ := url.Parse(ts.issuer)
				nb.client.Jar.SetCookies(issuerURL, []*http.Cookie{{Name: "otpidp-device", Value: strings.ReplaceAll(startDevice(t, ts, rp).UserCode, "-", ""), Path: "/"}})
				again := nb.submit(nb.get(ts.issuer+"/account"), "/account/recovery-codes", nil)
				if again.url.Path != "/recovery-codes" {
					t.Fatalf("new codes: %d %s", again.status, again.url)
				}
				if done := nb.submit(again, "/recovery-codes", nil); done.url.Path != "/account" {
					t.Fatalf("after new codes: want the account page, got %d %s", done.status, done.url)
				}
			})
			t.Run("deny", func(t *testing.T) {
				resp := startDevice(t, ts, rp)
				confirm := typeCode(t, b, ts, resp.UserCode)
				done := b.submit(confirm, "/device/decision", map[string]string{"decision": "deny"})
				if done.status != http.StatusOK || !strings.Contains(done.body, "Device not connected") {
					t.Fatalf("deny: %d\n%s", done.status, done.body)
				}
				_, err := zitadelrp.DeviceAccessToken(t.Context(), resp.DeviceCode, time.Duration(resp.Interval)*time.Second, rp)
				if oauthError(err) != "access_denied" {
					t.Fatalf("denied: %v, want access_denied", err)
				}
			})
			t.Run("refusals", func(t *testing.T) {
				resp := startDevice(t, ts, rp)
				// Without CSRF token the decision is refused.
				confirm := typeCode(t, b, ts, resp.UserCode)
				if forged := b.submit(confirm, "/device/decision", map[string]string{"decision": "allow", "csrf": "x"}); forged.status != http.StatusForbidden {
					t.Fatalf("decision with a wrong CSRF token: %d", forged.status)
				}
				// Another client cannot redeem it; an unknown device code is invalid_grant.
				otherID, _ := deviceClient(t, ts)
				if status, e := poll(t, ts, otherID, resp.DeviceCode); status != http.StatusBadRequest || e != "invalid_grant" {
					t.Fatalf("another client's device code: %d %q", status, e)
				}
				if status, e := poll(t, ts, clientID, "nope"); status != http.StatusBadRequest || e != "invalid_grant" {
					t.Fatalf("unknown device code: %d %q", status, e)
				}
				// A client not registered for the grant is refused at the endpoint.
				web := registerRP(t, ts, false)
				if status, _, body := postForm(t, ts, "/device_authorization", url.Values{"scope": {"openid"}}, web.id, web.secret); status != http.StatusBadRequest || body["error"] != "unauthorized_client" {
					t.Fatalf("client without the grant: %d %v", status, body)
				}
				if status, _, body := postForm(t, ts, "/device_authorization", url.Values{"client_id": {clientID}, "scope": {"openid admin"}}, "", ""); status != http.StatusBadRequest || body["error"] != "invalid_scope" {
					t.Fatalf("unknown scope: %d %v", status, body)
				}
				// A confidential client must authenticate.
				id, secret, err := provider.RegisterClient(t.Context(), ts.store, provider.ClientSpec{Name: "CLI", GrantTypes: []string{provider.GrantDeviceCode}}, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if status, _, body := postForm(t, ts, "/device_authorization", url.Values{"client_id": {id}}, "", ""); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
					t.Fatalf("confidential client without its secret: %d %v", status, body)
				}
				if status, _, body := postForm(t, ts, "/device_authorization", url.Values{"client_id": {id}, "client_secret": {secret}}, "", ""); status != http.StatusOK || body["device_code"] == nil {
					t.Fatalf("confidential client with client_secret_post: %d %v", status, body)
				}
			})
		})
	}
}

// TestDevicePolling: slow_down, expiry by the provider's clock and the limit on wrong user
// codes, with an interval long enough that two polls in a row are always too fast.
func TestDevicePolling(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t), func(c *Config) { c.DevicePollInterval = 2 * time.Minute })
			clientID, rp := deviceClient(t, ts)

			resp := startDevice(t, ts, rp)
			if status, e := poll(t, ts, clientID, resp.DeviceCode); e != "authorization_pending" {
				t.Fatalf("first poll: %d %q, want authorization_pending", status, e)
			}
			if status, e := poll(t, ts, clientID, resp.DeviceCode); status != http.StatusBadRequest || e != "slow_down" {
				t.Fatalf("second poll at once: %d %q, want slow_down", status, e)
			}
			ts.clock.advance(2 * time.Minute)
			if status, e := poll(t, ts, clientID, resp.DeviceCode); e != "authorization_pending" {
				t.Fatalf("poll after the interval: %d %q, want authorization_pending", status, e)
			}

			// Wrong user codes: refused, then limited per IP, even when the code is right.
			live := startDevice(t, ts, rp)
			b := newBrowser(t)
			wrong := 0
			for ; wrong < 20; wrong++ {
				r := typeCode(t, b, ts, "BBBB-BBBB")
				if r.status == http.StatusTooManyRequests {
					if r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many wrong codes") {
						t.Fatalf("limited: Retry-After %q\n%s", r.header.Get("Retry-After"), r.body)
					}
					break
				}
				if r.status != http.StatusBadRequest || !strings.Contains(r.body, "not valid") {
					t.Fatalf("wrong code %d: %d\n%s", wrong, r.status, r.body)
				}
			}
			if wrong != 10 {
				t.Fatalf("%d wrong codes were answered before the limit, want 10", wrong)
			}
			if r := typeCode(t, b, ts, live.UserCode); r.status != http.StatusTooManyRequests {
				t.Fatalf("the right code during the limit: %d, want 429", r.status)
			}

			// Expiry, by the provider's clock: the device gets expired_token.
			ts.clock.advance(10*time.Minute + time.Second)
			if status, e := poll(t, ts, clientID, live.DeviceCode); status != http.StatusBadRequest || e != "expired_token" {
				t.Fatalf("poll after expiry: %d %q, want expired_token", status, e)
			}
			// Garbage collection removes it: the device code is unknown now.
			if err := ts.store.DeleteExpiredDeviceAuthorizations(t.Context(), ts.clock.now()); err != nil {
				t.Fatal(err)
			}
			if _, e := poll(t, ts, clientID, live.DeviceCode); e != "invalid_grant" {
				t.Fatalf("poll after garbage collection: %q, want invalid_grant", e)
			}
		})
	}
}
