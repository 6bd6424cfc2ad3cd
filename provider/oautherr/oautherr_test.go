package oautherr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		err      *oidc.Error
		wantCode string
		wantDesc string
	}{
		{"plain", http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("cannot parse the form"), "invalid_request", "cannot parse the form"},
		// %q would have written \x00 and \u2028 as Go escapes, which JSON does not have.
		{"escaping", http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("bad \"x\" \x00 \u2028 </script> é"), "invalid_request", "bad \"x\" \x00 \u2028 </script> é"},
		{"no description", http.StatusUnauthorized, oidc.ErrInvalidClient(), "invalid_client", ""},
		{"nil", http.StatusInternalServerError, nil, "server_error", ""},
		{"custom type", http.StatusUnauthorized, &oidc.Error{ErrorType: "invalid_token"}, "invalid_token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			Write(rec, tt.status, tt.err)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			for k, want := range map[string]string{
				"Content-Type":     "application/json; charset=utf-8",
				"Cache-Control":    "no-store",
				"Pragma":           "no-cache",
				"WWW-Authenticate": `Bearer error="invalid_token"`,
			} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
			}
			if got["error"] != tt.wantCode || got["error_description"] != tt.wantDesc {
				t.Errorf("body %v, want error=%q description=%q", got, tt.wantCode, tt.wantDesc)
			}
			if _, ok := got["error_description"]; !ok && tt.wantDesc != "" {
				t.Error("error_description missing")
			}
		})
	}
}

func TestWriteRetry(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", 300 * time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", time.Minute: "60"} {
		rec := httptest.NewRecorder()
		WriteRetry(rec, http.StatusTooManyRequests, d, &oidc.Error{ErrorType: oidc.SlowDown})
		if got := rec.Header().Get("Retry-After"); got != want {
			t.Errorf("Retry-After for %v = %q, want %q", d, got, want)
		}
		if rec.Code != http.StatusTooManyRequests {
			t.Errorf("status %d", rec.Code)
		}
	}
}
