package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRevocationClientAuthentication (RFC 7009 §2.1, RFC 6749 §2.3): a confidential client
// must authenticate to revoke, and every failure answers 401 invalid_client; a public client
// identifies itself with client_id alone (it has nothing else) and may revoke only its own
// tokens: a token of another client stays active.
func TestRevocationClientAuthentication(t *testing.T) {
	ts := startServer(t, stores(t)["sqlite"](t))
	rp := registerRP(t, ts, false)
	pub := registerRP(t, ts, true)
	auth := rp.start()
	tok, _, err := rp.exchange(t, codeFrom(t, register(t, ts, newBrowser(t), auth), auth), auth)
	if err != nil {
		t.Fatal(err)
	}
	revoke := func(form url.Values, basicID, basicSecret string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basicID != "" {
			req.SetBasicAuth(basicID, basicSecret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error
	}
	token := url.Values{"token": {tok.AccessToken}}
	with := func(kv ...string) url.Values {
		v := url.Values{"token": {tok.AccessToken}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, c := range []struct {
		name       string
		form       url.Values
		id, secret string
	}{
		{"wrong secret (basic)", token, rp.id, "wrong"},
		{"unknown client (basic)", token, "nobody", "x"},
		{"wrong secret (post)", with("client_id", rp.id, "client_secret", "wrong"), "", ""},
		{"no client authentication", token, "", ""},
		{"confidential client_id without its secret", with("client_id", rp.id), "", ""},
	} {
		if status, e := revoke(c.form, c.id, c.secret); status != http.StatusUnauthorized || e != "invalid_client" {
			t.Errorf("%s: %d %q, want 401 invalid_client", c.name, status, e)
		}
	}
	if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != true {
		t.Fatalf("after refused revocations the token is %v, want active", got)
	}

	// A public client revoking a token of another client: the token stays active.
	// RFC 7009 §2.1: the request is refused and the client told so (zitadel: invalid_client).
	if status, e := revoke(with("client_id", pub.id), "", ""); status != http.StatusUnauthorized || e != "invalid_client" {
		t.Errorf("public client revoking another client's token: %d %q, want 401 invalid_client", status, e)
	}
	if got := rp.introspect(t, ts, tok.AccessToken); got["active"] != true {
		t.Fatalf("a public client revoked another client's token: %v", got)
	}

	// A public client revokes its own token with client_id alone.
	pauth := pub.start()
	ptok, _, err := pub.exchange(t, codeFrom(t, signIn(t, ts, newBrowser(t), pauth, testPassword), pauth), pauth)
	if err != nil {
		t.Fatal(err)
	}
	if status, e := revoke(url.Values{"token": {ptok.AccessToken}, "client_id": {pub.id}}, "", ""); status != http.StatusOK {
		t.Fatalf("public client revoking its own token with client_id: %d %q, want 200", status, e)
	}
	if got := rp.introspect(t, ts, ptok.AccessToken); len(got) != 1 || got["active"] != false {
		t.Fatalf("after the public client revoked its token, introspection = %v, want {active:false}", got)
	}
}
