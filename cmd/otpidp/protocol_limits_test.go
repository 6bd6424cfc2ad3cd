package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/limits"
	"github.com/otpidp/otpidp/storage"
)

// isJSON reports whether a Content-Type is JSON (with or without a charset).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// failingTake is a store whose rate-limit counters are unreachable.
type failingTake struct{ storage.Storage }

func (failingTake) Take(context.Context, time.Time, ...storage.Limit) (*storage.Refusal, error) {
	return nil, errors.New("database down")
}

// TestProtocolLimits: per client_id, the limit answers a JSON slow_down 429 with Retry-After
// and records the refusal; a store that cannot count answers a JSON 503, not text; other paths
// and methods pass untouched.
func TestProtocolLimits(t *testing.T) {
	store := stores(t)["sqlite"](t)
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 10, 0, 20, 0, time.UTC)
	d := deps{store: store, logger: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}
	d.cfg.Abuse.TokenPerClient = limits.Rate{Max: 2, Per: time.Minute}
	reached := 0
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ })
	limited := protocolLimits(d)
	token, revoke := limited("token", next), limited("revoke", next)
	post := func(h http.Handler, path, clientID string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(url.Values{"client_id": {clientID}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	get := func(h http.Handler, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	for range 2 {
		if w := post(token, "/oauth/token", "app"); w.Code != http.StatusOK {
			t.Fatalf("under the limit: %d", w.Code)
		}
	}
	w := post(revoke, "/revoke", "app")
	var body struct{ Error, ErrorDescription string }
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusTooManyRequests || body.Error != "slow_down" || w.Header().Get("Retry-After") != "40" ||
		!isJSON(w.Header().Get("Content-Type")) || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("over the per-client limit: %d %v %q", w.Code, w.Header(), w.Body)
	}
	if w := post(token, "/oauth/token", "other"); w.Code != http.StatusOK || reached != 3 {
		t.Fatalf("another client: %d, reached %d", w.Code, reached)
	}
	if w := get(token, "/oauth/token"); w.Code != http.StatusOK || reached != 4 {
		t.Fatalf("a GET is not counted: %d", w.Code)
	}
	events, err := store.ListAudit(t.Context(), storage.AuditQuery{})
	if err != nil || len(events) != 1 || events[0].Event != "protocol.rate_limited" || events[0].ClientID != "app" || events[0].Detail != "revoke" {
		t.Fatalf("audit: %+v, %v", events, err)
	}

	d.store = failingTake{store}
	w = post(protocolLimits(d)("introspect", next), "/oauth/introspect", "app")
	body.Error = ""
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusServiceUnavailable || body.Error != "temporarily_unavailable" || w.Header().Get("Retry-After") != "5" || !isJSON(w.Header().Get("Content-Type")) {
		t.Fatalf("store down: %d %v %q", w.Code, w.Header(), w.Body)
	}
}
