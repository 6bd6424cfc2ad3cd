package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// testLogoutValidator stands for the provider's: client "app" with the post-logout redirect
// URI https://app.example/bye; an id_token_hint "sub:ID" names user ID.
func testLogoutValidator(r *http.Request) (LogoutRequest, error) {
	var out LogoutRequest
	if h := r.Form.Get("id_token_hint"); h != "" {
		if !strings.HasPrefix(h, "sub:") {
			return out, errors.New("bad hint")
		}
		out.Subject = strings.TrimPrefix(h, "sub:")
	}
	if c := r.Form.Get("client_id"); c != "" {
		if c != "app" {
			return out, errors.New("unknown client")
		}
		out.ClientName = "The App"
	}
	if p := r.Form.Get("post_logout_redirect_uri"); p != "" {
		if p != "https://app.example/bye" || r.Form.Get("client_id") == "" {
			return out, errors.New("not registered")
		}
		out.RedirectURI = p + "?state=" + url.QueryEscape(r.Form.Get("state"))
	}
	return out, nil
}

// TestEndSessionPostRedirects (issue 13): a relying party's POST to end_session answers 303 to
// a GET that carries none of the request's parameters; that GET, served by the other instance,
// asks the signed-in person to confirm (in the request's ui_locales) and survives a reload;
// confirming signs out and sends the browser to the registered post_logout_redirect_uri with
// state. Signed out, the same POST goes straight there through the GET.
func TestEndSessionPostRedirects(t *testing.T) {
	srv, c, statuses, box := twoInstancesBox(t)
	// Sign up (and so in).
	_, page := get(t, c, srv.URL+"/register")
	resp, page := submit(t, c, srv.URL, page, "/register", url.Values{"name": {"Ada"}, "phone": {"(415) 555-2671"}, "password": {"correct horse battery staple"}})
	if resp.Request.URL.Path != "/code" {
		t.Fatalf("register: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	_, page = submit(t, c, srv.URL, page, "/code", url.Values{"code": {box.lastCode(t)}})
	if resp, _ = submit(t, c, srv.URL, page, "/recovery-codes", nil); resp.Request.URL.Path != "/account" {
		t.Fatalf("not signed in: %s", resp.Request.URL)
	}
	rpPost := func() (*http.Response, string) {
		form := url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {"https://app.example/bye"}, "state": {"st8"}, "ui_locales": {"es"}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/end_session", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://app.example")
		*statuses = nil
		return do(t, c, req)
	}
	resp, body := rpPost()
	if len(*statuses) != 1 || (*statuses)[0] != http.StatusSeeOther || resp.Request.Method != http.MethodGet || resp.Request.URL.Path != "/end_session" {
		t.Fatalf("the relying party's POST: redirects %v, then %s %s (%d)", *statuses, resp.Request.Method, resp.Request.URL, resp.StatusCode)
	}
	confirmURL := resp.Request.URL.String()
	for _, p := range []string{"client_id", "post_logout_redirect_uri", "state", "ui_locales", "st8", "app.example"} {
		if strings.Contains(resp.Request.URL.RawQuery, p) {
			t.Errorf("the GET's URL carries %q: %s", p, resp.Request.URL)
		}
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="/end_session"`) || !strings.Contains(body, "The App") || !strings.Contains(body, `lang="es"`) {
		t.Fatalf("the confirmation page: %d\n%s", resp.StatusCode, body)
	}
	// Reload (the other instance): the same page; nobody signed out.
	*statuses = nil
	resp, again := get(t, c, confirmURL)
	if resp.StatusCode != http.StatusOK || len(*statuses) != 0 || !strings.Contains(again, `action="/end_session"`) {
		t.Fatalf("reload: %d, redirects %v", resp.StatusCode, *statuses)
	}
	if resp, _ := get(t, c, srv.URL+"/account"); resp.Request.URL.Path != "/account" || resp.StatusCode != http.StatusOK {
		t.Fatalf("showing the confirmation signed out: %d %s", resp.StatusCode, resp.Request.URL)
	}
	// A stale or forged key acts on nothing.
	if resp, _ := get(t, c, srv.URL+"/end_session?pending=forged"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a forged pending key: %d", resp.StatusCode)
	}
	// Confirm: signed out, sent to the registered URI with state.
	*statuses = nil
	resp, _ = submit(t, c, srv.URL, again, "/end_session", nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "https://app.example/bye?state=st8" {
		t.Fatalf("after confirming: %d %q", resp.StatusCode, loc)
	}
	if resp, _ := get(t, c, srv.URL+"/account"); resp.Request.URL.Path == "/account" && resp.StatusCode == http.StatusOK {
		t.Fatal("still signed in after confirming")
	}
	// The kept request is gone with the sign-out.
	if resp, _ := get(t, c, confirmURL); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the confirmation after signing out: %d", resp.StatusCode)
	}
	// Signed out: the POST goes through its GET straight to the relying party.
	resp, _ = rpPost()
	if len(*statuses) != 2 || (*statuses)[0] != http.StatusSeeOther || resp.Header.Get("Location") != "https://app.example/bye?state=st8" {
		t.Fatalf("signed out: redirects %v, then %d %q", *statuses, resp.StatusCode, resp.Header.Get("Location"))
	}
}
