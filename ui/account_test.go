package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestChangePasswordAllErrors (issue 13): a password change with a wrong current password, a
// new password too short and a confirmation that differs answers 303 to the account page,
// which shows all three at once, each beside its field (aria-invalid, aria-describedby) and
// linked from the summary, and never shows a password typed.
func TestChangePasswordAllErrors(t *testing.T) {
	srv, c, _, box := tlsPages(t)
	_, page := get(t, c, srv.URL+"/register")
	resp, page := submit(t, c, srv.URL, page, "/register", url.Values{"name": {"Ada"}, "phone": {"(415) 555-2671"}, "password": {"correct horse battery staple"}})
	if resp.Request.URL.Path != "/code" {
		t.Fatalf("register: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	_, page = submit(t, c, srv.URL, page, "/code", url.Values{"code": {box.lastCode(t)}})
	resp, page = submit(t, c, srv.URL, page, "/recovery-codes", nil)
	if resp.Request.URL.Path != "/account" {
		t.Fatalf("after the codes: %s", resp.Request.URL)
	}
	var redirects []int
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		redirects = append(redirects, req.Response.StatusCode)
		return nil
	}
	resp, body := submit(t, c, srv.URL, page, "/account/password", url.Values{
		"current_password": {"wrong secret here"}, "password": {"tiny1"}, "password_confirm": {"other2"}})
	if len(redirects) != 1 || redirects[0] != http.StatusSeeOther || resp.Request.Method != http.MethodGet || resp.Request.URL.Path != "/account" {
		t.Fatalf("a refused change: redirects %v, then %s %s", redirects, resp.Request.Method, resp.Request.URL)
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the page showing a wrong current password: %d, want 403", resp.StatusCode)
	}
	for _, f := range []string{"current_password", "password", "password_confirm"} {
		if !strings.Contains(body, `id="`+f+`-error"`) || !strings.Contains(body, `href="#`+f+`"`) {
			t.Errorf("field %s: no error beside it or no summary link", f)
		}
		if !strings.Contains(body, `id="`+f+`" name="`+f+`"`) {
			t.Fatalf("no field %s", f)
		}
		i := strings.Index(body, `id="`+f+`" name="`+f+`"`)
		input := body[i : i+strings.Index(body[i:], ">")]
		if !strings.Contains(input, `aria-invalid="true"`) || !strings.Contains(input, `aria-describedby="`+f+`-error`) {
			t.Errorf("field %s is not marked: %s", f, input)
		}
	}
	if strings.Count(body, `class="field-error"`) != 3 {
		t.Errorf("want exactly three field errors:\n%s", body)
	}
	for _, secret := range []string{"wrong secret here", "tiny1", "other2"} {
		if strings.Contains(body, secret) {
			t.Errorf("the page shows a password typed (%q)", secret)
		}
	}
	// Reload: the same errors, nothing sent again.
	redirects = nil
	resp, again := get(t, c, srv.URL+"/account")
	if len(redirects) != 0 || strings.Count(again, `class="field-error"`) != 3 {
		t.Errorf("reload: %d, redirects %v", resp.StatusCode, redirects)
	}
}
