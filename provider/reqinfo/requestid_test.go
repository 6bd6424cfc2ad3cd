package reqinfo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestIDFromTrustedProxy: a load balancer's X-Request-Id names the request (in the
// logs, the audit log and the answer) when the connection comes from a trusted proxy; from
// anyone else, or when it is not a plausible ID, a new one is made.
func TestRequestIDFromTrustedProxy(t *testing.T) {
	trusted, _ := ParseTrustedProxies("10.0.0.0/8")
	tests := []struct {
		name    string
		trusted bool
		remote  string
		id      string
		keep    bool
	}{
		{"trusted proxy's ID", true, "10.1.2.3:4000", "3f2a9c1e-7b7d-4c1e-9a52-5b1f0b2c9d10", true},
		{"AWS trace ID", true, "10.1.2.3:4000", "Root=1-67891233-abcdef012345678912345678", true},
		{"untrusted peer", true, "198.51.100.7:4000", "3f2a9c1e-7b7d-4c1e-9a52-5b1f0b2c9d10", false},
		{"no trusted proxies configured", false, "10.1.2.3:4000", "abc123", false},
		{"log injection", true, "10.1.2.3:4000", "abc\" level=ERROR msg=forged", false},
		{"too long", true, "10.1.2.3:4000", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := trusted
			if !tt.trusted {
				tr = nil
			}
			var got Info
			h := Middleware(tr)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = From(r.Context()) }))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("X-Request-Id", tt.id)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if (got.RequestID == tt.id) != tt.keep || got.RequestID == "" {
				t.Fatalf("request ID %q from %q, want kept=%v", got.RequestID, tt.id, tt.keep)
			}
			if rec.Header().Get("X-Request-Id") != got.RequestID {
				t.Fatalf("answer's X-Request-Id %q, want %q", rec.Header().Get("X-Request-Id"), got.RequestID)
			}
		})
	}
}
