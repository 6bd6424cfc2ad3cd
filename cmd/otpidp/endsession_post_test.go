package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEndSessionPost (issue 13): a relying party's POST to end_session (RP-Initiated Logout
// 1.0 §2 allows POST) answers 303 to a GET whose URL carries none of the request; that GET asks
// the signed-in person to confirm (no id_token_hint), survives a reload, and confirming signs
// out and sends the browser to the registered post_logout_redirect_uri with state. With the
// user's own id_token_hint the GET signs out at once.
func TestEndSessionPost(t *testing.T) {
	conformance(t, func(t *testing.T, ts *testServer, rp *relyingParty, b *browser) {
		post := func(form url.Values) *http.Response {
			t.Helper()
			c := *b.client // the same cookies; no redirect followed
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			req, _ := http.NewRequest(http.MethodPost, ts.issuer+"/end_session", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "http://127.0.0.1:1")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		resp := post(url.Values{"client_id": {rp.id}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"st8"}})
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/end_session?pending=") {
			t.Fatalf("POST end_session: %d %q, want 303 to the GET page", resp.StatusCode, loc)
		}
		if strings.Contains(loc, "st8") || strings.Contains(loc, "logged-out") || strings.Contains(loc, rp.id) {
			t.Fatalf("the GET's URL carries the request: %q", loc)
		}
		page := b.get(ts.issuer + loc)
		if page.status != http.StatusOK || page.location != "" || !strings.Contains(page.body, "Sign out of") {
			t.Fatalf("the confirmation page: %d %q\n%s", page.status, page.location, page.body)
		}
		if again := b.get(ts.issuer + loc); again.status != http.StatusOK || !strings.Contains(again.body, "Sign out of") {
			t.Fatalf("reload: %d", again.status)
		}
		if r := b.get(rp.start().url); r.location == "" {
			t.Fatal("showing the confirmation must not sign out")
		}
		out := b.submit(page, "/end_session", nil)
		if !strings.HasPrefix(out.location, rpLoggedOut) || !strings.Contains(out.location, "state=st8") {
			t.Fatalf("after confirming: %d %q", out.status, out.location)
		}
		if r := b.get(rp.start().url); r.url.Path != "/login" {
			t.Fatalf("after logout: %s", r.url)
		}

		// Signed in again; the user's own id_token_hint: the GET signs out at once.
		b2 := signedIn(t, ts, rp)
		a := rp.start()
		tok, _, err := rp.exchange(t, codeFrom(t, b2.get(a.url), a), a)
		if err != nil {
			t.Fatal(err)
		}
		b = b2
		resp = post(url.Values{"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST end_session with a hint: %d", resp.StatusCode)
		}
		done := b2.get(ts.issuer + resp.Header.Get("Location"))
		if !strings.HasPrefix(done.location, rpLoggedOut) || !strings.Contains(done.location, "state=bye") {
			t.Fatalf("with the user's hint: %d %q", done.status, done.location)
		}
		if r := b2.get(rp.start().url); r.url.Path != "/login" {
			t.Fatalf("after logout with a hint: %s", r.url)
		}
		// A refused POST (unregistered URI) answers 303 to the error message, never to the relying party.
		resp = post(url.Values{"client_id": {rp.id}, "post_logout_redirect_uri": {"https://attacker.example/"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/message" {
			t.Fatalf("a refused POST: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
