package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/deadline"
	"github.com/otpidp/otpidp/ui"
)

// failingStore fails GetClient as a database that is down does, and answers ErrNotFound when up.
type failingStore struct {
	storage.Storage
	down bool
}

const driverText = "failed to connect to `user=otpidp database=otp_prod`: 10.0.0.5:5432 (db.internal): dial error (SQLSTATE 08006)"

func (f *failingStore) GetClient(context.Context, string) (storage.Client, error) {
	if f.down {
		return storage.Client{}, fmt.Errorf("%w: %s", storage.ErrUnavailable, driverText)
	}
	return storage.Client{}, storage.ErrNotFound
}

// TestUnavailableAnswers drives unavailableAnswers with handlers that answer as the library's
// do: the driver's text never reaches the client, a database outage is a 503 with
// Retry-After (JSON on protocol endpoints, the page elsewhere), and what is not an outage
// passes unchanged.
func TestUnavailableAnswers(t *testing.T) {
	ep := provider.Endpoints{Token: "/oauth/token", Userinfo: "/userinfo"}
	pages := newTestUI(t)
	tests := []struct {
		name, path  string
		get         bool // a GET; the others POST
		down        bool
		handler     func(store storage.Storage) http.HandlerFunc
		status      int
		contentType string
		wantBody    string
		location    string // the Location of a redirect, when one is wanted
	}{
		{
			name: "token 500 with a driver's text, database up", path: "/oauth/token",
			handler: func(storage.Storage) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusInternalServerError)
					_ = json.NewEncoder(w).Encode(map[string]string{"error": "server_error", "error_description": driverText})
				}
			},
			status: http.StatusInternalServerError, contentType: "application/json", wantBody: `"server_error"`,
		},
		{
			name: "token 401 while the client cannot be read", path: "/oauth/token", down: true,
			handler: func(s storage.Storage) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, err := s.GetClient(r.Context(), "c")
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusUnauthorized)
					_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": err.Error()})
				}
			},
			status: http.StatusServiceUnavailable, contentType: "application/json", wantBody: `"temporarily_unavailable"`,
		},
		{
			name: "userinfo 401 invalid_token while the token cannot be read", path: "/userinfo", down: true,
			handler: func(s storage.Storage) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, _ = s.GetClient(r.Context(), "c")
					w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
					http.Error(w, "invalid token", http.StatusUnauthorized)
				}
			},
			status: http.StatusServiceUnavailable, contentType: "application/json", wantBody: `"temporarily_unavailable"`,
		},
		{
			name: "page that falls back to the sign-in page", path: "/account", get: true, down: true,
			handler: func(s storage.Storage) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, _ = s.GetClient(r.Context(), "c")
					http.Redirect(w, r, "/login", http.StatusSeeOther)
				}
			},
			status: http.StatusServiceUnavailable, contentType: "text/html", wantBody: "be right back",
		},
		{
			// A form's POST is answered Post/Redirect/Get like any other refusal: the 503 page is
			// kept for GET /message (ui showMessage), so Reload never sends the form again.
			name: "form POST that falls back to the sign-in page", path: "/account/name", down: true,
			handler: func(s storage.Storage) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, _ = s.GetClient(r.Context(), "c")
					http.Redirect(w, r, "/login", http.StatusSeeOther)
				}
			},
			status: http.StatusSeeOther, location: "/message",
		},
		{
			name: "refusal with the database up passes", path: "/oauth/token",
			handler: func(s storage.Storage) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, err := s.GetClient(r.Context(), "c")
					if !errors.Is(err, storage.ErrNotFound) {
						t.Errorf("GetClient = %v", err)
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusUnauthorized)
					_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"client authentication failed"}`))
				}
			},
			status: http.StatusUnauthorized, contentType: "application/json", wantBody: "client authentication failed",
		},
		{
			name: "a 503 of otpidp's own passes", path: "/oauth/token",
			handler: func(storage.Storage) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Retry-After", "30")
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte(`{"error":"temporarily_unavailable","error_description":"text messages are paused"}`))
				}
			},
			status: http.StatusServiceUnavailable, contentType: "application/json", wantBody: "text messages are paused",
		},
		{
			name: "redirect to a relying party passes", path: "/authorize", down: true,
			handler: func(s storage.Storage) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, _ = s.GetClient(r.Context(), "c")
					http.Redirect(w, r, "https://rp.example/cb?error=temporarily_unavailable", http.StatusFound)
				}
			},
			status: http.StatusFound, location: "https://rp.example/cb?error=temporarily_unavailable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := deadline.Wrap(&failingStore{down: tt.down}, 0)
			h := unavailableAnswers(pages, ep)(tt.handler(store))
			rec := httptest.NewRecorder()
			method := http.MethodPost
			if tt.get {
				method = http.MethodGet
			}
			h.ServeHTTP(rec, httptest.NewRequest(method, "http://otpidp.example"+tt.path, nil))
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			body := rec.Body.String()
			if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.contentType) {
				t.Errorf("answer %d %q, want %d %s:\n%s", rec.Code, rec.Header().Get("Content-Type"), tt.status, tt.contentType, body)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body does not contain %q:\n%s", tt.wantBody, body)
			}
			for _, leak := range []string{"SQLSTATE", "otp_prod", "user=", "10.0.0.5", "db.internal"} {
				if strings.Contains(body, leak) {
					t.Errorf("the answer shows %q:\n%s", leak, body)
				}
			}
			if rec.Code == http.StatusServiceUnavailable {
				if rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "" {
					t.Errorf("503 headers: %v", rec.Header())
				}
			}
		})
	}
}

// newTestUI is the pages with no sign-in core: enough to render the 503 page.
func newTestUI(t *testing.T) *ui.UI {
	t.Helper()
	u, err := ui.New(t.Context(), ui.Config{Issuer: "http://otpidp.example", Logger: slog.New(slog.DiscardHandler)}, secretsOnly{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// secretsOnly is a ui.Core that only has its shared secrets: the 503 page needs nothing else.
type secretsOnly struct{ ui.Core }

func (secretsOnly) SharedSecret(context.Context, string) ([]byte, error) {
	return make([]byte, 32), nil
}
