package ui

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/otpidp/otpidp/provider/auth"
	"github.com/otpidp/otpidp/provider/signin"
	"github.com/otpidp/otpidp/storage/sqlite"
)

// twoInstances serves the pages from two UI instances on one store, alternating between them
// request by request, as a load balancer would; the client follows redirects and records the
// status of every answer.
func twoInstances(t *testing.T) (*httptest.Server, *http.Client, *[]int) {
	t.Helper()
	srv, c, statuses, _ := twoInstancesBox(t)
	return srv, c, statuses
}

// twoInstancesBox is twoInstances, whose instances share the returned outbox, and which also
// serve end_session (with testLogoutValidator).
func twoInstancesBox(t *testing.T) (*httptest.Server, *http.Client, *[]int, *outbox) {
	t.Helper()
	box := &outbox{}
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/otpidp.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var routers [2]http.Handler
	for i := range routers {
		authn, err := auth.New(t.Context(), store, box, auth.Config{OriginHost: "idp.example", DefaultRegion: "US",
			Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}, Limits: auth.Limits{SMSCountries: []string{"US", "CA"}}})
		if err != nil {
			t.Fatal(err)
		}
		u, err := New(t.Context(), Config{ProductName: "Acme ID", Logger: slog.New(slog.DiscardHandler), DefaultRegion: "US", SMSCountries: []string{"US", "CA"}},
			signin.New(store, authn, signin.Config{}), func(context.Context, string) string { return "/never" })
		if err != nil {
			t.Fatal(err)
		}
		r := chi.NewRouter()
		r.Use(u.Browser, u.SecurityHeaders)
		mountPages(r, u)
		r.Handle("/end_session", u.EndSessionHandler(testLogoutValidator))
		routers[i] = r
	}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		routers[n.Add(1)%2].ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	statuses := &[]int{}
	c := srv.Client()
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		*statuses = append(*statuses, req.Response.StatusCode)
		if req.URL.Host != via[0].URL.Host { // a relying party: not followed
			return http.ErrUseLastResponse
		}
		return nil
	}
	return srv, c, statuses, box
}

// TestRefusedFormRedirects: a refused registration answers 303 to the GET page, which shows
// every refused field at once (beside the field, marked, linked from the summary), keeps the
// name and number but never the password, and is served by the other instance.
func TestRefusedFormRedirects(t *testing.T) {
	srv, c, statuses := twoInstances(t)
	_, page := get(t, c, srv.URL+"/register")
	*statuses = nil
	resp, body := submit(t, c, srv.URL, page, "/register", url.Values{"name": {""}, "phone": {"12"}, "password": {"short secret"[:5]}})
	if len(*statuses) != 1 || (*statuses)[0] != http.StatusSeeOther || resp.Request.Method != http.MethodGet || resp.Request.URL.Path != "/register" {
		t.Fatalf("a refused form: redirects %v, then %s %s", *statuses, resp.Request.Method, resp.Request.URL)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the page showing the errors: %d, want 400", resp.StatusCode)
	}
	for _, f := range []string{"name", "phone", "password"} {
		if !strings.Contains(body, `id="`+f+`-error"`) || !strings.Contains(body, `href="#`+f+`"`) {
			t.Errorf("field %s: no error beside it or no summary link:\n%s", f, body)
		}
	}
	if !strings.Contains(body, `value="12"`) || strings.Contains(body, "short") {
		t.Errorf("the page should keep the phone and never the password:\n%s", body)
	}
	// Reload: the same page, the same errors, nothing sent again.
	resp, again := get(t, c, srv.URL+"/register")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(again, `id="password-error"`) {
		t.Errorf("reload: %d", resp.StatusCode)
	}
	// A country not served: said once, beside the field, with the countries served.
	_, body = submit(t, c, srv.URL, again, "/register", url.Values{"name": {"Ada"}, "phone": {"+44 7400 123456"}, "password": {"correct horse battery staple"}})
	if n := strings.Count(body, "We serve mobile numbers from: United States, Canada."); n != 1 {
		t.Errorf("the country refusal is shown %d times, want once with the countries:\n%s", n, body)
	}
	// The example number is one of the first served country's.
	if !strings.Contains(body, "for example &#43;1 ") {
		t.Errorf("the phone hint's example is not a served country's:\n%s", body)
	}
}

// TestMessageAfterPost: a POST that can only end in a message (a form whose CSRF token does not
// match) answers 303 to /message, which shows it with its status.
func TestMessageAfterPost(t *testing.T) {
	srv, c, statuses := twoInstances(t)
	_, page := get(t, c, srv.URL+"/login")
	*statuses = nil
	resp, body := submit(t, c, srv.URL, page, "/login", url.Values{"csrf": {"forged"}, "phone": {"+14155552671"}, "password": {"x"}})
	if len(*statuses) != 1 || (*statuses)[0] != http.StatusSeeOther || resp.Request.URL.Path != "/message" ||
		resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This form has expired") {
		t.Fatalf("forged form: redirects %v, then %d %s\n%s", *statuses, resp.StatusCode, resp.Request.URL, body)
	}
	// Without a message to show, /message is the not-found page.
	c.Jar, _ = cookiejar.New(nil)
	if resp, _ := get(t, c, srv.URL+"/message"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/message without a message: %d", resp.StatusCode)
	}
}
