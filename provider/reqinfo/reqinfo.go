// Package reqinfo is the one home of request-scoped values: who is asking (the client's IP
// address, from X-Forwarded-For only when the connection comes from a configured trusted proxy,
// and a request ID), and what the pages learned about the browser (the hashes of its binding
// and session cookies, the language of its pages, the CSP nonce of the page). The
// authentication and sign-in cores read them for their rate limits, sessions and audit log
// without knowing about HTTP.
package reqinfo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Info is what is known about the request.
type Info struct {
	IP        netip.Addr // the client's address; invalid when unknown
	RequestID string

	// Set by the pages (ui): the browser-binding cookie's value (the pages' CSRF tokens are
	// tied to it) and its SHA-256 (nil outside the pages; flows and authorization requests are
	// bound to it), the SHA-256 of the session cookie (nil when none), the language the pages
	// are read in (a BCP 47 tag or an Accept-Language value; SMS texts go out in it), and the
	// page's CSP nonce.
	Browser     string
	BrowserHash []byte
	SessionHash []byte
	Language    string
	Nonce       string
}

type ctxKey struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info Info) context.Context {
	return context.WithValue(ctx, ctxKey{}, info)
}

// Update returns ctx carrying the Info of ctx changed by f.
func Update(ctx context.Context, f func(*Info)) context.Context {
	info := From(ctx)
	f(&info)
	return With(ctx, info)
}

// From returns the Info in ctx; the zero Info when there is none.
func From(ctx context.Context) Info {
	info, _ := ctx.Value(ctxKey{}).(Info)
	return info
}

// IPString is the client's address as text, "" when unknown.
func (i Info) IPString() string {
	if !i.IP.IsValid() {
		return ""
	}
	return i.IP.String()
}

// LimitKey is the address that rate limits count against: the address itself for IPv4, its
// /64 network for IPv6 (one subscriber usually holds a whole /64), "unknown" when unknown.
func (i Info) LimitKey() string {
	switch {
	case !i.IP.IsValid():
		return "unknown"
	case i.IP.Is4():
		return i.IP.String()
	}
	p, _ := i.IP.Prefix(64)
	return p.String()
}

// ParseTrustedProxies parses a comma-separated list of CIDR prefixes or single addresses
// ("10.0.0.0/8, 192.0.2.7, 2001:db8::/32"). Empty is none.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR prefix like 10.0.0.0/8", part)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", part)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientIP returns the client's address for a request that came from remoteAddr (host:port)
// with the X-Forwarded-For values xff. The header is believed only as far as it was written by
// trusted proxies: starting from the peer, while the current hop is trusted, step to the
// address it says it got the request from (the right-most X-Forwarded-For entry not yet used).
// A client can put anything at the left of the header, so the first untrusted hop is the
// answer; an unparsable entry ends the walk at the hop before it.
func ClientIP(remoteAddr string, xff []string, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	cur, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	cur = cur.Unmap().WithZone("")
	if len(trusted) == 0 {
		return cur
	}
	var hops []string
	for _, h := range xff {
		for e := range strings.SplitSeq(h, ",") {
			hops = append(hops, strings.TrimSpace(e))
		}
	}
	for i := len(hops) - 1; i >= 0 && isTrusted(cur, trusted); i-- {
		next, err := netip.ParseAddr(hops[i])
		if err != nil {
			break
		}
		cur = next.Unmap().WithZone("")
	}
	return cur
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Middleware puts the request's Info into its context and sends the request ID back in
// X-Request-Id. The ID is the request's own X-Request-Id when the connection comes from a
// trusted proxy (which set it: the load balancer's ID then names the request in both logs)
// and it is a plausible ID; otherwise a new random one.
func Middleware(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := Info{IP: ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), trusted), RequestID: requestID(r, trusted)}
			w.Header().Set("X-Request-Id", info.RequestID)
			next.ServeHTTP(w, r.WithContext(With(r.Context(), info)))
		})
	}
}

// maxRequestIDLen bounds a request ID taken from a proxy.
const maxRequestIDLen = 128

// requestID is the X-Request-Id a trusted proxy sent, when it is one of 1 to 128 letters,
// digits and "-_.:/+=" (a UUID, a hex or base64 ID, AWS's "Root=1-…"); else a new ID.
func requestID(r *http.Request, trusted []netip.Prefix) string {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > maxRequestIDLen || len(trusted) == 0 || !isTrusted(peer(r.RemoteAddr), trusted) {
		return newID()
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.:/+=", c) >= 0) {
			return newID()
		}
	}
	return id
}

// peer is the address of the connection's other end; invalid when unparsable.
func peer(remoteAddr string) netip.Addr {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
