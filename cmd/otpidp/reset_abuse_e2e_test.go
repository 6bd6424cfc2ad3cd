package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

// waitRE matches the wait in a limit page's words ("in 47 minutes"), which moves with the
// wall clock between two requests.
var waitRE = regexp.MustCompile(`\d+ (seconds?|minutes?|hours?)`)

// TestResetPagesUnderSMSLimits: "Forgot your password?" counts against the SMS limits; past the
// per-phone limit the page says how long to wait (429, Retry-After) and no text goes out; a
// number without an account gets the same pages, byte for byte, at the same points.
func TestResetPagesUnderSMSLimits(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, open(t), func(cfg *Config) {
				cfg.Abuse = AbuseConfig{Auth: auth.Limits{SMSPhoneHourly: auth.Rate{Max: 2, Per: time.Hour}}}
			})
			const unknown = "+12025552671" // same last four digits as testPhone: same masked form
			addUser(t, ts.store, testPhone, testPassword)
			forgot := func(phoneNumber string) response {
				b := newBrowser(t)
				return b.submit(b.get(ts.issuer+"/forgot"), "/forgot", map[string]string{"phone": phoneNumber})
			}
			comparable := func(r response, typed string) string {
				if r.header.Get("Retry-After") != "" {
					r.header = r.header.Clone()
					r.header.Set("Retry-After", "N")
				}
				r.body = waitRE.ReplaceAllString(r.body, "N units")
				return normalized(r, typed)
			}
			var known, none []response
			for range 3 {
				known = append(known, forgot(testPhone))
			}
			if n := ts.sms.count(); n != 2 {
				t.Fatalf("%d texts for 3 resets, want 2 (the per-phone limit)", n)
			}
			for range 3 {
				none = append(none, forgot(unknown))
			}
			if n := ts.sms.count(); n != 4 {
				t.Fatalf("%d texts for 6 resets, want 4 (two each, the per-phone limit; a notice for the number without an account)", n)
			}
			if known[0].url.Path != "/forgot/verify" {
				t.Fatalf("first reset: %d %s", known[0].status, known[0].url)
			}
			last := known[2]
			if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" ||
				!strings.Contains(last.body, "as many codes to this number as we can") {
				t.Fatalf("reset past the limit: %d Retry-After=%q\n%s", last.status, last.header.Get("Retry-After"), last.body)
			}
			for i := range known {
				if a, b := comparable(known[i], testPhone), comparable(none[i], unknown); a != b {
					t.Fatalf("reset %d: a number with an account and one without differ:\n%s\n---\n%s", i+1, a, b)
				}
			}
		})
	}
}
