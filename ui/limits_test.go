package ui

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

func TestWaitText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 second", 1500 * time.Millisecond: "2 seconds", 59 * time.Second: "59 seconds",
		time.Minute: "1 minute", 61 * time.Second: "2 minutes", 119 * time.Minute: "119 minutes",
		2 * time.Hour: "2 hours", 23*time.Hour + time.Second: "24 hours",
	} {
		if got := waitText(page{Lang: "en"}, d); got != want {
			t.Errorf("waitText(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestLimitMessage(t *testing.T) {
	rec := httptest.NewRecorder()
	msg, status, ok := limitMessage(rec, page{Lang: "en"}, fmt.Errorf("wrapped: %w", &auth.LimitError{Scope: auth.ScopeSMSBudget, RetryAfter: 90 * time.Second}))
	if !ok || status != 429 || rec.Header().Get("Retry-After") != "90" || !strings.Contains(msg, "2 minutes") || !strings.Contains(msg, "still sign in") {
		t.Fatalf("budget: %q %d %q", msg, status, rec.Header().Get("Retry-After"))
	}
	for err, want := range map[error]int{auth.ErrSMSPaused: 503, auth.ErrSMSFactorDisabled: 403, auth.ErrSMSCountryNotAllowed: 400} {
		if _, status, ok := limitMessage(httptest.NewRecorder(), page{Lang: "en"}, err); !ok || status != want {
			t.Errorf("%v: %d, want %d", err, status, want)
		}
	}
	if _, _, ok := limitMessage(httptest.NewRecorder(), page{Lang: "en"}, auth.ErrInvalidCredentials); ok {
		t.Error("a wrong password is not a limit")
	}
	es := page{Lang: "es"}
	if msg, _, _ := limitMessage(httptest.NewRecorder(), es, &auth.LimitError{Scope: auth.ScopeLoginIP, RetryAfter: 3 * time.Minute}); !strings.Contains(msg, "3 minutos") {
		t.Errorf("Spanish limit message = %q", msg)
	}
}
