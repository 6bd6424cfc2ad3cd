package reqinfo

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7, 2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies configured: the header is ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, nil, "203.0.113.5"},
		{"untrusted peer spoofing the header", "203.0.113.5:4000", []string{"198.51.100.1"}, trusted, "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:4000", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"spoofed entries left of the proxy's", "10.1.2.3:4000", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"two trusted proxies", "10.1.2.3:4000", []string{"198.51.100.1, 192.0.2.7"}, trusted, "198.51.100.1"},
		{"several header lines", "10.1.2.3:4000", []string{"6.6.6.6", "198.51.100.1"}, trusted, "198.51.100.1"},
		{"all hops trusted: the left-most", "10.1.2.3:4000", []string{"10.9.9.9, 192.0.2.7"}, trusted, "10.9.9.9"},
		{"garbage ends the walk", "10.1.2.3:4000", []string{"198.51.100.1, not-an-ip"}, trusted, "10.1.2.3"},
		{"no header from a trusted proxy", "10.1.2.3:4000", nil, trusted, "10.1.2.3"},
		{"IPv6 proxy", "[2001:db8::1]:443", []string{"2001:db8:1::9, 2a00::1"}, trusted, "2a00::1"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.1]:80", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClientIP(tc.remote, tc.xff, tc.trusted); got.String() != tc.want {
				t.Fatalf("ClientIP = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseTrustedProxiesRefusals(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "nonsense", "10.0.0.0/8,,bad/8"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
	if p, err := ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Fatalf("empty: %v %v", p, err)
	}
}

func TestLimitKey(t *testing.T) {
	for ip, want := range map[string]string{"192.0.2.1": "192.0.2.1", "2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64"} {
		if got := (Info{IP: netip.MustParseAddr(ip)}).LimitKey(); got != want {
			t.Errorf("LimitKey(%s) = %s, want %s", ip, got, want)
		}
	}
	if got := (Info{}).LimitKey(); got != "unknown" {
		t.Errorf("unknown: %s", got)
	}
}

func TestMiddleware(t *testing.T) {
	trusted, _ := ParseTrustedProxies("127.0.0.1")
	var got Info
	h := Middleware(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = From(r.Context()) }))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.Header.Set("X-Forwarded-For", "198.51.100.23")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got.IPString() != "198.51.100.23" || got.RequestID == "" || rec.Header().Get("X-Request-Id") != got.RequestID {
		t.Fatalf("info = %+v, header %q", got, rec.Header().Get("X-Request-Id"))
	}
}
